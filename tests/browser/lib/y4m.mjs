// y4m.mjs: a one-frame YUV4MPEG2 file from RGBA pixels, for chromium's
// --use-file-for-fake-video-capture. 4:2:0 chroma (2x2 averages), BT.601
// limited range, which is what chromium's Y4M reader expects; the frame
// loops for as long as the camera is open. No dependency: the header is
// text and the planes are raw bytes.

function clampByte(value) {
  return Math.max(0, Math.min(255, Math.round(value)));
}

// rgba: Uint8Array/Buffer of width*height*4 bytes; width and height even.
export function rgbaToY4m(rgba, width, height) {
  if (width % 2 || height % 2) throw new Error('Y4M 4:2:0 needs even width and height');
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`);
  const ySize = width * height;
  const cSize = ySize / 4;
  const planes = Buffer.alloc(ySize + 2 * cSize);
  for (let i = 0, p = 0; i < ySize; ++i, p += 4) {
    const r = rgba[p];
    const g = rgba[p + 1];
    const b = rgba[p + 2];
    planes[i] = clampByte(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let cy = 0; cy < height / 2; ++cy) {
    for (let cx = 0; cx < width / 2; ++cx) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const p = ((2 * cy + dy) * width + 2 * cx + dx) * 4;
        r += rgba[p];
        g += rgba[p + 1];
        b += rgba[p + 2];
      }
      r /= 4;
      g /= 4;
      b /= 4;
      const c = cy * (width / 2) + cx;
      planes[ySize + c] = clampByte(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      planes[ySize + cSize + c] = clampByte(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return Buffer.concat([header, planes]);
}
