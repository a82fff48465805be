// Owns running the restoration network over the LR grid, whole or in overlapping tiles, given the reference
// features and the flow from matching, and blending the tiles into the SR image.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { featureWindow } from '../tensor/feature-window.ts';
import { dcnPreOffsetWindow } from '../matching/pre-offset.ts';
import { axisWeights, tileLayout } from './tiles.ts';
import type { ReferenceFeatures, RefSRModel } from './refsr-model.ts';

export interface TiledRestoreOptions {
  /** Tile size in LR pixels (default 96). The whole image runs at once when it fits in one tile. */
  readonly tile?: number;
  /** Overlap between tiles in LR pixels (default 12). */
  readonly overlap?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
}

export const DEFAULT_TILE = 96;
export const DEFAULT_OVERLAP = 12;

const LEVELS = [
  { name: 'relu3_1', scale: 1 },
  { name: 'relu2_1', scale: 2 },
  { name: 'relu1_1', scale: 4 },
] as const;

/**
 * @param lr   the LR image [1, 3, h, w]
 * @param flow correspondence flow [1, h, w, 2] on the LR grid, in reference feature cells
 * @returns the SR image [1, 3, 4h, 4w], unclamped
 */
export async function restoreTiled(model: RefSRModel, lr: Float32Tensor, ref: ReferenceFeatures, flow: Float32Tensor, opts: TiledRestoreOptions = {}): Promise<Float32Tensor> {
  return restoreInTiles(lr, opts, (y, x, th, tw) => model.restore(tileInputs(lr, ref, flow, y, x, th, tw)));
}

/**
 * Runs `restoreTile` (LR tile origin and size -> SR tile [1, 3, 4th, 4tw]) over the tile layout of the LR image and
 * blends the tiles with linear ramps; one call for the whole image when it fits in one tile.
 */
export async function restoreInTiles(lr: Float32Tensor, opts: TiledRestoreOptions, restoreTile: (y: number, x: number, h: number, w: number) => Promise<Float32Tensor>): Promise<Float32Tensor> {
  const [, , h, w] = lr.shape as [number, number, number, number];
  const layout = tileLayout(h, w, opts.tile ?? DEFAULT_TILE, opts.overlap ?? DEFAULT_OVERLAP);
  const H = 4 * h;
  const W = 4 * w;
  if (layout.tiles.length === 1) {
    const out = await restoreTile(0, 0, h, w);
    opts.onProgress?.(1);
    return out;
  }
  const acc = new Float32Array(3 * H * W);
  const wsum = new Float32Array(H * W);
  const ramp = 4 * layout.overlap;
  let done = 0;
  for (const t of layout.tiles) {
    opts.signal?.throwIfAborted();
    const out = await restoreTile(t.y, t.x, t.h, t.w);
    const th = 4 * t.h;
    const tw = 4 * t.w;
    const wy = axisWeights(th, ramp, t.y > 0, t.y + t.h < h);
    const wx = axisWeights(tw, ramp, t.x > 0, t.x + t.w < w);
    for (let y = 0; y < th; y++) {
      const Y = 4 * t.y + y;
      for (let x = 0; x < tw; x++) {
        const X = 4 * t.x + x;
        const wt = wy[y]! * wx[x]!;
        const o = Y * W + X;
        wsum[o] += wt;
        for (let c = 0; c < 3; c++) acc[c * H * W + o] += wt * out.data[(c * th + y) * tw + x]!;
      }
    }
    opts.onProgress?.(++done / layout.tiles.length);
  }
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) acc[c * H * W + i] /= wsum[i]!;
  return { shape: [1, 3, H, W], data: acc };
}

export function tileInputs(lr: Float32Tensor, ref: Omit<ReferenceFeatures, 'contras'>, flow: Float32Tensor, y: number, x: number, h: number, w: number) {
  const levels = {} as Parameters<RefSRModel['restore']>[0]['levels'];
  for (const { name, scale } of LEVELS) {
    levels[name] = {
      ref: ref[name],
      refLocal: featureWindow(ref[name], y * scale, x * scale, h * scale, w * scale),
      preOffset: dcnPreOffsetWindow(flow, scale, y * scale, x * scale, h * scale, w * scale),
    };
  }
  return { lr: featureWindow(lr, y, x, h, w), levels };
}
