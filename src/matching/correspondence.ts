// Owns exact correspondence matching (official feature_match_index with patch 3, stride 1, is_norm, norm_input):
// every input 3x3 patch against every reference 3x3 patch by cosine correlation, argmax per input patch, computed
// block by block on ONNX Runtime so memory stays bounded whatever the image sizes.
//
// Memory bound: one block holds an input chunk and a reference chunk of at most `chunk` patches each (2304 floats
// per patch) and their chunk x chunk correlation: with the default chunk of 4096 that is 2 * 37.7 MB + 67 MB
// = 143 MB, independent of the image sizes (plus the two normalised feature maps themselves).

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { CorrelationBlock } from './correlation-graph.ts';
import { normalizePixels, patchCount, writePatchRows, type FeatureGrid } from './patches.ts';
import { RowCorrelation, rowPatches, patchNorms } from './row-correlation.ts';
import type { MatchIndex } from './pre-offset.ts';

export interface MatchOptions {
  /** `matchExact` only: patches per block on each side (default 4096). */
  readonly chunk?: number;
  /**
   * `matchRows` (and the coarse stage of the fast mode) only: float budget of one row-correlation block, its Gemm
   * output (default ROW_BLOCK_FLOATS). Smaller budgets mean more, smaller blocks; the result does not change.
   */
  readonly blockFloats?: number;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Called after each block with the fraction done. */
  readonly onProgress?: (fraction: number) => void;
  /** Also compute each position's margin (best minus second-best score); slower, for diagnostics. */
  readonly withMargin?: boolean;
}

export const DEFAULT_MATCH_CHUNK = 4096;
/** Float budget of one row-correlation block (its Gemm output); peak block memory is about 6x this, 4 bytes each. */
export const ROW_BLOCK_FLOATS = 8 * 1024 * 1024;

/**
 * Exact matching with the row-patch decomposition (see row-correlation.ts): three times less arithmetic than
 * `matchExact`, same indices up to float32 summation order. Memory per block: about 6 x ROW_BLOCK_FLOATS floats
 * (about 200 MB), plus the row-patch copies of both feature maps (3x each map).
 */
export async function matchRows(inputFeat: Float32Tensor, refFeat: Float32Tensor, opts: MatchOptions = {}): Promise<MatchIndex> {
  const fin = normalizePixels(inputFeat);
  const fref = normalizePixels(refFeat);
  checkGrid(fin, 'input');
  checkGrid(fref, 'reference');
  const rin = rowPatches(fin);
  const rref = rowPatches(fref);
  const refNorms = patchNorms(rref);
  const invNorm = refNorms.map((n) => 1 / (n + 1e-5));
  const inNorms = patchNorms(rin);
  const ph = fin.h - 2;
  const pw = fin.w - 2;
  const qh = fref.h - 2;
  const qw = fref.w - 2;
  // Square-ish blocks: (R+2)(Q+2) * pw * qw <= budget.
  const budget = opts.blockFloats ?? ROW_BLOCK_FLOATS;
  if (!(budget > 0)) throw new Error(`matching block budget must be positive, got ${budget}`);
  const side = Math.max(3, Math.floor(Math.sqrt(budget / (pw * qw))));
  const R = Math.max(1, Math.min(ph, side - 2));
  const Q = Math.max(1, Math.min(qh, side - 2));
  const corr = new RowCorrelation(pw, qw, rin.dim, opts.threads);
  const index = new Int32Array(ph * pw);
  const score = new Float32Array(ph * pw);
  const blocks = Math.ceil(ph / R) * Math.ceil(qh / Q);
  let done = 0;
  try {
    // Every block has the same R x Q shape, so one ONNX session (and one memory arena) serves them all: the last
    // block of each axis starts early and overlaps the previous one (recomputing identical scores, which never
    // replace the earlier equal ones).
    for (const y0 of blockStarts(ph, R)) {
      const best = new Float32Array(R * pw).fill(-Infinity);
      const bestIdx = new Int32Array(R * pw);
      for (const q0 of blockStarts(qh, Q)) {
        opts.signal?.throwIfAborted();
        const b = await corr.block(rin, y0, R, rref, q0, Q, invNorm);
        // Later blocks replace only on a strictly greater score: ties keep the earliest index, as the reference.
        for (let k = 0; k < R * pw; k++) {
          const s = b.score[k]!;
          if (s > best[k]! || (s === best[k]! && Number(b.index[k]!) + q0 * qw < bestIdx[k]!)) { best[k] = s; bestIdx[k] = Number(b.index[k]!) + q0 * qw; }
        }
        opts.onProgress?.(++done / blocks);
      }
      for (let k = 0; k < R * pw; k++) {
        const p = y0 * pw + k;
        index[p] = bestIdx[k]!;
        // Reported like the reference: best correlation over (input patch norm + 1e-5).
        score[p] = best[k]! / (inNorms[p]! + 1e-5);
      }
    }
  } finally {
    await corr.release();
  }
  return { h: fin.h, w: fin.w, refH: fref.h, refW: fref.w, index, score };
}

