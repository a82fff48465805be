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

/**
 * Tile length and start positions along one axis: the fewest tiles of at most `tile` pixels that overlap by at
 * least `overlap`, all of one length (one ONNX session serves them), spread evenly so no tile is mostly overlap.
 */
function axisTiles(size: number, tile: number, overlap: number): { length: number; starts: number[] } {
  if (size <= tile) return { length: size, starts: [0] };
  const n = Math.ceil((size - overlap) / (tile - overlap));
  const length = Math.min(tile, Math.ceil((size - overlap) / n) + overlap);
  const starts: number[] = [];
  for (let i = 0; i < n; i++) starts.push(Math.round((i * (size - length)) / (n - 1)));
  return { length, starts };
}

/** Windows of at most `tile` x `tile` LR pixels covering an h x w image, overlapping by at least `overlap`. */
export function tileLayout(h: number, w: number, tile: number, overlap: number): TileLayout {
  if (tile <= overlap) throw new Error(`tile size ${tile} must be larger than the overlap ${overlap}`);
  const ys = axisTiles(h, tile, overlap);
  const xs = axisTiles(w, tile, overlap);
  const tiles: Tile[] = [];
  for (const y of ys.starts) for (const x of xs.starts) tiles.push({ y, x, h: ys.length, w: xs.length });
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
