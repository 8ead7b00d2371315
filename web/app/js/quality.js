// quality.js: a quick look at a picture on the device, for live guidance
// only. The server measures quality again (and finds the face) on submit;
// nothing here decides anything.
//
// The picture is downscaled to at most 160 px wide first, so a check costs
// well under a millisecond per frame and a phone can run it several times a
// second. Exposure: mean luma and the share of clipped pixels. Sharpness:
// variance of the 4-neighbour Laplacian of luma (focus blur and motion blur
// both remove the high frequencies that make it large).

const kWorkWidth = 160;

export const kLimits = {
  minMeanLuma: 60,        // Darker: underexposed.
  maxMeanLuma: 200,       // Brighter: overexposed.
  maxClippedShare: 0.08,  // Pixels at <= 5 or >= 250.
  minLaplacianVariance: 40,
  // Finger photos: share of skin-coloured pixels inside the guide (a
  // fingertip filling the outline covers most of it; a table or a sleeve
  // does not).
  minSkinShare: 0.4,
};

// Skin in YCbCr (Chai and Ngan's chrominance box); works across skin tones
// because it ignores luma.
function isSkin(r, g, b) {
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

let workCanvas = null;

function workContext(width, height) {
  if (workCanvas === null) workCanvas = document.createElement('canvas');
  workCanvas.width = width;
  workCanvas.height = height;
  return workCanvas.getContext('2d', {willReadFrequently: true});
}

// Drops the pixels of the last check (called when the session clears).
export function releaseQualityBuffers() {
  if (workCanvas !== null) {
    workCanvas.width = 0;
    workCanvas.height = 0;
  }
  workCanvas = null;
}

// source: a video, canvas or ImageBitmap with width x height pixels;
// region: {x, y, width, height} as fractions of the picture (the guide).
export function measure(source, width, height, region = {x: 0, y: 0, width: 1, height: 1}) {
  if (!width || !height) return null;
  const sx = Math.round(region.x * width);
  const sy = Math.round(region.y * height);
  const sw = Math.max(1, Math.round(region.width * width));
  const sh = Math.max(1, Math.round(region.height * height));
  const w = Math.min(kWorkWidth, sw);
  const h = Math.max(1, Math.round((sh * w) / sw));
  const context = workContext(w, h);
  context.drawImage(source, sx, sy, sw, sh, 0, 0, w, h);
  const pixels = context.getImageData(0, 0, w, h).data;
  const luma = new Float32Array(w * h);
  let sum = 0;
  let clipped = 0;
  let skin = 0;
  for (let i = 0, p = 0; i < luma.length; ++i, p += 4) {
    const y = 0.299 * pixels[p] + 0.587 * pixels[p + 1] + 0.114 * pixels[p + 2];
    luma[i] = y;
    sum += y;
    if (y <= 5 || y >= 250) ++clipped;
    if (isSkin(pixels[p], pixels[p + 1], pixels[p + 2])) ++skin;
  }
  let lapSum = 0;
  let lapSquares = 0;
  let count = 0;
  for (let y = 1; y < h - 1; ++y) {
    for (let x = 1; x < w - 1; ++x) {
      const i = y * w + x;
      const lap = luma[i - 1] + luma[i + 1] + luma[i - w] + luma[i + w] - 4 * luma[i];
      lapSum += lap;
      lapSquares += lap * lap;
      ++count;
    }
  }
  luma.fill(0);
  context.clearRect(0, 0, w, h);
  const lapMean = count ? lapSum / count : 0;
  return {
    meanLuma: sum / luma.length,
    clippedShare: clipped / luma.length,
    skinShare: skin / luma.length,
    laplacianVariance: count ? lapSquares / count - lapMean * lapMean : 0,
  };
}

// Plain-language verdicts for the guidance list.
export function judge(measures) {
  if (measures === null) return null;
  let exposure = 'good';
  let exposureText = 'Exposure: good';
  if (measures.meanLuma < kLimits.minMeanLuma) {
    exposure = 'bad';
    exposureText = 'Exposure: too dark, add light';
  } else if (measures.meanLuma > kLimits.maxMeanLuma) {
    exposure = 'bad';
    exposureText = 'Exposure: too bright, avoid direct light';
  } else if (measures.clippedShare > kLimits.maxClippedShare) {
    exposure = 'bad';
    exposureText = 'Exposure: parts are burnt out or black, change the angle to the light';
  }
  const sharp = measures.laplacianVariance >= kLimits.minLaplacianVariance;
  const skinOk = measures.skinShare >= kLimits.minSkinShare;
  return {
    skinOk,
    skinPercent: Math.round(100 * measures.skinShare),
    exposureOk: exposure === 'good',
    exposureText,
    sharpnessOk: sharp,
    sharpnessText: sharp ? 'Sharpness: good' : 'Sharpness: blurred, hold still and refocus',
  };
}
