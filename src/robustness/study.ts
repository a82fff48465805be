// Owns the robustness study (C2-Matching section 5.4 / Fig. 6): every image of a folder serves as its own reference
// after a controlled transformation (identity; scale small 0.8-1.0 / medium 0.6-0.8 / large 0.4-0.6; rotation small
// 0-15 / medium 15-45 / large 45-90 degrees, each drawn uniformly from a seeded generator, rotation sign random).
// Because the transformation is known, so is every input position's true match. Per group it reports
//  - the AEE (average end-point error, in LR pixels = feature cells) of refsr's correspondences (the model's
//    contrastive extractor, exactly as the SR run matched them), pooled over the positions whose true match lies
//    on the reference's patch grid, and the fraction within 1 cell;
//  - the same for matching on plain VGG19 relu3_1 features (SRNTT-style baseline; the model bundle's VGG or another
//    VGG19 file): `vgg` matches the input's features against the reference's own, `vggDegraded` against the
//    reference degraded like the input (bicubic /4 then x4, as SRNTT/TTSR do);
//  - the Y-PSNR of the super-resolved result and of bicubic upsampling.
// Images are centre-cropped to `maxSize` (default 192 px) so the study stays small; AEE uses the same cells at any size.

import { basename } from 'node:path';
import type { RgbImage } from '../image/rgb-image.ts';
import { fromNCHW, modCrop, toNCHW } from '../image/layout.ts';
import { centreCrop } from '../eval/centre-crop.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { measure } from '../metrics/index.ts';
import { matchExact } from '../matching/correspondence.ts';
import type { MatchIndex } from '../matching/pre-offset.ts';
import { superResolve } from '../pipeline/super-resolve.ts';
import type { RefSRModel } from '../pipeline/refsr-model.ts';
import { Rng } from '../random/rng.ts';
import type { FeatureExtractor } from '../eval/features.ts';
import { DatasetError } from '../eval/datasets.ts';
import { identityTransform, rotationTransform, scaleTransform, type TransformKind, type Transformed } from './transforms.ts';

export type Level = 'none' | 'small' | 'medium' | 'large';

export interface GroupSpec {
  readonly id: string;
  readonly kind: TransformKind;
  readonly level: Level;
  /** Scale factors or angles in degrees. */
  readonly range: readonly [number, number];
}

export const GROUPS: readonly GroupSpec[] = [
  { id: 'identity', kind: 'identity', level: 'none', range: [0, 0] },
  { id: 'scale-small', kind: 'scale', level: 'small', range: [0.8, 1.0] },
  { id: 'scale-medium', kind: 'scale', level: 'medium', range: [0.6, 0.8] },
  { id: 'scale-large', kind: 'scale', level: 'large', range: [0.4, 0.6] },
  { id: 'rotation-small', kind: 'rotation', level: 'small', range: [0, 15] },
  { id: 'rotation-medium', kind: 'rotation', level: 'medium', range: [15, 45] },
  { id: 'rotation-large', kind: 'rotation', level: 'large', range: [45, 90] },
];

export const DEFAULT_MAX_SIZE = 192;
/** Smallest accepted crop side: the large-scale reference (x0.4) must still give a 3x3 feature grid. */
export const MIN_IMAGE_SIDE = 32;

export interface EpeStats {
  /** Sum of end-point errors (cells) and number of evaluated positions. */
  readonly sum: number;
  readonly count: number;
  /** Positions whose error is at most 1 cell. */
  readonly within1: number;
}

const cellCentre = (c: number) => 4 * c + 1.5;

/**
 * End-point errors of a match against the true correspondence `map` (input pixel -> reference pixel). Input patch
 * (y, x) is centred on cell (y + 1, x + 1) whose centre is image pixel 4 (x + 1) + 1.5; its true reference cell is
 * (map(...) - 1.5) / 4; it counts when that cell lies on the reference's patch-centre grid [1, refW - 2] x
 * [1, refH - 2] (within half a cell).
 */
