// Owns the paper's geometric augmentation (official `augment`: horizontal flip, vertical flip, transpose, each with
// probability 1/2), applied jointly to every image of a training sample so their correspondence is preserved.

import { rgbImage, type RgbImage } from '../../image/rgb-image.ts';
import type { Rng } from '../../random/rng.ts';

export interface Flips {
  readonly hflip: boolean;
  readonly vflip: boolean;
  readonly transpose: boolean;
}

export function drawFlips(rng: Rng): Flips {
  return { hflip: rng.uniform() < 0.5, vflip: rng.uniform() < 0.5, transpose: rng.uniform() < 0.5 };
}

/** Applies the flips in the official order: hflip, vflip, then transpose (rows <-> columns). */
export function applyFlips(img: RgbImage, f: Flips): RgbImage {
  const { width: w, height: h, data } = img;
  const ow = f.transpose ? h : w;
  const oh = f.transpose ? w : h;
  const out = rgbImage(ow, oh);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = f.hflip ? w - 1 - x : x;
      const sy = f.vflip ? h - 1 - y : y;
      const [ox, oy] = f.transpose ? [y, x] : [x, y];
      const s = (sy * w + sx) * 3;
      const o = (oy * ow + ox) * 3;
      out.data[o] = data[s]!;
      out.data[o + 1] = data[s + 1]!;
      out.data[o + 2] = data[s + 2]!;
    }
  }
  return out;
}
