// Owns SSIM as the official validation computes it (the OpenCV-based `_ssim`): float64, 11x11 Gaussian window
// (sigma 1.5, `cv2.getGaussianKernel` outer product), valid region only, C1 = (0.01*255)^2, C2 = (0.03*255)^2, mean
// of the SSIM map. Used on the Y channel times 255 with a `crop` px border removed first.

import type { RgbImage } from '../image/rgb-image.ts';
import { lumaSamples, sameSize, type Samples } from './psnr.ts';

const RADIUS = 5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

function gaussianKernel(): Float64Array {
  const k = new Float64Array(2 * RADIUS + 1);
  const scale = -0.5 / (1.5 * 1.5);
  let sum = 0;
  for (let i = 0; i < k.length; i++) {
    const x = i - RADIUS;
    k[i] = Math.exp(scale * x * x);
    sum += k[i]!;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

const KERNEL = gaussianKernel();

/** Valid-region Gaussian filtering of a w x h plane: output (w - 10) x (h - 10). */
function filterValid(src: Float64Array, w: number, h: number): Float64Array {
  const ow = w - 2 * RADIUS;
  const oh = h - 2 * RADIUS;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < KERNEL.length; k++) s += KERNEL[k]! * src[y * w + x + k]!;
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let k = 0; k < KERNEL.length; k++) s += KERNEL[k]! * rows[(y + k) * ow + x]!;
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of two single-channel planes after removing `crop` px on each side. */
export function ssim(a: Samples, b: Samples, crop: number): number {
  sameSize(a, b, 'ssim');
  if (a.channels !== 1 || b.channels !== 1) throw new Error('ssim: expects single-channel planes');
  const w = a.width - 2 * crop;
  const h = a.height - 2 * crop;
  if (w <= 2 * RADIUS || h <= 2 * RADIUS) {
    throw new Error(`ssim: a ${a.width}x${a.height} image with a ${crop}px border is too small for the 11x11 window`);
  }
  const x1 = new Float64Array(w * h);
  const x2 = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y + crop) * a.width + x + crop;
      x1[y * w + x] = a.data[i]!;
      x2[y * w + x] = b.data[i]!;
    }
  }
  const sq1 = x1.map((v) => v * v);
  const sq2 = x2.map((v) => v * v);
  const prod = x1.map((v, i) => v * x2[i]!);
  const mu1 = filterValid(x1, w, h);
  const mu2 = filterValid(x2, w, h);
  const e11 = filterValid(sq1, w, h);
  const e22 = filterValid(sq2, w, h);
  const e12 = filterValid(prod, w, h);
  let sum = 0;
  for (let i = 0; i < mu1.length; i++) {
    const m1 = mu1[i]!;
    const m2 = mu2[i]!;
    const m1m1 = m1 * m1;
    const m2m2 = m2 * m2;
    const m1m2 = m1 * m2;
    const s11 = e11[i]! - m1m1;
    const s22 = e22[i]! - m2m2;
    const s12 = e12[i]! - m1m2;
    sum += ((2 * m1m2 + C1) * (2 * s12 + C2)) / ((m1m1 + m2m2 + C1) * (s11 + s22 + C2));
  }
  return sum / mu1.length;
}

/** SSIM of the unrounded Y channel times 255. */
export function ssimY(a: RgbImage, b: RgbImage, crop = 4): number {
  sameSize(a, b, 'ssimY');
  return ssim(lumaSamples(a), lumaSamples(b), crop);
}