export function endPointErrors(m: MatchIndex, map: (x: number, y: number) => [number, number]): EpeStats {
  const pw = m.w - 2;
  const rpw = m.refW - 2;
  let sum = 0;
  let count = 0;
  let within1 = 0;
  for (let y = 0; y < m.h - 2; y++) {
    for (let x = 0; x < pw; x++) {
      const [tx, ty] = map(cellCentre(x + 1), cellCentre(y + 1));
      const cx = (tx - 1.5) / 4;
      const cy = (ty - 1.5) / 4;
      if (cx < 0.5 || cy < 0.5 || cx > m.refW - 1.5 || cy > m.refH - 1.5) continue;
      const p = m.index[y * pw + x]!;
      const e = Math.hypot((p % rpw) + 1 - cx, Math.floor(p / rpw) + 1 - cy);
      sum += e;
      count++;
      if (e <= 1) within1++;
    }
  }
  return { sum, count, within1 };
}

export type Matcher = 'refsr' | 'vgg' | 'vggDegraded';

export interface SampleResult {
  readonly image: string;
  readonly group: string;
  readonly param: number;
  readonly refSize: [number, number];
  readonly epe: Partial<Record<Matcher, EpeStats>>;
  readonly psnrY: { refsr: number; bicubic: number };
}

export interface GroupResult {
  readonly group: string;
  readonly kind: TransformKind;
  readonly level: Level;
  readonly range: readonly [number, number];
  readonly samples: number;
  /** Pooled AEE in LR pixels (feature cells) per matcher. */
  readonly aee: Partial<Record<Matcher, number>>;
  /** Fraction of positions with end-point error <= 1 cell. */
  readonly pck1: Partial<Record<Matcher, number>>;
  readonly positions: number;
  readonly psnrY: { refsr: number; bicubic: number };
}

export interface RobustnessReport {
  readonly dataset: string;
  readonly model: string;
  readonly vggBaseline: string | null;
  readonly seed: number;
  readonly maxSize: number;
  readonly images: string[];
  readonly skipped: string[];
  readonly groups: GroupResult[];
  readonly samples: SampleResult[];
  readonly seconds: number;
}

export interface RobustnessOptions {
  readonly seed?: number;
  readonly maxSize?: number;
  readonly groups?: readonly GroupSpec[];
  /** Baseline VGG19 relu3_1 extractor; omitted: no baseline columns. */
  readonly vgg?: FeatureExtractor;
  readonly tile?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  readonly onSample?: (s: SampleResult, done: number, total: number) => void;
  readonly onNote?: (message: string) => void;
}

/** Draws each group's parameter for one image: uniform in the range; rotation sign random. Always 2 draws per group. */
function drawParam(g: GroupSpec, rng: Rng): number {
  const u = rng.uniform();
  const sign = rng.uniform() < 0.5 ? -1 : 1;
  const v = g.range[0] + (g.range[1] - g.range[0]) * u;
  return g.kind === 'rotation' ? sign * v : g.kind === 'scale' ? v : 0;
}

export function makeReference(g: GroupSpec, img: RgbImage, param: number): Transformed {
  return g.kind === 'scale' ? scaleTransform(img, param) : g.kind === 'rotation' ? rotationTransform(img, param) : identityTransform(img);
}

