// Owns the inference chain of a multi-reference (MRefSR) model: the input's contrastive features once, then per
// reference, one at a time and on the reference's own grid (no padding to a common size), its features, its
// matching and its flow; then tiled restoration with every reference fused by the network's attention. Only each
// reference's VGG maps and flow are kept between the stages (its matching features are dropped after its matching).
// Progress is reported per reference.

import type { RgbImage } from '../image/rgb-image.ts';
import { toNCHW } from '../image/layout.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { matchRows } from '../matching/correspondence.ts';
import { matchCoarseToFine, EXACT_PAIR_LIMIT } from '../matching/coarse-to-fine.ts';
import { flowFromIndex, type MatchIndex } from '../matching/pre-offset.ts';
import { restoreInTiles, tileInputs } from './restore-tiled.ts';
import type { ReferenceFeatures, RefSRModel } from './refsr-model.ts';
import type { Stage, StageTimes, SuperResolveOptions } from './super-resolve.ts';

export interface MultiSuperResolveResult {
  /** [1, 3, 4h, 4w], unclamped. */
  readonly sr: Float32Tensor;
  readonly seconds: StageTimes;
  /** The matching used for each reference ('auto' resolved per reference). */
  readonly matching: ('exact' | 'fast')[];
  /** Each reference's correspondences (on its own patch grid). */
  readonly matches: MatchIndex[];
}

/**
 * One reference against the input's contrastive features (`inFeat`): its features on its own grid, its matching
 * ('auto' resolved by size) and its flow; the matching features are dropped. Progress under `label(stage)`, times
 * added to `seconds`. The restoration stages' batch preparation uses it too, so training sees what inference feeds.
 */
export async function referenceInputs(model: RefSRModel, inFeat: Float32Tensor, ref: RgbImage, opts: SuperResolveOptions, label: (stage: 'features' | 'matching') => Stage = (s) => s, seconds?: StageTimes) {
  let t0 = performance.now();
  opts.onProgress?.(label('features'), 0);
  const { contras, ...feat } = await model.referenceFeatures(toNCHW(ref), opts.signal);
  opts.onProgress?.(label('features'), 1);
  if (seconds) seconds.features += (performance.now() - t0) / 1000;
  t0 = performance.now();
  const pairs = (inFeat.shape[2]! - 2) * (inFeat.shape[3]! - 2) * (contras.shape[2]! - 2) * (contras.shape[3]! - 2);
  const mode: 'exact' | 'fast' = opts.matching === 'fast' || (opts.matching !== 'exact' && pairs > (opts.exactPairLimit ?? EXACT_PAIR_LIMIT)) ? 'fast' : 'exact';
  const matchOpts = { blockFloats: opts.matchBlockFloats, threads: model.threads, signal: opts.signal, onProgress: (f: number) => opts.onProgress?.(label('matching'), f) };
  const match = mode === 'fast' ? await matchCoarseToFine(inFeat, contras, matchOpts) : await matchRows(inFeat, contras, matchOpts);
  if (seconds) seconds.matching += (performance.now() - t0) / 1000;
  return { feat, match, mode, flow: flowFromIndex(match) };
}

/**
 * @param lr   the LR input (h x w)
 * @param up   its 4x bicubic upsampling, the input of the contrastive branch 1
 * @param refs the references (any sizes, multiples of 4), in any order
 */
export async function superResolveMulti(model: RefSRModel, lr: RgbImage, up: RgbImage, refs: readonly RgbImage[], opts: SuperResolveOptions = {}): Promise<MultiSuperResolveResult> {
  if (!model.info.mref) throw new Error(`${model.source} is not a multi-reference model`);
  const seconds: StageTimes = { features: 0, matching: 0, restoration: 0 };
  const t = refs.length;
  const label = (stage: 'features' | 'matching', r: number): Stage => (t === 1 ? stage : `${stage} ref ${r + 1}/${t}`);
  let t0 = performance.now();
  opts.onProgress?.(label('features', 0), 0);
  const inFeat = await model.inputFeatures(toNCHW(up), opts.signal);
  seconds.features += (performance.now() - t0) / 1000;

  const perRef: { feat: Omit<ReferenceFeatures, 'contras'>; flow: Float32Tensor }[] = [];
  const matching: ('exact' | 'fast')[] = [];
  const matches: MatchIndex[] = [];
  for (let r = 0; r < t; r++) {
    opts.signal?.throwIfAborted();
    const p = await referenceInputs(model, inFeat, refs[r]!, opts, (stage) => label(stage, r), seconds);
    matching.push(p.mode);
    matches.push(p.match);
    perRef.push({ feat: p.feat, flow: p.flow });
  }

  t0 = performance.now();
  const lrT = toNCHW(lr);
  const sr = await restoreInTiles(lrT, { tile: opts.tile, overlap: opts.overlap, signal: opts.signal, onProgress: (f) => opts.onProgress?.('restoration', f) }, (y, x, h, w) => {
    const tiles = perRef.map((p) => tileInputs(lrT, p.feat, p.flow, y, x, h, w));
    return model.restoreMulti({ lr: tiles[0]!.lr, refs: tiles.map((ti) => ti.levels) });
  });
  seconds.restoration = (performance.now() - t0) / 1000;
  return { sr, seconds, matching, matches };
}
