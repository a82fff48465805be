// Owns a groups-protocol evaluation run (an input with N references per item, eval/groups.ts): per item, Y-channel
// PSNR/SSIM against the ground truth of
//   - bicubic (the protocol's own bicubic x4 of the LR),
//   - each reference alone,
//   - the canvas packing of all references (the single-reference path of `upscale`),
//   - attention fusion of all references (only with a multi-reference model),
// with per-item and mean figures (plus the mean of the best single reference per item, an oracle) and the report
// (JSON, optionally CSV), written atomically.
// Preparation: the ground truth is mod-cropped to 4, LR = Pillow bicubic /4, the references go in at their own sizes
// (as `upscale` takes them: mod-cropped, within the reference pixel budget). The cufed5 layout follows the official
// MRefSR test loader instead: input and the 5 references zero-padded (bottom/right) to 500x500, LR from the padded
// input, the result cropped back.

import { basename } from 'node:path';
import { readImageFile } from '../image/decode.ts';
import { crop, fromNCHW, modCrop, padBottomRight } from '../image/layout.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { measure, type Metrics } from '../metrics/index.ts';
import { superResolve, type MatchingMode } from '../pipeline/super-resolve.ts';
import { superResolveMulti } from '../pipeline/multi-reference.ts';
import { buildReferenceCanvas, prepareReferences, DEFAULT_REF_MAX_PIXELS } from '../pipeline/reference-canvas.ts';
import type { RefSRModel } from '../pipeline/refsr-model.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { directOutput, type OutputSink } from '../io/atomic-write.ts';
import { DatasetError } from './datasets.ts';
import type { GroupItem, GroupLayout } from './groups.ts';

/** The official MRefSR CUFED5 loader pads input and references to this size. */
export const CUFED5_GROUP_SIZE = 500;

export interface GroupItemResult {
  readonly name: string;
  /** Reference file names, in the order of `single`. */
  readonly refs: string[];
  readonly size: [number, number];
  readonly bicubic: Metrics;
  readonly single: Metrics[];
  /** Index into `single` of the best reference (PSNR-Y). */
  readonly bestSingle: number;
  /** All references packed into one canvas (absent with one reference: it equals `single[0]`). */
  readonly canvas?: Metrics;
  /** All references fused by attention (multi-reference models only). */
  readonly attention?: Metrics;
  readonly seconds: number;
}

export interface GroupMeans {
  readonly bicubic: Metrics;
  /** Mean over items of the mean over their references. */
  readonly singleMean: Metrics;
  /** Mean over items of the best reference (chosen per item by PSNR-Y with the ground truth: an oracle). */
  readonly singleBest: Metrics;
  /** Over the items with a canvas (or their single reference where there is only one). */
  readonly canvas: Metrics;
  readonly attention?: Metrics;
}

export interface GroupsReport {
  readonly protocol: 'groups';
  readonly layout: GroupLayout;
  readonly dataset: string;
  readonly model: string;
  /** `attention` when the model is multi-reference. */
  readonly fusion: 'attention' | 'none';
  readonly items: number;
  readonly references: number;
  readonly mean: GroupMeans;
  readonly seconds: number;
  readonly options?: Record<string, unknown>;
  readonly perItem: GroupItemResult[];
}

export interface GroupsOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  readonly onItem?: (done: number, total: number, r: GroupItemResult) => void;
  /** Correspondence search (default exact, as the paper protocols). */
  readonly matching?: MatchingMode;
  readonly tile?: number;
  /** Reference pixel budget (items / scenes layouts), as `upscale --ref-max-pixels`. */
  readonly refMaxPixels?: number;
}

/** One item ready to run: mod-cropped ground truth, LR, its bicubic x4, the references and their canvas. */
export interface PreparedGroup { gt: RgbImage; lr: RgbImage; up: RgbImage; refs: RgbImage[]; canvas: RgbImage }

export function prepareGroup(hr: RgbImage, refs: { image: RgbImage; name: string }[], layout: GroupLayout, refMaxPixels: number, itemName: string): PreparedGroup {
  const gt = modCrop(hr, 4);
  if (layout === 'cufed5') {
    const S = CUFED5_GROUP_SIZE;
    for (const r of [{ image: gt, name: `${itemName} input` }, ...refs]) {
      if (r.image.width > S || r.image.height > S) throw new DatasetError(`${r.name} is ${r.image.width}x${r.image.height}; the CUFED5 groups layout pads to ${S}x${S} as the official loader does, so no image may exceed it (use --layout items)`);
    }
    const lr = pilResizeBicubic(padBottomRight(gt, S, S), S / 4, S / 4);
    const padded = refs.map((r) => padBottomRight(r.image, S, S));
    return { gt, lr, up: pilResizeBicubic(lr, S, S), refs: padded, canvas: buildReferenceCanvas(padded.map((image, i) => ({ image, name: refs[i]!.name })), Infinity).image };
  }
  const lr = pilResizeBicubic(gt, gt.width / 4, gt.height / 4);
  return { gt, lr, up: pilResizeBicubic(lr, gt.width, gt.height), refs: prepareReferences(refs, refMaxPixels).images, canvas: buildReferenceCanvas(refs, refMaxPixels).image };
}