/** Starts of blocks of length `size` covering [0, n): 0, size, 2 size, ..., and n - size last (size <= n). */
function blockStarts(n: number, size: number): number[] {
  const starts: number[] = [];
  for (let s = 0; s < n; s += size) starts.push(Math.min(s, n - size));
  return starts;
}

/** Matches input features [1, C, h, w] against reference features [1, C, hr, wr] (any sizes, each at least 3x3). */
export async function matchExact(inputFeat: Float32Tensor, refFeat: Float32Tensor, opts: MatchOptions = {}): Promise<MatchIndex> {
  const fin = normalizePixels(inputFeat);
  const fref = normalizePixels(refFeat);
  checkGrid(fin, 'input');
  checkGrid(fref, 'reference');
  const dim = fin.channels * 9;
  const chunk = Math.max(1, opts.chunk ?? DEFAULT_MATCH_CHUNK);
  const nIn = patchCount(fin);
  const nRef = patchCount(fref);
  const block = await CorrelationBlock.create(dim, opts.threads, opts.withMargin);
  const index = new Int32Array(nIn);
  const score = new Float32Array(nIn);
  const margin = opts.withMargin ? new Float32Array(nIn) : undefined;
  const inRows = new Float32Array(Math.min(chunk, nIn) * dim);
  const refRows = new Float32Array(Math.min(chunk, nRef) * dim);
  // Keep every reference chunk when they all fit in 256 MB; otherwise rebuild them per input chunk.
  const cacheRef = nRef * dim * 4 <= 256 * 1024 * 1024 && nIn > chunk;
  const refCache: Float32Array<ArrayBufferLike>[] = [];
  const blocks = Math.ceil(nIn / chunk) * Math.ceil(nRef / chunk);
  let done = 0;
  try {
    for (let i0 = 0; i0 < nIn; i0 += chunk) {
      const ni = Math.min(chunk, nIn - i0);
      const inNorms = writePatchRows(fin, i0, ni, inRows, false);
      const best = new Float32Array(ni).fill(-Infinity);
      const second = new Float32Array(ni).fill(-Infinity);
      const bestIdx = new Int32Array(ni);
      for (let r0 = 0, c = 0; r0 < nRef; r0 += chunk, c++) {
        opts.signal?.throwIfAborted();
        const nr = Math.min(chunk, nRef - r0);
        let rows: Float32Array<ArrayBufferLike> = refRows;
        if (cacheRef && refCache[c]) rows = refCache[c]!;
        else {
          if (cacheRef) rows = new Float32Array(nr * dim);
          writePatchRows(fref, r0, nr, rows, true);
          if (cacheRef) refCache[c] = rows;
        }
        if (margin) {
          const b = await block.bestTwo(inRows, ni, rows, nr);
          for (let k = 0; k < ni; k++) {
            const s = b.score[k]!;
            if (s > best[k]!) {
              second[k] = Math.max(best[k]!, b.second[k]!);
              best[k] = s;
              bestIdx[k] = Number(b.index[k]!) + r0;
            } else second[k] = Math.max(second[k]!, s);
          }
        } else {
          const b = await block.best(inRows, ni, rows, nr);
          // Later chunks replace only on a strictly greater score: ties keep the earliest index, as the reference.
          for (let k = 0; k < ni; k++) {
            const s = b.score[k]!;
            if (s > best[k]!) { best[k] = s; bestIdx[k] = Number(b.index[k]!) + r0; }
          }
        }
        opts.onProgress?.(++done / blocks);
      }
      for (let k = 0; k < ni; k++) {
        index[i0 + k] = bestIdx[k]!;
        score[i0 + k] = best[k]! / (inNorms[k]! + 1e-5);
        if (margin) margin[i0 + k] = (best[k]! - second[k]!) / (inNorms[k]! + 1e-5);
      }
    }
  } finally {
    await block.release();
  }
  return { h: fin.h, w: fin.w, refH: fref.h, refW: fref.w, index, score, margin };
}

function checkGrid(g: FeatureGrid, what: string): void {
  if (g.h < 3 || g.w < 3) throw new Error(`${what} feature map ${g.w}x${g.h} is too small to match (needs 3x3 cells, i.e. an image of at least 12x12 px)`);
}
