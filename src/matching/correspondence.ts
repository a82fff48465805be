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
import type { MatchIndex } from './pre-offset.ts';

export interface MatchOptions {
  /** Patches per block on each side (default 4096). */
  readonly chunk?: number;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  /** Called after each block with the fraction done. */
  readonly onProgress?: (fraction: number) => void;
  /** Also compute each position's margin (best minus second-best score); slower, for diagnostics. */
  readonly withMargin?: boolean;
}

export const DEFAULT_MATCH_CHUNK = 4096;

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
