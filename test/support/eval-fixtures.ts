// Tiny synthetic images and dataset folders for the evaluation tests (a few dozen pixels, seeded).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeImage } from '../../src/image/encode.ts';
import { rgbImage, type RgbImage } from '../../src/image/rgb-image.ts';
import { crop } from '../../src/image/layout.ts';
import { Rng } from '../../src/random/rng.ts';

/** A smooth-plus-noise texture with some structure (blobs and stripes), seeded. */
export function scene(w: number, h: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const blobs = Array.from({ length: 6 }, () => [rng.uniform() * w, rng.uniform() * h, 3 + rng.uniform() * 8, rng.uniform() * 255] as const);
  const img = rgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let v = 90 + 40 * Math.sin(x / 2.5 + seed) * Math.cos(y / 3.5);
    for (const [bx, by, r, c] of blobs) if (Math.hypot(x - bx, y - by) < r) v = 0.5 * v + 0.5 * c;
    for (let c = 0; c < 3; c++) img.data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 25 * c + 12 * rng.normal())));
  }
  return img;
}

export async function save(path: string, img: RgbImage): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeImage(path, img);
}

/** An HR image and a reference showing an overlapping region of the same scene. */
export function scenePair(seed: number, w = 32, h = 28): { hr: RgbImage; ref: RgbImage } {
  const big = scene(w + 12, h + 12, seed);
  return { hr: crop(big, 0, 0, w, h), ref: crop(big, 8, 4, w + 4, h + 8) };
}

export async function makeWrsr(dir: string, n = 2): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const { hr, ref } = scenePair(i);
    const id = String(i).padStart(3, '0');
    await save(join(dir, 'input', `${id}.png`), hr);
    await save(join(dir, 'ref', `${id}_ref.png`), ref);
  }
}

export async function makeCufed5(dir: string, n = 2): Promise<void> {
  for (let i = 0; i < n; i++) {
    const id = String(i).padStart(3, '0');
    const { hr } = scenePair(10 + i);
    await save(join(dir, `${id}_0.png`), hr);
    for (let l = 1; l <= 5; l++) await save(join(dir, `${id}_${l}.png`), scenePair(10 + i + (l - 1) * 7, 28 + 4 * l, 24 + 4 * l).ref);
  }
}

export async function makeImageSet(dir: string, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await save(join(dir, `img_${String(i + 1).padStart(3, '0')}.png`), scene(32 + 4 * i, 36, 30 + i));
}
