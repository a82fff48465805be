// Owns a protocol evaluation run: every pair through the official test protocol, Y-channel PSNR/SSIM of refsr and
// of the bicubic baseline (the protocol's own bicubic x4 of the same LR) measured in the same run, per-image time,
// and the report (JSON, optionally CSV), written atomically.

import { readImageFile } from '../image/decode.ts';
import { crop } from '../image/layout.ts';
import { measure, type Metrics } from '../metrics/index.ts';
import { runProtocol } from '../pipeline/protocol.ts';
import type { RefSRModel } from '../pipeline/refsr-model.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { EvalPair, Protocol } from './datasets.ts';

export interface ImageResult {
  readonly name: string;
  readonly size: [number, number];
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
}

export interface EvalReport extends EvalSummary {
  readonly perImage: ImageResult[];
}

export interface EvalOptions {
  readonly signal?: AbortSignal;
  readonly onImage?: (done: number, total: number, r: ImageResult) => void;
  readonly onProgress?: (fraction: number) => void;
  /** Replace each pair's reference with another pair's (robustness: how much does the reference matter). */
  readonly shuffleRefs?: boolean;
}

export async function evaluate(model: RefSRModel, pairs: readonly EvalPair[], meta: { protocol: Protocol; dataset: string; model: string }, opts: EvalOptions = {}): Promise<EvalReport> {
  const perImage: ImageResult[] = [];
  for (let i = 0; i < pairs.length; i++) {
    opts.signal?.throwIfAborted();
    const p = pairs[i]!;
    const refPath = opts.shuffleRefs && pairs.length > 1 ? pairs[(i + 1) % pairs.length]!.ref : p.ref;
    const hr = await readImageFile(p.hr);
    const ref = await readImageFile(refPath);
    const t0 = performance.now();
    const r = await runProtocol(model, hr, ref, {
      signal: opts.signal,
      onProgress: (stage, f) => opts.onProgress?.((i + stageWeight(stage, f)) / pairs.length),
    });
    const seconds = (performance.now() - t0) / 1000;
    const bicubic = crop(r.inputs.up, 0, 0, r.inputs.gt.width, r.inputs.gt.height);
    const result: ImageResult = { name: p.name, size: [r.inputs.gt.width, r.inputs.gt.height], refsr: measure(r.srImage, r.inputs.gt), bicubic: measure(bicubic, r.inputs.gt), seconds };
    perImage.push(result);
    opts.onImage?.(i + 1, pairs.length, result);
  }
  return { ...meta, images: perImage.length, mean: { refsr: meanMetrics(perImage.map((r) => r.refsr)), bicubic: meanMetrics(perImage.map((r) => r.bicubic)), seconds: mean(perImage.map((r) => r.seconds)) }, perImage };
}

function stageWeight(stage: string, f: number): number {
  return stage === 'features' ? 0.05 * f : stage === 'matching' ? 0.05 + 0.35 * f : 0.4 + 0.6 * f;
}

function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length); }

function meanMetrics(ms: Metrics[]): Metrics {
  return { psnrRgb: mean(ms.map((m) => m.psnrRgb)), psnrY: mean(ms.map((m) => m.psnrY)), ssimY: mean(ms.map((m) => m.ssimY)) };
}

export async function writeReport(report: EvalReport, jsonPath: string, csvPath?: string): Promise<void> {
  await writeFileAtomic(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  if (csvPath) {
    const rows = ['name,width,height,psnr_y,ssim_y,psnr_rgb,bicubic_psnr_y,bicubic_ssim_y,bicubic_psnr_rgb,seconds'];
    for (const r of report.perImage) {
      rows.push([r.name, r.size[0], r.size[1], r.refsr.psnrY.toFixed(4), r.refsr.ssimY.toFixed(5), r.refsr.psnrRgb.toFixed(4), r.bicubic.psnrY.toFixed(4), r.bicubic.ssimY.toFixed(5), r.bicubic.psnrRgb.toFixed(4), r.seconds.toFixed(3)].join(','));
    }
    await writeFileAtomic(csvPath, `${rows.join('\n')}\n`);
  }
}
