// Owns PSNR as the official validation computes it: float64 on 0..255 values, `crop` pixels removed on every side,
// peak 255, Infinity for identical inputs.

import type { RgbImage } from '../image/rgb-image.ts';
import { rgbToY, yTimes255 } from './ycbcr.ts';

/** Row-major samples of a `width` x `height` image with `channels` values per pixel (channels last). */
export interface Samples {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: ArrayLike<number>;
}

export function sameSize(a: { width: number; height: number }, b: { width: number; height: number }, what: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`${what}: images differ in size (${a.width}x${a.height} vs ${b.width}x${b.height})`);
  }
}

/** PSNR with peak 255 after removing `crop` pixels on each side. */
export function psnr(a: Samples, b: Samples, crop: number): number {
  sameSize(a, b, 'psnr');
  const { width, height, channels } = a;
  const n = width * height * channels;
  if (b.channels !== channels || a.data.length !== n || b.data.length !== n) {
    throw new Error(`psnr: inputs have ${a.data.length} and ${b.data.length} values, ${width}x${height}x${channels} needs ${n}`);
  }
  if (2 * crop >= width || 2 * crop >= height) throw new Error(`psnr: a ${crop}px border leaves nothing of a ${width}x${height} image`);
  let sum = 0;
  for (let y = crop; y < height - crop; y++) {
    for (let i = (y * width + crop) * channels, end = (y * width + width - crop) * channels; i < end; i++) {
      const d = a.data[i]! - b.data[i]!;
      sum += d * d;
    }
  }
  const mse = sum / ((width - 2 * crop) * (height - 2 * crop) * channels);
  if (mse === 0) return Infinity;
  return 20 * Math.log10(255 / Math.sqrt(mse));
}

/** PSNR over R, G and B on 0..255 values. */
export function psnrRgb(a: RgbImage, b: RgbImage, crop = 4): number {
  sameSize(a, b, 'psnrRgb');
  return psnr({ ...a, channels: 3 }, { ...b, channels: 3 }, crop);
}

/** The Y channel times 255 (unrounded), as PSNR-Y and SSIM-Y see it. */
export function lumaSamples(img: RgbImage): Samples {
  return { width: img.width, height: img.height, channels: 1, data: yTimes255(rgbToY(img)) };
}

/** PSNR of the unrounded Y channel times 255. */
export function psnrY(a: RgbImage, b: RgbImage, crop = 4): number {
  sameSize(a, b, 'psnrY');
  return psnr(lumaSamples(a), lumaSamples(b), crop);
}
