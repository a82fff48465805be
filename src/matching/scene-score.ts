// Owns the cheap "does this reference show the input's scene?" score: coarse dense matching of two small feature
// grids. Every cell of the input's grid is compared (cosine) with every cell of the reference's; the score is the
// mean over input cells of the best match, and `mutual` the fraction of input cells whose best match picks them back
// (mutual nearest neighbours, which generic texture such as sky or foliage rarely gives across unrelated photos).
// Features are centred before the cosine by a mean feature (the album's, or the pair's), which removes what every
// photo shares. Used to rank an album (pipeline/reference-retrieval.ts) and to warn about an unrelated reference.
// Album ranking (albumScores) is album-relative: each input cell's best cosine is compared with the same cell's over
// the whole album (distinctiveScores), and the mutual matches are checked for one consistent placement of the input
// in the photo (consistentVote, a Hough vote over scale and shift).
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
  const { best, mutual } = referenceMatches(input, ref);
  let sum = 0;
  for (let i = 0; i < best.length; i++) sum += best[i]!;
  return { score: best.length ? sum / best.length : 0, mutual };
}

/** What the scores are made of: per input cell the best cosine, and the mutual nearest-neighbour pairs. */
export interface CellMatches {
  /** Per input cell (row-major), the best cosine with any reference cell. */
  readonly best: Float32Array;
  /** Fraction of input cells that are mutual nearest neighbours with their best reference cell. */
  readonly mutual: number;
  /** The mutual pairs, flattened: input cell, reference cell, input cell, reference cell, ... (input cells ascending). */
  readonly pairs: Int32Array;
}

/** The cell matches of `ref` for `input` (the JS definition; album ranking runs it on ONNX Runtime, scene-score-graph.ts). */
export function referenceMatches(input: ScoreGrid, ref: ScoreGrid): CellMatches {
  const c = input.channels;
  if (ref.channels !== c) throw new Error(`referenceScore: the grids have ${c} and ${ref.channels} channels`);
  const nIn = input.height * input.width;
  const nRef = ref.height * ref.width;
  if (nIn === 0 || nRef === 0) return { best: new Float32Array(0), mutual: 0, pairs: new Int32Array(0) };
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
  return { best: bestIn, ...mutualPairs(argIn, argRef) };
}

/** The mutual nearest-neighbour pairs from the two argmax directions (shared by the JS and ONNX Runtime paths). */
export function mutualPairs(argIn: ArrayLike<number>, argRef: ArrayLike<number>): { mutual: number; pairs: Int32Array } {
  const out: number[] = [];
  for (let i = 0; i < argIn.length; i++) {
    const j = argIn[i]!;
    if (argRef[j] === i) out.push(i, j);
  }
  return { mutual: argIn.length ? out.length / 2 / argIn.length : 0, pairs: Int32Array.from(out) };
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
  const { mean, sd } = cellStats(best, 'distinctiveScores');
  const keep = Math.max(1, Math.round(n * share));
  return best.map((b) => {
    const z = Float64Array.from(b, (v, i) => (v - mean[i]!) / sd[i]!).sort().reverse();
    let s = 0;
    for (let i = 0; i < keep; i++) s += z[i]!;
    return n ? s / keep : 0;
  });
}

/** Per input cell, the mean and standard deviation (+1e-6) of its best cosine over the album's photos. */
function cellStats(best: readonly Float32Array[], who: string): { mean: Float64Array; sd: Float64Array } {
  const n = best[0]!.length;
  const mean = new Float64Array(n);
  const sq = new Float64Array(n);
  for (const b of best) {
    if (b.length !== n) throw new Error(`${who}: photos have ${n} and ${b.length} input cells`);
    for (let i = 0; i < n; i++) { mean[i]! += b[i]!; sq[i]! += b[i]! * b[i]!; }
  }
  const sd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mean[i]! /= best.length;
    sd[i] = Math.sqrt(Math.max(0, sq[i]! / best.length - mean[i]! * mean[i]!)) + 1e-6;
  }
  return { mean, sd };
}

