// Owns running a feature extractor (VGG trunk up to conv3_1) over a large image in windows so its memory stays
// bounded, with results identical to one whole-image pass: windows overlap by a margin wider than the trunk's
// receptive field (13 px for conv3_1), are aligned to the 4-pixel pooling grid, and only each window's interior
// (or true image border) is kept.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { featureWindow } from '../tensor/feature-window.ts';

/** Receptive-field margin in input pixels (a multiple of 4). */
export const FEATURE_MARGIN = 16;
/** Window interior side in input pixels (a multiple of 4); larger images are processed in windows. */
export const FEATURE_TILE = 512;

interface Span { start: number; keep: number; windowStart: number; windowLength: number }

function spans(size: number, tile: number, margin: number): Span[] {
  const windowLength = Math.min(size, tile + 2 * margin);
  if (windowLength === size) return [{ start: 0, keep: size, windowStart: 0, windowLength }];
  const out: Span[] = [];
  for (let start = 0; start < size; start += tile) {
    const keep = Math.min(tile, size - start);
    const windowStart = Math.max(0, Math.min(start - margin, size - windowLength));
    out.push({ start, keep, windowStart, windowLength });
  }
  return out;
}

/**
 * @param img    [1, 3, H, W] with H and W multiples of 4
 * @param scales output name -> downscale factor of that output (1, 2 or 4)
 * @param run    the extractor on one window (always the same window size, so one session serves all)
 */
export async function extractInWindows(
  img: Float32Tensor,
  scales: Record<string, 1 | 2 | 4>,
  run: (window: Float32Tensor) => Promise<Record<string, Float32Tensor>>,
  opts: { tile?: number; margin?: number; signal?: AbortSignal } = {},
): Promise<Record<string, Float32Tensor>> {
  const [, , H, W] = img.shape as [number, number, number, number];
  const tile = opts.tile ?? FEATURE_TILE;
  const margin = opts.margin ?? FEATURE_MARGIN;
  if (tile % 4 || margin % 4 || H % 4 || W % 4) throw new Error('feature windows need sizes that are multiples of 4');
  const ys = spans(H, tile, margin);
  const xs = spans(W, tile, margin);
  if (ys.length === 1 && xs.length === 1) return run(img);
  const out: Record<string, Float32Tensor> = {};
  for (const sy of ys) for (const sx of xs) {
    opts.signal?.throwIfAborted();
    const res = await run(featureWindow(img, sy.windowStart, sx.windowStart, sy.windowLength, sx.windowLength));
    for (const [name, t] of Object.entries(res)) {
      const s = scales[name];
      if (!s) throw new Error(`no scale given for extractor output ${name}`);
      const [, c, th, tw] = t.shape as [number, number, number, number];
      const OH = H / s;
      const OW = W / s;
      const dst = (out[name] ??= { shape: [1, c, OH, OW], data: new Float32Array(c * OH * OW) });
      const rows = sy.keep / s;
      const cols = sx.keep / s;
      const oy = (sy.start - sy.windowStart) / s;
      const ox = (sx.start - sx.windowStart) / s;
      for (let k = 0; k < c; k++) for (let r = 0; r < rows; r++) {
        const src = (k * th + oy + r) * tw + ox;
        dst.data.set(t.data.subarray(src, src + cols), (k * OH + sy.start / s + r) * OW + sx.start / s);
      }
    }
  }
  return out;
}
