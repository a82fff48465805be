// Owns the C2-Matching inference chain on prepared images: contrastive features of the bicubic-upsampled input and
// of the reference, exact correspondence matching, flow, reference VGG features, tiled restoration. Reports
// per-stage timings and progress; cancellable between blocks. A multi-reference model given one reference runs
// through multi-reference.ts with t = 1.

import type { RgbImage } from '../image/rgb-image.ts';
import { toNCHW } from '../image/layout.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { matchRows } from '../matching/correspondence.ts';
import { matchCoarseToFine, EXACT_PAIR_LIMIT } from '../matching/coarse-to-fine.ts';
import { flowFromIndex, type MatchIndex } from '../matching/pre-offset.ts';
import { matchingView } from '../matching/reference-view.ts';
import { restoreTiled } from './restore-tiled.ts';
import { superResolveMulti } from './multi-reference.ts';
import { stallPoint } from '../debug/stall-point.ts';
import type { ReferenceFeatures, RefSRModel } from './refsr-model.ts';

/** A stage of the work; a multi-reference model reports features and matching per reference ("matching ref 2/3"). */
export type Stage = 'features' | 'matching' | 'restoration' | `${'features' | 'matching'} ref ${number}/${number}`;
export type MatchingMode = 'auto' | 'exact' | 'fast';

export interface SuperResolveOptions {
  readonly tile?: number;
  readonly overlap?: number;
  /** Float budget of one matching block (see MatchOptions.blockFloats); memory, never the result, depends on it. */
  readonly matchBlockFloats?: number;
  /** Above this many input x reference patch pairs `auto` matching switches to the fast mode (default EXACT_PAIR_LIMIT). */
  readonly exactPairLimit?: number;
  /**
   * Correspondence search: 'exact' (the reference's full search), 'fast' (coarse-to-fine, see coarse-to-fine.ts),
   * or 'auto' (default): exact up to EXACT_PAIR_LIMIT input x reference patch pairs, fast beyond.
   */
  readonly matching?: MatchingMode;
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: Stage, fraction: number) => void;
}

export interface StageTimes { features: number; matching: number; restoration: number }

export interface SuperResolveResult {
  /** [1, 3, 4h, 4w], unclamped. */
  readonly sr: Float32Tensor;
  readonly match: MatchIndex;
  readonly seconds: StageTimes;
  /** The matching actually used ('auto' resolved). */
  readonly matching: 'exact' | 'fast';
}

/**
 * The matching features of the input and every reference feature map: branch 1 on the upsampled input; the
 * reference encoder on the sharp reference; branch 2 on the view of the reference the model matches (the sharp one
 * for official models, see matching/reference-view.ts).
 */
export async function correspondenceFeatures(model: RefSRModel, up: RgbImage, ref: RgbImage, signal?: AbortSignal): Promise<{ inFeat: Float32Tensor; refFeat: ReferenceFeatures }> {
  const inFeat = await model.inputFeatures(toNCHW(up), signal);
  signal?.throwIfAborted();
  const view = model.info.matchReference;
  const refFeat = await model.referenceFeatures(toNCHW(ref), signal, view === 'sharp' ? undefined : toNCHW(matchingView(ref, view)));
  return { inFeat, refFeat };
}

/**
 * @param lr  the LR input (h x w)
 * @param up  its 4x bicubic upsampling (4h x 4w), the input of the contrastive branch 1
 * @param ref the reference (any size, multiple of 4)
 */
export async function superResolve(model: RefSRModel, lr: RgbImage, up: RgbImage, ref: RgbImage, opts: SuperResolveOptions = {}): Promise<SuperResolveResult> {
  if (model.info.mref) {
    // A multi-reference model given one reference (eval protocols, robustness): its network with t = 1.
    const r = await superResolveMulti(model, lr, up, [ref], opts);
    return { sr: r.sr, match: r.matches[0]!, seconds: r.seconds, matching: r.matching[0]! };
  }
  const seconds: StageTimes = { features: 0, matching: 0, restoration: 0 };
  let t0 = performance.now();
  opts.onProgress?.('features', 0);
  const { inFeat, refFeat } = await correspondenceFeatures(model, up, ref, opts.signal);
  opts.onProgress?.('features', 1);
  seconds.features = (performance.now() - t0) / 1000;

  await stallPoint('matching', opts.signal);
  t0 = performance.now();
  const pairs = (inFeat.shape[2]! - 2) * (inFeat.shape[3]! - 2) * (refFeat.contras.shape[2]! - 2) * (refFeat.contras.shape[3]! - 2);
  const mode = opts.matching === 'fast' || (opts.matching !== 'exact' && pairs > (opts.exactPairLimit ?? EXACT_PAIR_LIMIT)) ? 'fast' : 'exact';
  const matchOpts = { blockFloats: opts.matchBlockFloats, threads: model.threads, signal: opts.signal, onProgress: (f: number) => opts.onProgress?.('matching', f) };
  const match = mode === 'fast' ? await matchCoarseToFine(inFeat, refFeat.contras, matchOpts) : await matchRows(inFeat, refFeat.contras, matchOpts);
  seconds.matching = (performance.now() - t0) / 1000;

  t0 = performance.now();
  const sr = await restoreTiled(model, toNCHW(lr), refFeat, flowFromIndex(match), {
    tile: opts.tile, overlap: opts.overlap, signal: opts.signal,
    onProgress: (f) => opts.onProgress?.('restoration', f),
  });
  seconds.restoration = (performance.now() - t0) / 1000;
  return { sr, match, seconds, matching: mode };
}
