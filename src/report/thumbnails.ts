// Owns the small pictures of an evaluation report: for each pair a detail crop (same window in bicubic, refsr and
// ground truth, placed where the ground truth has the most texture) and downscaled overviews of the ground truth and
// the reference, as PNG data URIs small enough to embed in a self-contained HTML file.

import type { RgbImage } from '../image/rgb-image.ts';
import { crop } from '../image/layout.ts';
import { fitWithin, encodePng } from '../viz/raster.ts';
import type { PairImages } from '../eval/evaluate.ts';

export interface Thumbnails {
  /** Detail window in ground-truth pixels. */
  readonly window: { x: number; y: number; size: number };
  readonly gtSize: [number, number];
  readonly bicubic: string;
  readonly refsr: string;
  readonly gt: string;
  /** Ground truth and reference overviews (downscaled). */
  readonly overview: string;
  readonly overviewSize: [number, number];
  readonly ref: string;
}

export interface ThumbnailOptions {
  /** Detail crop side in pixels (default 64, at most the image's shorter side). */
  readonly crop?: number;
  /** Longest side of the overviews (default 120; palette PNG). */
  readonly overview?: number;
}

/** Top-left corner of the size x size window with the largest gradient energy (on a stride of size/4). */
export function detailWindow(img: RgbImage, size: number): { x: number; y: number } {
  const { width: w, height: h, data } = img;
  const grad = new Float64Array(w * h);
  for (let y = 0; y < h - 1; y++) for (let x = 0; x < w - 1; x++) {
    const i = (y * w + x) * 3;
    let g = 0;
    for (let c = 0; c < 3; c++) g += Math.abs(data[i + c]! - data[i + 3 + c]!) + Math.abs(data[i + c]! - data[i + w * 3 + c]!);
    grad[y * w + x] = g;
  }
  // Summed-area table for O(1) window sums.
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += grad[y * w + x]!;
      sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1]! + row;
    }
  }
  const sum = (x: number, y: number) => sat[(y + size) * (w + 1) + x + size]! - sat[y * (w + 1) + x + size]! - sat[(y + size) * (w + 1) + x]! + sat[y * (w + 1) + x]!;
  const step = Math.max(1, Math.floor(size / 4));
  let best = { x: Math.floor((w - size) / 2), y: Math.floor((h - size) / 2) };
  let bestV = -1;
  for (let y = 0; y + size <= h; y += step) for (let x = 0; x + size <= w; x += step) {
    const v = sum(x, y);
    if (v > bestV) { bestV = v; best = { x, y }; }
  }
  return best;
}

async function dataUri(img: RgbImage, palette = false): Promise<string> {
  return `data:image/png;base64,${Buffer.from(await encodePng(img, undefined, { palette })).toString('base64')}`;
}

export async function makeThumbnails(images: PairImages, opts: ThumbnailOptions = {}): Promise<Thumbnails> {
  const { gt } = images;
  const size = Math.max(1, Math.min(opts.crop ?? 64, gt.width, gt.height));
  const { x, y } = detailWindow(gt, size);
  const ov = opts.overview ?? 120;
  const overview = fitWithin(gt, ov, ov);
  return {
    window: { x, y, size }, gtSize: [gt.width, gt.height],
    bicubic: await dataUri(crop(images.bicubic, x, y, size, size)),
    refsr: await dataUri(crop(images.sr, x, y, size, size)),
    gt: await dataUri(crop(gt, x, y, size, size)),
    overview: await dataUri(overview, true), overviewSize: [overview.width, overview.height],
    ref: await dataUri(fitWithin(images.ref, ov, ov), true),
  };
}
