// Owns the reference-gain figures of a restoration model on fixed held-out pairs: the mean PSNR-Y gain over bicubic
// with each pair's own reference and with a shuffled one (the reference of the pair `offset` places on, cyclically),
// overall and per source (synthetic views of one photo, held-out multi-view scenes). The restoration stage's
// validation and bench/reference-gain.ts both report these, so the training curve and the bench agree. Also the
// multi-reference stage's figures on held-out groups (groupGainFigures).

import { RefSRModel } from '../pipeline/refsr-model.ts';
import { superResolve } from '../pipeline/super-resolve.ts';
import { fromNCHW } from '../image/layout.ts';
import { psnrY } from '../metrics/index.ts';
import type { GroupSample, RestorationSample } from './data/reference-pairs.ts';
import { superResolveMulti } from '../pipeline/multi-reference.ts';
import type { RgbImage } from '../image/rgb-image.ts';

export interface GainOptions {
  /** The shuffled partner of pair i is pair (i + offset) mod n; default n/2 (a multi-view pair gets a synthetic one's). */
  readonly offset?: number;
  readonly signal?: AbortSignal;
  readonly onPair?: (done: number, total: number) => void;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : NaN);

/**
 * `gain_db` (own reference), `shuffled_gain_db`, `ref_gain_db` (own minus shuffled), `psnr_y`, `bicubic_psnr_y`,
 * `samples`; with multi-view pairs also `syn_gain_db`, `syn_ref_gain_db`, `mv_gain_db`, `mv_ref_gain_db`.
 */
export async function referenceGainFigures(model: RefSRModel, synthetic: readonly RestorationSample[], multiview: readonly RestorationSample[], o: GainOptions = {}): Promise<Record<string, number>> {
  const samples = [...synthetic, ...multiview];
  const n = samples.length;
  if (n === 0) return {};
  const offset = o.offset ?? Math.max(1, n >> 1);
  const own: number[] = [];
  const shuffled: number[] = [];
  let sr = 0;
  let bicubic = 0;
  for (let i = 0; i < n; i++) {
    o.signal?.throwIfAborted();
    const s = samples[i]!;
    const base = psnrY(s.up, s.gt, 4);
    const a = psnrY(fromNCHW((await superResolve(model, s.lr, s.up, s.ref, { matching: 'exact', signal: o.signal })).sr), s.gt, 4);
    const other = samples[(i + offset) % n]!.ref;
    const b = n > 1 ? psnrY(fromNCHW((await superResolve(model, s.lr, s.up, other, { matching: 'exact', signal: o.signal })).sr), s.gt, 4) : a;
    own.push(a - base);
    shuffled.push(b - base);
    sr += a;
    bicubic += base;
    o.onPair?.(i + 1, n);
  }
  const figures: Record<string, number> = {
    psnr_y: sr / n, bicubic_psnr_y: bicubic / n, gain_db: mean(own), shuffled_gain_db: mean(shuffled), ref_gain_db: mean(own) - mean(shuffled), samples: n,
  };
  if (multiview.length) {
    const k = synthetic.length;
    Object.assign(figures, {
      syn_gain_db: mean(own.slice(0, k)), syn_ref_gain_db: mean(own.slice(0, k)) - mean(shuffled.slice(0, k)),
      mv_gain_db: mean(own.slice(k)), mv_ref_gain_db: mean(own.slice(k)) - mean(shuffled.slice(k)),
    });
  }
  return figures;
}

/**
 * The multi-reference counterpart on fixed held-out groups (a ground truth with several references): `gain_db`
 * (attention fusion of the group's own references), `shuffled_gain_db` (the references of the group `offset` places
 * on), `ref_gain_db` (own minus shuffled), `first_ref_gain_db` (the group's first reference alone, so
 * `gain_db - first_ref_gain_db` is what fusing the others adds), `samples`; per source `syn_*` / `mv_*`.
 */
export async function groupGainFigures(model: RefSRModel, synthetic: readonly GroupSample[], multiview: readonly GroupSample[], o: GainOptions = {}): Promise<Record<string, number>> {
  const groups = [...synthetic, ...multiview];
  const n = groups.length;
  if (n === 0) return {};
  const offset = o.offset ?? Math.max(1, n >> 1);
  const own: number[] = [];
  const shuffled: number[] = [];
  const first: number[] = [];
  const run = async (g: GroupSample, refs: readonly RgbImage[]) => psnrY(fromNCHW((await superResolveMulti(model, g.lr, g.up, refs, { matching: 'exact', signal: o.signal })).sr), g.gt, 4);
  for (let i = 0; i < n; i++) {
    o.signal?.throwIfAborted();
    const g = groups[i]!;
    const base = psnrY(g.up, g.gt, 4);
    own.push((await run(g, g.refs)) - base);
    shuffled.push((n > 1 ? await run(g, groups[(i + offset) % n]!.refs) : base + own[i]!) - base);
    first.push((await run(g, g.refs.slice(0, 1))) - base);
    o.onPair?.(i + 1, n);
  }
  const figures = (a: number, b: number, prefix = ''): Record<string, number> => ({
    [`${prefix}gain_db`]: mean(own.slice(a, b)), [`${prefix}shuffled_gain_db`]: mean(shuffled.slice(a, b)),
    [`${prefix}ref_gain_db`]: mean(own.slice(a, b)) - mean(shuffled.slice(a, b)), [`${prefix}first_ref_gain_db`]: mean(first.slice(a, b)),
  });
  const k = synthetic.length;
  return { ...figures(0, n), samples: n, ...(multiview.length && k ? { ...figures(0, k, 'syn_'), ...figures(k, n, 'mv_') } : {}) };
}