export async function evaluateGroups(model: RefSRModel, items: readonly GroupItem[], meta: { layout: GroupLayout; dataset: string; model: string; options?: Record<string, unknown> }, opts: GroupsOptions = {}): Promise<GroupsReport> {
  const perItem: GroupItemResult[] = [];
  const fusion = model.info.mref ? 'attention' : 'none';
  const sr = { matching: opts.matching ?? 'exact', tile: opts.tile, signal: opts.signal } as const;
  for (let i = 0; i < items.length; i++) {
    opts.signal?.throwIfAborted();
    const item = items[i]!;
    const t0 = performance.now();
    const hr = await readImageFile(item.hr);
    const refs = [];
    for (const f of item.refs) refs.push({ image: await readImageFile(f), name: f });
    const p = prepareGroup(hr, refs, meta.layout, opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS, item.name);
    const score = (t: Float32Tensor) => measure(crop(fromNCHW(t), 0, 0, p.gt.width, p.gt.height), p.gt);
    const runs = p.refs.length + (p.refs.length > 1 ? 1 : 0) + (fusion === 'attention' && p.refs.length > 1 ? 1 : 0);
    let done = 0;
    const step = () => { done++; opts.onProgress?.((i + done / runs) / items.length); };
    const single: Metrics[] = [];
    for (const ref of p.refs) {
      single.push(score((await superResolve(model, p.lr, p.up, ref, sr)).sr));
      step();
    }
    let canvas: Metrics | undefined;
    let attention: Metrics | undefined;
    if (p.refs.length > 1) {
      canvas = score((await superResolve(model, p.lr, p.up, p.canvas, sr)).sr);
      step();
      if (fusion === 'attention') {
        attention = score((await superResolveMulti(model, p.lr, p.up, p.refs, sr)).sr);
        step();
      }
    } else if (fusion === 'attention') {
      attention = single[0];
    }
    const bestSingle = single.reduce((b, m, k) => (m.psnrY > single[b]!.psnrY ? k : b), 0);
    const result: GroupItemResult = {
      name: item.name, refs: item.refs.map((f) => basename(f)), size: [p.gt.width, p.gt.height],
      bicubic: measure(crop(p.up, 0, 0, p.gt.width, p.gt.height), p.gt), single, bestSingle,
      ...(canvas ? { canvas } : {}), ...(attention ? { attention } : {}), seconds: (performance.now() - t0) / 1000,
    };
    perItem.push(result);
    opts.onItem?.(i + 1, items.length, result);
  }
  return summarizeGroups(perItem, { ...meta, fusion });
}

function mean(xs: number[]): number { return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length); }

function meanMetrics(ms: Metrics[]): Metrics {
  return { psnrRgb: mean(ms.map((m) => m.psnrRgb)), psnrY: mean(ms.map((m) => m.psnrY)), ssimY: mean(ms.map((m) => m.ssimY)) };
}

export function summarizeGroups(perItem: GroupItemResult[], meta: { layout: GroupLayout; dataset: string; model: string; fusion: 'attention' | 'none'; options?: Record<string, unknown> }): GroupsReport {
  const attention = perItem.every((r) => r.attention) && perItem.length > 0 ? meanMetrics(perItem.map((r) => r.attention!)) : undefined;
  return {
    protocol: 'groups', layout: meta.layout, dataset: meta.dataset, model: meta.model, fusion: meta.fusion,
    items: perItem.length, references: perItem.reduce((n, r) => n + r.single.length, 0),
    mean: {
      bicubic: meanMetrics(perItem.map((r) => r.bicubic)),
      singleMean: meanMetrics(perItem.map((r) => meanMetrics(r.single))),
      singleBest: meanMetrics(perItem.map((r) => r.single[r.bestSingle]!)),
      canvas: meanMetrics(perItem.map((r) => r.canvas ?? r.single[0]!)),
      ...(attention ? { attention } : {}),
    },
    seconds: mean(perItem.map((r) => r.seconds)),
    ...(meta.options ? { options: meta.options } : {}), perItem,
  };
}

export const GROUPS_CSV_HEADER = 'name,method,ref,psnr_y,ssim_y,psnr_rgb';

function csvField(s: string): string { return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; }

/** One row per item and method (`single` once per reference). */
export function groupsCsv(report: GroupsReport): string {
  const rows = [GROUPS_CSV_HEADER];
  const row = (name: string, method: string, ref: string, m: Metrics) => rows.push([csvField(name), method, csvField(ref), m.psnrY.toFixed(4), m.ssimY.toFixed(5), m.psnrRgb.toFixed(4)].join(','));
  for (const r of report.perItem) {
    row(r.name, 'bicubic', '', r.bicubic);
    r.single.forEach((m, k) => row(r.name, 'single', r.refs[k]!, m));
    if (r.canvas) row(r.name, 'canvas', r.refs.join(' '), r.canvas);
    if (r.attention) row(r.name, 'attention', r.refs.join(' '), r.attention);
  }
  return `${rows.join('\n')}\n`;
}

export async function writeGroupsReport(report: GroupsReport, jsonPath: string | undefined, csvPath?: string, out: OutputSink = directOutput): Promise<void> {
  if (jsonPath) await out.write(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  if (csvPath) await out.write(csvPath, groupsCsv(report));
}
