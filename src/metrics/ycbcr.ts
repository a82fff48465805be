// Owns the luma (Y of YCbCr, ITU-R BT.601 "studio swing") used by PSNR-Y and SSIM-Y, computed the way the official
// validation does: on float32 values that went through `/255` and `*255`, a float64 dot product, then stored as
// float32 in [0, 1]. Not rounded.

import type { RgbImage } from '../image/rgb-image.ts';

const f = Math.fround;

/** Y = ((24.966 B + 128.553 G + 65.481 R) / 255 + 16) / 255 for every pixel, row-major, as float32. */
export function rgbToY(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const y = new Float32Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    // The reference scales the rounded float32 image by 1/255 and back by 255 in float32.
    const r = f(f(d[i * 3]! / 255) * 255);
    const g = f(f(d[i * 3 + 1]! / 255) * 255);
    const b = f(f(d[i * 3 + 2]! / 255) * 255);
    y[i] = ((b * 24.966 + g * 128.553 + r * 65.481) / 255 + 16) / 255;
  }
  return y;
}

/** Y * 255 as the metrics see it (the product in float32, like the reference's float32 arrays). */
export function yTimes255(y: Float32Array): Float32Array {
  const out = new Float32Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = y[i]! * 255;
  return out;
}