export async function runRobustness(model: RefSRModel, images: readonly { name: string; image: RgbImage }[], meta: { dataset: string; model: string; vggBaseline: string | null }, opts: RobustnessOptions = {}): Promise<RobustnessReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? 1;
  const maxSize = opts.maxSize ?? DEFAULT_MAX_SIZE;
  const groups = opts.groups ?? GROUPS;
  const rng = new Rng(seed);
  const samples: SampleResult[] = [];
  const used: string[] = [];
  const skipped: string[] = [];
  const total = images.length * groups.length;
  let done = 0;
  for (const { name, image } of images) {
    const params = groups.map((g) => drawParam(g, rng));
    const gt = centreCrop(image, maxSize);
    if (gt.width < MIN_IMAGE_SIDE || gt.height < MIN_IMAGE_SIDE) {
      skipped.push(name);
      opts.onNote?.(`skipped ${name}: ${image.width}x${image.height} is smaller than ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE}`);
      done += groups.length;
      continue;
    }
    used.push(name);
    const lr = pilResizeBicubic(gt, gt.width / 4, gt.height / 4);
    const up = pilResizeBicubic(lr, gt.width, gt.height);
    const bicubic = measure(up, gt).psnrY;
    const vggUp = opts.vgg ? await opts.vgg.vggRelu3(toNCHW(up)) : undefined;
    for (const [gi, g] of groups.entries()) {
      opts.signal?.throwIfAborted();
      const t = makeReference(g, gt, params[gi]!);
      const ref = modCrop(t.image, 4);
      if (ref.width < 12 || ref.height < 12) {
        opts.onNote?.(`skipped ${name} ${g.id}: reference ${ref.width}x${ref.height} is too small to match`);
        done++;
        continue;
      }
      const r = await superResolve(model, lr, up, ref, {
        signal: opts.signal, tile: opts.tile,
        onProgress: (stage, f) => opts.onProgress?.((done + (stage === 'features' ? 0.05 * f : stage === 'matching' ? 0.05 + 0.25 * f : 0.3 + 0.6 * f)) / total),
      });
      const epe: Partial<Record<Matcher, EpeStats>> = { refsr: endPointErrors(r.match, t.map) };
      if (opts.vgg && vggUp) {
        const plain = await matchExact(vggUp, await opts.vgg.vggRelu3(toNCHW(ref)), { signal: opts.signal });
        epe.vgg = endPointErrors(plain, t.map);
        const degraded = pilResizeBicubic(pilResizeBicubic(ref, ref.width / 4, ref.height / 4), ref.width, ref.height);
        const m2 = await matchExact(vggUp, await opts.vgg.vggRelu3(toNCHW(degraded)), { signal: opts.signal });
        epe.vggDegraded = endPointErrors(m2, t.map);
      }
      const s: SampleResult = { image: name, group: g.id, param: t.param, refSize: [ref.width, ref.height], epe, psnrY: { refsr: measure(fromNCHW(r.sr), gt).psnrY, bicubic } };
      samples.push(s);
      done++;
      opts.onSample?.(s, done, total);
      opts.onProgress?.(done / total);
      // Every reference shape builds its own graphs: release them so memory stays flat over the study.
      await model.release();
      await opts.vgg?.release();
    }
  }
  if (used.length === 0) throw new DatasetError(`${meta.dataset}: no image is at least ${MIN_IMAGE_SIDE}x${MIN_IMAGE_SIDE} px (${skipped.length} skipped)`);
  return { ...meta, seed, maxSize, images: used, skipped, groups: groups.map((g) => summarizeGroup(g, samples.filter((s) => s.group === g.id))), samples, seconds: (performance.now() - t0) / 1000 };
}

function summarizeGroup(g: GroupSpec, ss: SampleResult[]): GroupResult {
  const aee: Partial<Record<Matcher, number>> = {};
  const pck1: Partial<Record<Matcher, number>> = {};
  let positions = 0;
  for (const m of ['refsr', 'vgg', 'vggDegraded'] as const) {
    const st = ss.map((s) => s.epe[m]).filter((e): e is EpeStats => e !== undefined);
    if (st.length === 0) continue;
    const count = st.reduce((a, e) => a + e.count, 0);
    aee[m] = count ? st.reduce((a, e) => a + e.sum, 0) / count : NaN;
    pck1[m] = count ? st.reduce((a, e) => a + e.within1, 0) / count : NaN;
    if (m === 'refsr') positions = count;
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    group: g.id, kind: g.kind, level: g.level, range: g.range, samples: ss.length, aee, pck1, positions,
    psnrY: { refsr: mean(ss.map((s) => s.psnrY.refsr)), bicubic: mean(ss.map((s) => s.psnrY.bicubic)) },
  };
}

export function imageName(path: string): string { return basename(path).replace(/\.[^.]+$/, ''); }
