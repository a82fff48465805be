// Owns a protocol evaluation run: every pair through the official test protocol, Y-channel PSNR/SSIM of refsr and
// of the bicubic baseline (the protocol's own bicubic x4 of the same LR) measured in the same run, per-image time
// (and its split over features / matching / restoration), means per CUFED5 reference level when the pairs carry
// levels, and the report (JSON, optionally CSV), written atomically.

import { basename } from 'node:path';
import { readImageFile } from '../image/decode.ts';
import { crop } from '../image/layout.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import { measure, type Metrics } from '../metrics/index.ts';
import { prepareProtocol, runProtocol } from '../pipeline/protocol.ts';
import type { RefSRModel } from '../pipeline/refsr-model.ts';
import type { StageTimes, MatchingMode } from '../pipeline/super-resolve.ts';
import { directOutput, type OutputSink } from '../io/atomic-write.ts';
import { centreCrop } from './centre-crop.ts';
import { DatasetError, type EvalPair, type Protocol } from './datasets.ts';

export interface ImageResult {
  readonly name: string;
  /** Reference file name (`self` for a self-upsampled reference). */
  readonly ref: string;
  readonly level?: number;
  readonly size: [number, number];
  readonly refsr: Metrics;
  readonly bicubic: Metrics;
  /** Wall time of the refsr run on this image (features + matching + restoration). */
  readonly seconds: number;
  readonly stages: StageTimes;
}

export interface MeanResult {
  readonly images: number;
  readonly refsr: Metrics;
  readonly bicubic: Metrics;
  readonly seconds: number;
}

export interface EvalSummary {
  readonly protocol: Protocol;
  readonly dataset: string;
  readonly model: string;
  readonly images: number;
  readonly mean: { refsr: Metrics; bicubic: Metrics; seconds: number };
  /** Means per CUFED5 reference level, when the pairs carry levels. */
  readonly byLevel?: (MeanResult & { level: number })[];
  readonly options?: Record<string, unknown>;
}

export interface EvalReport extends EvalSummary {
  readonly perImage: ImageResult[];
}

/** The images of one evaluated pair, for thumbnails and pictures (all cropped to the ground truth's size except `ref`). */
export interface PairImages {
  readonly gt: RgbImage;
  readonly bicubic: RgbImage;
  readonly sr: RgbImage;
  readonly ref: RgbImage;
}

export interface EvalOptions {
  readonly signal?: AbortSignal;
  readonly onImage?: (done: number, total: number, r: ImageResult) => void;
  readonly onProgress?: (fraction: number) => void;
  /** Called with each pair's images (e.g. to keep thumbnails for an HTML report). */
  readonly onOutputs?: (pair: EvalPair, result: ImageResult, images: PairImages) => void | Promise<void>;
  /** Replace each pair's reference with another pair's (robustness: how much does the reference matter). */
  readonly shuffleRefs?: boolean;
  readonly tile?: number;
  /** Correspondence search (default exact, the paper protocol). */
  readonly matching?: MatchingMode;
  /** Smoke runs only (not the paper protocol): centre-crop input and reference to at most this many pixels a side. */
  readonly crop?: number;
}

export interface EvalMeta {
  readonly protocol: Protocol;
  readonly dataset: string;
  readonly model: string;
  readonly options?: Record<string, unknown>;
}

/** The first pair after `i` (cyclically) whose image is another one (CUFED5 --all-levels lists each image 5 times). */
function shuffledPartner(pairs: readonly EvalPair[], i: number): EvalPair {
  for (let k = 1; k < pairs.length; k++) {
    const q = pairs[(i + k) % pairs.length]!;
    if (q.hr !== pairs[i]!.hr) return q;
  }
  throw new DatasetError('the shuffleRefs option found no other image');
}

