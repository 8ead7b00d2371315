// page_checks.mjs: what the tests measure inside the page and through the
// DevTools protocol: every storage area, control labels, text contrast.

// Every place a page can keep data, read from inside the page.
export async function storageInPage(page) {
  return page.evaluate(async () => {
    const registrations = navigator.serviceWorker ?
      await navigator.serviceWorker.getRegistrations() : [];
    const estimate = navigator.storage ? await navigator.storage.estimate() : {usage: 0};
    return {
      localStorage: localStorage.length,
      sessionStorage: sessionStorage.length,
      indexedDB: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
      cookie: document.cookie,
      serviceWorkers: registrations.length,
      usage: estimate.usage,
    };
  });
}

// The same, from outside the page: cookies of the whole context (HttpOnly
// included) and DevTools' view of DOM storage, IndexedDB and Cache Storage.
export async function storageOutsidePage(context, page) {
  const cookies = await context.cookies();
  const cdp = await context.newCDPSession(page);
  const frame = (await cdp.send('Page.getFrameTree')).frameTree.frame;
  const {storageKey} = await cdp.send('Storage.getStorageKeyForFrame', {frameId: frame.id});
  const domItems = async (isLocalStorage) => (await cdp.send('DOMStorage.getDOMStorageItems', {
    storageId: {storageKey, isLocalStorage},
  })).entries.length;
  await cdp.send('DOMStorage.enable');
  await cdp.send('IndexedDB.enable');
  const result = {
    cookies: cookies.length,
    localItems: await domItems(true),
    sessionItems: await domItems(false),
    indexedDBNames: (await cdp.send('IndexedDB.requestDatabaseNames', {storageKey}))
        .databaseNames.length,
    cacheNames: (await cdp.send('CacheStorage.requestCacheNames', {storageKey})).caches.length,
    usage: (await cdp.send('Storage.getUsageAndQuota', {origin: new URL(page.url()).origin}))
        .usage,
  };
  await cdp.detach();
  return result;
}

// Controls without an accessible name: label[for], aria-label(ledby),
// a wrapping label, or (buttons) their text.
export async function unlabelledControls(page) {
  return page.evaluate(() => {
    const missing = [];
    for (const control of document.querySelectorAll(
        'input, select, textarea, button, video, canvas')) {
      const byLabel = control.id &&
        document.querySelector(`label[for="${CSS.escape(control.id)}"]`);
      const byAria = control.getAttribute('aria-label') ||
        (control.getAttribute('aria-labelledby') &&
         document.getElementById(control.getAttribute('aria-labelledby')));
      const byText = control.tagName === 'BUTTON' && control.textContent.trim();
      const wrapped = control.closest('label');
      if (!(byLabel && byLabel.textContent.trim()) && !byAria && !byText && !wrapped) {
        missing.push(control.id || control.outerHTML.slice(0, 60));
      }
    }
    return missing;
  });
}

// WCAG contrast ratio of the computed text colour against the first opaque
// background behind it, for each visible element matched by `selectors`.
export async function contrastRatios(page, selectors) {
  return page.evaluate((selectorList) => {
    const parse = (text) => {
      const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(text);
      return m ? {r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4]} : null;
    };
    const luminance = ({r, g, b}) => {
      const channel = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    const background = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c && c.a >= 0.99) return c;
      }
      return {r: 255, g: 255, b: 255, a: 1};
    };
    const out = [];
    for (const selector of selectorList) {
      for (const node of document.querySelectorAll(selector)) {
        if (!node.getClientRects().length || !node.textContent.trim()) continue;
        const fg = parse(getComputedStyle(node).color);
        const bg = background(node);
        const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
        out.push({selector, text: node.textContent.trim().slice(0, 40),
          ratio: (l1 + 0.05) / (l2 + 0.05)});
        break;
      }
    }
    return out;
  }, selectors);
}
