// Owns the centre crop used to keep evaluation runs small (robustness study crops, `eval --crop` smoke runs): the
// central region of at most maxSize x maxSize pixels, sides rounded down to multiples of 4.

import type { RgbImage } from '../image/rgb-image.ts';
import { crop } from '../image/layout.ts';

export function centreCrop(img: RgbImage, maxSize: number): RgbImage {
  const w = Math.min(img.width, maxSize) - (Math.min(img.width, maxSize) % 4);
  const h = Math.min(img.height, maxSize) - (Math.min(img.height, maxSize) % 4);
  return crop(img, Math.floor((img.width - w) / 2), Math.floor((img.height - h) / 2), w, h);
}