/** Relative scales (reference cells per input cell) the geometric vote tries. */
export const GEOMETRY_SCALES: readonly number[] = [0.5, 0.71, 1, 1.41, 2];
/** Width (cells) of the geometric vote's shift bins; each match votes into a 2x2 block of bins. */
export const GEOMETRY_BIN = 3;

/**
 * Geometric verification of mutual matches (`pairs`, see CellMatches): how much weight of them agrees on one
 * placement of the input in the reference, x_ref = s * x_in + t (same for y; no rotation, photos are upright). For
 * each scale s of `scales` every match votes its `weights[input cell]` for its shift t, in bins of `bin` cells (into
 * the 2x2 block of bins around it, so matches whose shifts differ by less than a bin always meet); the result is the
 * heaviest bin over all scales. Matches on one scene agree (the photo shows it at some scale and place); matches
 * between unrelated photos scatter. Cost: pairs x scales x 4 map updates.
 */
export function consistentVote(pairs: Int32Array, inWidth: number, refWidth: number, weights: ArrayLike<number>, scales: readonly number[] = GEOMETRY_SCALES, bin = GEOMETRY_BIN): number {
  if (pairs.length % 2 !== 0) throw new Error('consistentVote: pairs must hold input/reference cell pairs');
  let best = 0;
  const votes = new Map<number, number>();
  for (const s of scales) {
    votes.clear();
    for (let m = 0; m < pairs.length; m += 2) {
      const i = pairs[m]!;
      const j = pairs[m + 1]!;
      const w = weights[i]!;
      if (!(w > 0)) continue;
      const tx = Math.floor(((j % refWidth) - s * (i % inWidth)) / bin);
      const ty = Math.floor((Math.floor(j / refWidth) - s * Math.floor(i / inWidth)) / bin);
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
        const key = (ty + dy) * 1048576 + (tx + dx);
        const v = (votes.get(key) ?? 0) + w;
        votes.set(key, v);
        if (v > best) best = v;
      }
    }
  }
  return best;
}

/** Album-relative scores of every photo (see albumScores). */
export interface AlbumScores {
  /** distinctiveScores: mean of the top share of the photo's cell z-scores. */
  readonly appearance: number[];
  /** consistentVote of the photo's mutual matches, each weighted by its cell's z-score (negative ones by 0). */
  readonly geometry: number[];
  /** What the ranking uses: appearance and geometry, each standardised over the album, summed. */
  readonly combined: number[];
}

/**
 * The ranking scores of an album's photos for one input (`inWidth`: the input grid's width in cells; per photo its
 * CellMatches and the reference grid's width). Appearance alone (distinctiveScores) is fooled by photos whose many
 * cells each resemble some input cell in no particular arrangement; geometry rewards matches that agree on where
 * the input sits in the photo, and weighting them by the album-relative z-score keeps sky and walls out of the vote.
 * Both are standardised over the album before they are added (so neither's units dominate, for any album); with one
 * photo every score is 0.
 */
export function albumScores(inWidth: number, photos: readonly { best: Float32Array; pairs: Int32Array; refWidth: number }[], share = DISTINCTIVE_SHARE): AlbumScores {
  if (photos.length === 0) return { appearance: [], geometry: [], combined: [] };
  const best = photos.map((p) => p.best);
  const appearance = distinctiveScores(best, share);
  const { mean, sd } = cellStats(best, 'albumScores');
  const geometry = photos.map((p) => {
    const w = Float64Array.from(p.best, (v, i) => Math.max(0, (v - mean[i]!) / sd[i]!));
    return consistentVote(p.pairs, inWidth, p.refWidth, w);
  });
  const a = standardise(appearance);
  const g = standardise(geometry);
  return { appearance, geometry, combined: a.map((v, k) => v + g[k]!) };
}

/** (x - mean) / sd over the list; all 0 when the values do not vary. */
export function standardise(xs: readonly number[]): number[] {
  const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length));
  return xs.map((x) => (sd > 1e-12 ? (x - m) / sd : 0));
}
