// Owns the cheap "does this reference show the input's scene?" score: coarse dense matching of two small feature
// grids. Every cell of the input's grid is compared (cosine) with every cell of the reference's; the score is the
// mean over input cells of the best match, and `mutual` the fraction of input cells whose best match picks them back
// (mutual nearest neighbours, which generic texture such as sky or foliage rarely gives across unrelated photos).
// Features are centred before the cosine by a mean feature (the album's, or the pair's), which removes what every
// photo shares. Used to rank an album (pipeline/reference-retrieval.ts) and to warn about an unrelated reference.
// Cost: input cells x reference cells x channels multiply-adds (48x32 grids of 64 channels: 151 M per pair; the
// album ranking runs the same computation on ONNX Runtime, scene-score-graph.ts).

import type { Float32Tensor } from '../tensor/host-tensor.ts';

/** A feature grid prepared for scoring: per cell a unit vector (after centring), cell-major. */
export interface ScoreGrid {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** height * width rows of `channels` values, each of unit L2 norm (or zero). */
  readonly unit: Float32Array;
}

export interface ReferenceScore {
  /** Mean over input cells of the best cosine with any reference cell (-1..1). */
  readonly score: number;
  /** Fraction of input cells that are mutual nearest neighbours with their best reference cell (0..1). */
  readonly mutual: number;
}

/** The mean feature of one or more [1, C, H, W] maps (the centre removed before scoring). */
export function meanFeature(maps: readonly Float32Tensor[]): Float32Array {
  const c = maps[0]!.shape[1]!;
  const mean = new Float64Array(c);
  let cells = 0;
  for (const m of maps) {
    if (m.shape[1] !== c) throw new Error(`meanFeature: maps have ${c} and ${m.shape[1]} channels`);
    const n = m.shape[2]! * m.shape[3]!;
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += m.data[k * n + i]!;
      mean[k]! += s;
    }
    cells += n;
  }
  return Float32Array.from(mean, (v) => v / Math.max(1, cells));
}

/** A [1, C, H, W] feature map as a score grid: `centre` subtracted from every cell, then each cell L2-normalised. */
export function scoreGrid(map: Float32Tensor, centre?: Float32Array): ScoreGrid {
  const [, c, h, w] = map.shape as [number, number, number, number];
  if (centre && centre.length !== c) throw new Error(`scoreGrid: centre has ${centre.length} channels, the map ${c}`);
  const n = h * w;
  const unit = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let k = 0; k < c; k++) {
      const v = map.data[k * n + i]! - (centre ? centre[k]! : 0);
      unit[i * c + k] = v;
      ss += v * v;
    }
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let k = 0; k < c; k++) unit[i * c + k]! *= inv;
  }
  return { channels: c, height: h, width: w, unit };
}

/** Scores `ref` as a reference for `input` (see the module comment). Not symmetric. */
export function referenceScore(input: ScoreGrid, ref: ScoreGrid): ReferenceScore {
  const c = input.channels;
  if (ref.channels !== c) throw new Error(`referenceScore: the grids have ${c} and ${ref.channels} channels`);
  const nIn = input.height * input.width;
  const nRef = ref.height * ref.width;
  if (nIn === 0 || nRef === 0) return { score: 0, mutual: 0 };
  const bestIn = new Float32Array(nIn).fill(-Infinity);
  const argIn = new Int32Array(nIn);
  const bestRef = new Float32Array(nRef).fill(-Infinity);
  const argRef = new Int32Array(nRef);
  const a = input.unit;
  const b = ref.unit;
  // Four reference cells per pass over an input cell's vector (fewer loads of it; about 2x a plain triple loop).
  for (let i = 0; i < nIn; i++) {
    const oi = i * c;
    let best = -Infinity;
    let arg = 0;
    let j = 0;
    for (; j + 4 <= nRef; j += 4) {
      const o0 = j * c;
      const o1 = o0 + c;
      const o2 = o1 + c;
      const o3 = o2 + c;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < c; k++) {
        const v = a[oi + k]!;
        s0 += v * b[o0 + k]!;
        s1 += v * b[o1 + k]!;
        s2 += v * b[o2 + k]!;
        s3 += v * b[o3 + k]!;
      }
      if (s0 > best) { best = s0; arg = j; }
      if (s1 > best) { best = s1; arg = j + 1; }
      if (s2 > best) { best = s2; arg = j + 2; }
      if (s3 > best) { best = s3; arg = j + 3; }
      if (s0 > bestRef[j]!) { bestRef[j] = s0; argRef[j] = i; }
      if (s1 > bestRef[j + 1]!) { bestRef[j + 1] = s1; argRef[j + 1] = i; }
      if (s2 > bestRef[j + 2]!) { bestRef[j + 2] = s2; argRef[j + 2] = i; }
      if (s3 > bestRef[j + 3]!) { bestRef[j + 3] = s3; argRef[j + 3] = i; }
    }
    for (; j < nRef; j++) {
      const oj = j * c;
      let s = 0;
      for (let k = 0; k < c; k++) s += a[oi + k]! * b[oj + k]!;
      if (s > best) { best = s; arg = j; }
      if (s > bestRef[j]!) { bestRef[j] = s; argRef[j] = i; }
    }
    bestIn[i] = best;
    argIn[i] = arg;
  }
  let sum = 0;
  let mutual = 0;
  for (let i = 0; i < nIn; i++) {
    sum += bestIn[i]!;
    if (argRef[argIn[i]!] === i) mutual++;
  }
  return { score: sum / nIn, mutual: mutual / nIn };
}

/** Share of the input cells whose album-relative matches make the ranking score (distinctiveScores). */
export const DISTINCTIVE_SHARE = 0.3;

/**
 * Album-relative scores for ranking: `best[p][i]` is input cell i's best cosine in photo p (scene-score-graph.ts
 * `bestMatches`). Each cell's value becomes a z-score against the same cell's values over the whole album, so cells
 * that match every photo well (sky, foliage, walls) count for little and cells that match one photo unusually well
 * count for much; a photo's score is the mean of its top `share` of cells. Needs two or more photos to mean anything
 * (with one, every score is 0).
 */
export function distinctiveScores(best: readonly Float32Array[], share = DISTINCTIVE_SHARE): number[] {
  if (best.length === 0) return [];
  const n = best[0]!.length;
  const mean = new Float64Array(n);
  const sq = new Float64Array(n);
  for (const b of best) {
    if (b.length !== n) throw new Error(`distinctiveScores: photos have ${n} and ${b.length} input cells`);
    for (let i = 0; i < n; i++) { mean[i]! += b[i]!; sq[i]! += b[i]! * b[i]!; }
  }
  const sd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mean[i]! /= best.length;
    sd[i] = Math.sqrt(Math.max(0, sq[i]! / best.length - mean[i]! * mean[i]!)) + 1e-6;
  }
  const keep = Math.max(1, Math.round(n * share));
  return best.map((b) => {
    const z = Float64Array.from(b, (v, i) => (v - mean[i]!) / sd[i]!).sort().reverse();
    let s = 0;
    for (let i = 0; i < keep; i++) s += z[i]!;
    return n ? s / keep : 0;
  });
}