export async function evaluate(model: RefSRModel, pairs: readonly EvalPair[], meta: EvalMeta, opts: EvalOptions = {}): Promise<EvalReport> {
  const perImage: ImageResult[] = [];
  // A shuffled run gives each image the reference of the next pair showing another image; with a single image
  // there is none, and silently keeping its own reference would report the right reference as an irrelevant one.
  if (opts.shuffleRefs && new Set(pairs.map((p) => p.hr)).size < 2) {
    throw new DatasetError(`the shuffleRefs option needs at least two different images to swap references between; this run has ${pairs.length === 0 ? 'none' : `only ${pairs[0]!.name}`}`);
  }
  for (let i = 0; i < pairs.length; i++) {
    opts.signal?.throwIfAborted();
    const p = pairs[i]!;
    const other = opts.shuffleRefs ? shuffledPartner(pairs, i) : p;
    const load = async (path: string) => { const img = await readImageFile(path); return opts.crop ? centreCrop(img, opts.crop) : img; };
    const hr = await load(p.hr);
    const self = other.refSource === 'self-upsampled';
    const ref = self ? selfReference(other === p ? hr : await load(other.hr)) : await load(other.ref);
    const t0 = performance.now();
    const r = await runProtocol(model, hr, ref, {
      signal: opts.signal, tile: opts.tile, matching: opts.matching ?? 'exact',
      onProgress: (stage, f) => opts.onProgress?.((i + stageWeight(stage, f)) / pairs.length),
    });
    const seconds = (performance.now() - t0) / 1000;
    const bicubic = crop(r.inputs.up, 0, 0, r.inputs.gt.width, r.inputs.gt.height);
    const result: ImageResult = {
      name: p.name, ref: self ? 'self' : basename(other.ref), ...(p.level !== undefined ? { level: p.level } : {}),
      size: [r.inputs.gt.width, r.inputs.gt.height], refsr: measure(r.srImage, r.inputs.gt), bicubic: measure(bicubic, r.inputs.gt),
      seconds, stages: r.seconds,
    };
    perImage.push(result);
    await opts.onOutputs?.(p, result, { gt: r.inputs.gt, bicubic, sr: r.srImage, ref });
    opts.onImage?.(i + 1, pairs.length, result);
  }
  return summarize(perImage, meta);
}

/** Urban100 convention: the reference is the image's own LR upsampled x4 with bicubic (what the protocol feeds the matcher). */
export function selfReference(hr: RgbImage): RgbImage {
  return prepareProtocol(hr, hr).up;
}

export function summarize(perImage: ImageResult[], meta: EvalMeta): EvalReport {
  const levels = [...new Set(perImage.map((r) => r.level).filter((l): l is number => l !== undefined))].sort((a, b) => a - b);
  const byLevel = levels.length > 0 ? levels.map((level) => ({ level, ...meanOf(perImage.filter((r) => r.level === level)) })) : undefined;
  const all = meanOf(perImage);
  return {
    protocol: meta.protocol, dataset: meta.dataset, model: meta.model, images: perImage.length,
    mean: { refsr: all.refsr, bicubic: all.bicubic, seconds: all.seconds },
    ...(byLevel ? { byLevel } : {}), ...(meta.options ? { options: meta.options } : {}), perImage,
  };
}

function stageWeight(stage: string, f: number): number {
  return stage === 'features' ? 0.05 * f : stage === 'matching' ? 0.05 + 0.35 * f : 0.4 + 0.6 * f;
}

function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length); }

function meanMetrics(ms: Metrics[]): Metrics {
  return { psnrRgb: mean(ms.map((m) => m.psnrRgb)), psnrY: mean(ms.map((m) => m.psnrY)), ssimY: mean(ms.map((m) => m.ssimY)) };
}

function meanOf(rs: ImageResult[]): MeanResult {
  return { images: rs.length, refsr: meanMetrics(rs.map((r) => r.refsr)), bicubic: meanMetrics(rs.map((r) => r.bicubic)), seconds: mean(rs.map((r) => r.seconds)) };
}

export const CSV_HEADER = 'name,width,height,psnr_y,ssim_y,psnr_rgb,bicubic_psnr_y,bicubic_ssim_y,bicubic_psnr_rgb,seconds,ref,level,features_s,matching_s,restoration_s';

function csvField(s: string): string { return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; }

export function reportCsv(report: EvalReport): string {
  const rows = [CSV_HEADER];
  for (const r of report.perImage) {
    rows.push([
      csvField(r.name), r.size[0], r.size[1], r.refsr.psnrY.toFixed(4), r.refsr.ssimY.toFixed(5), r.refsr.psnrRgb.toFixed(4),
      r.bicubic.psnrY.toFixed(4), r.bicubic.ssimY.toFixed(5), r.bicubic.psnrRgb.toFixed(4), r.seconds.toFixed(3),
      csvField(r.ref), r.level ?? '', r.stages.features.toFixed(3), r.stages.matching.toFixed(3), r.stages.restoration.toFixed(3),
    ].join(','));
  }
  return `${rows.join('\n')}\n`;
}

/** Writes the JSON report (when `jsonPath` is given) and the per-image CSV (when `csvPath` is given). */
export async function writeReport(report: EvalReport, jsonPath: string | undefined, csvPath?: string, out: OutputSink = directOutput): Promise<void> {
  if (jsonPath) await out.write(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  if (csvPath) await out.write(csvPath, reportCsv(report));
}
