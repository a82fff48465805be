// Owns the tiling of the LR grid for restoration: overlapping windows of one fixed size (so a single ONNX session
// serves them all) and the blending weights that hide the seams (linear ramps across each overlap, never on an
// image border), at the 4x output resolution.

export interface Tile {
  readonly y: number;
  readonly x: number;
  readonly h: number;
  readonly w: number;
}

export interface TileLayout {
  readonly tiles: Tile[];
  readonly overlap: number;
}

function starts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const stride = tile - overlap;
  const out: number[] = [];
  for (let s = 0; ; s += stride) {
    if (s + tile >= size) { out.push(size - tile); break; }
    out.push(s);
  }
  return out;
}

/** Windows of `tile` x `tile` LR pixels (smaller only when the image is) overlapping by at least `overlap`. */
export function tileLayout(h: number, w: number, tile: number, overlap: number): TileLayout {
  if (tile <= overlap) throw new Error(`tile size ${tile} must be larger than the overlap ${overlap}`);
  const th = Math.min(tile, h);
  const tw = Math.min(tile, w);
  const tiles: Tile[] = [];
  for (const y of starts(h, th, overlap)) for (const x of starts(w, tw, overlap)) tiles.push({ y, x, h: th, w: tw });
  return { tiles, overlap };
}

/**
 * Blend weight along one axis of a tile's output (length n = 4 * tile size): a ramp over `ramp` output pixels on
 * each side that borders another tile, 1 elsewhere. Ramps start above zero so every pixel has positive weight.
 */
export function axisWeights(n: number, ramp: number, rampStart: boolean, rampEnd: boolean): Float32Array {
  const wts = new Float32Array(n).fill(1);
  if (ramp <= 0) return wts;
  for (let i = 0; i < Math.min(ramp, n); i++) {
    const r = (i + 0.5) / ramp;
    if (rampStart) wts[i] = Math.min(wts[i]!, r);
    if (rampEnd) wts[n - 1 - i] = Math.min(wts[n - 1 - i]!, r);
  }
  return wts;
}
