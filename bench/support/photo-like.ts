// Owns the synthetic photo-like test images of the speed benchmarks (bench/upscale.ts, bench/video.ts): seeded,
// textured, with a horizontal shift so consecutive images can stand for video frames. Timing does not depend on the
// pixel values, only on the sizes.
import { Rng } from '../../src/random/rng.ts';
import { rgbImage, type RgbImage } from '../../src/image/rgb-image.ts';

export function photoLike(w: number, h: number, seed: number, shift = 0): RgbImage {
  const rng = new Rng(seed);
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    const u = x + shift;
    const v = 128 + 50 * Math.sin(u / 7 + c) * Math.cos(y / 5) + 30 * Math.sin((u * y) / 300) + 12 * rng.normal();
    img.data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return img;
}
