// Owns the Vid4 test protocol of the Ref-VSR model (C2-Matching's video branch), in two clearly labelled variants:
//  (a) `as-released`: what the official test pipeline does. The matching input of every frame is
//      GenerateUpImages(redownsample=True) = Pillow bicubic x4 of the Pillow bicubic /4 of the GROUND TRUTH frame
//      (issue #38 of the official repository: the ground truth leaks into the matching at test time).
//  (b) `honest`: the matching input is Pillow bicubic x4 of the LR frame itself (what `refsr video` does), so nothing
//      but the LR clip and the keyframe is seen.
// Both: LR = MATLAB-imresize bicubic /4 of the ground truth (BasicVSR's BI degradation, rounded to 8 bits as the
// stored BIx4 frames are), keyframe = the ground truth of frame 0 (the official Vid4 `ref_folder` is the GT folder),
// Y-PSNR / SSIM (BT.601 Y, crop 0, as the official Vid4 config) per frame with the keyframe's own frame excluded
// (as the paper), per clip the mean over its frames, overall the mean of the clip means. Bicubic = MATLAB imresize
// x4 of the LR, measured the same way.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../image/rgb-image.ts';
import { readImageFile } from '../image/decode.ts';
import { toNCHW, fromNCHW, modCrop } from '../image/layout.ts';
import { matlabImresize } from '../image/matlab-imresize.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { psnr, ssim } from '../metrics/index.ts';
import { lumaSamples } from '../metrics/psnr.ts';
import { listFrames } from '../video/clip-io.ts';
import { upscaleClip } from '../pipeline/refvsr-video.ts';
import type { RefVsrModel } from '../pipeline/refvsr-model.ts';
import type { MatchingMode } from '../pipeline/super-resolve.ts';
import { DatasetError } from './datasets.ts';

import { VIDEO_PROTOCOLS, type VideoProtocol } from '../pipeline/video-defaults.ts';
export { VIDEO_PROTOCOLS, type VideoProtocol };

export const PROTOCOL_LABELS: Record<VideoProtocol, string> = {
  'as-released': '(a) as released: matching input = bicubic x4 of bicubic /4 of the GROUND TRUTH (official GenerateUpImages, redownsample)',
  honest: '(b) honest: matching input = bicubic x4 of the LR frame only',
};

export interface FrameScore { readonly frame: number; readonly psnrY: number; readonly ssimY: number }
export interface ClipScore { readonly psnrY: number; readonly ssimY: number; readonly frames: FrameScore[] }

export interface VideoEvalReport {
  readonly dataset: string;
  readonly degradation: string;
  readonly metric: string;
  readonly keyframe: string;
  readonly model: string | null;
  readonly clips: string[];
  readonly framesPerClip: Record<string, number>;
  readonly bicubic: { readonly mean: { psnrY: number; ssimY: number }; readonly perClip: Record<string, ClipScore> };
  readonly protocols: {
    readonly name: VideoProtocol;
    readonly label: string;
    readonly matching: 'exact' | 'fast' | 'none';
    readonly mean: { psnrY: number; ssimY: number };
    readonly perClip: Record<string, ClipScore>;
    readonly seconds: number;
  }[];
  readonly note?: string;
}

export interface VideoEvalOptions {
  readonly clips?: readonly string[];
  /** Only the first N frames of each clip (quick runs); the keyframe is still frame 0. */
  readonly frames?: number;
  readonly protocols?: readonly VideoProtocol[];
  readonly matching?: MatchingMode;
  /** Replace the keyframe with this unrelated photo (the no-keyframe ablation). */
  readonly unrelatedKeyframe?: { image: RgbImage; name: string };
  readonly window?: number;
  readonly tile?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string, fraction: number) => void;
  readonly note?: string;
}

/** LR = MATLAB bicubic /4 (BasicVSR BI), rounded to 8 bits. */
export function degradeBI(gt: RgbImage): RgbImage {
  const t = toNCHW(gt);
  return fromNCHW(matlabImresize({ shape: t.shape.slice(1), data: t.data }, 1 / 4));
}

/** MATLAB bicubic x4 of the LR (the bicubic baseline). */
export function bicubicX4(lr: RgbImage): RgbImage {
  const t = toNCHW(lr);
  return fromNCHW(matlabImresize({ shape: t.shape.slice(1), data: t.data }, 4));
}

/** The official GenerateUpImages(redownsample=True): Pillow bicubic /4 then x4 of the ground truth. */
export function generateUpImage(gt: RgbImage): RgbImage {
  const down = pilResizeBicubic(gt, Math.floor(gt.width / 4), Math.floor(gt.height / 4));
  return pilResizeBicubic(down, gt.width, gt.height);
}

/** Y-PSNR / SSIM of frames 1.. (frame 0, the keyframe's own, is excluded), crop 0. */
export function scoreFrames(srs: readonly RgbImage[], gts: readonly RgbImage[]): ClipScore {
  const frames: FrameScore[] = [];
  for (let i = 1; i < gts.length; i++) { // frame 0 is the keyframe's own frame: excluded
    const a = lumaSamples(srs[i]!);
    const b = lumaSamples(gts[i]!);
    frames.push({ frame: i, psnrY: psnr(a, b, 0), ssimY: ssim(a, b, 0) });
  }
  const mean = (k: 'psnrY' | 'ssimY') => frames.reduce((s, f) => s + f[k], 0) / frames.length;
  return { psnrY: mean('psnrY'), ssimY: mean('ssimY'), frames };
}

function meanOver(perClip: Record<string, ClipScore>): { psnrY: number; ssimY: number } {
  const v = Object.values(perClip);
  return { psnrY: v.reduce((s, c) => s + c.psnrY, 0) / v.length, ssimY: v.reduce((s, c) => s + c.ssimY, 0) / v.length };
}

/** Clip folders of a Vid4-style dataset (one folder of GT frames per clip). */
export function listClips(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`${dir}: not a folder (expected one sub-folder of ground-truth frames per clip, e.g. calendar/ city/)`);
  const clips = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory() && listFrames(join(dir, d)).length > 0).sort();
  if (clips.length === 0) throw new DatasetError(`${dir}: no clip folders with frames (expected e.g. calendar/000.png ...)`);
  return clips;
}

export async function evaluateVid4(dir: string, model: RefVsrModel | undefined, opts: VideoEvalOptions = {}): Promise<VideoEvalReport> {
  const all = listClips(dir);
  const clips = opts.clips?.length ? opts.clips : all;
  for (const c of clips) if (!all.includes(c)) throw new DatasetError(`${dir}: no clip "${c}" (clips: ${all.join(', ')})`);
  const protocols = model ? opts.protocols ?? VIDEO_PROTOCOLS : [];
  const bicubic: Record<string, ClipScore> = {};
  const results = new Map<VideoProtocol, { perClip: Record<string, ClipScore>; matching: 'exact' | 'fast' | 'none'; seconds: number }>();
  for (const p of protocols) results.set(p, { perClip: {}, matching: 'none', seconds: 0 });
  const framesPerClip: Record<string, number> = {};

  for (const clip of clips) {
    const files = listFrames(join(dir, clip)).slice(0, opts.frames ?? Infinity);
    if (files.length < 2) throw new DatasetError(`${join(dir, clip)}: needs at least 2 frames (frame 0 is the keyframe and is not scored)`);
    framesPerClip[clip] = files.length;
    const gts: RgbImage[] = [];
    for (const f of files) {
      const img = modCrop(await readImageFile(join(dir, clip, f)), 4);
      if (gts[0] && (img.width !== gts[0].width || img.height !== gts[0].height)) throw new DatasetError(`${join(dir, clip, f)}: ${img.width}x${img.height}, but frame 0 is ${gts[0].width}x${gts[0].height}`);
      gts.push(img);
    }
    const lrs = gts.map(degradeBI);
    bicubic[clip] = scoreFrames(lrs.map(bicubicX4), gts);
    if (!model) continue;
    const keyframe = opts.unrelatedKeyframe ? modCrop(opts.unrelatedKeyframe.image, 4) : gts[0]!;
    for (const p of protocols) {
      opts.signal?.throwIfAborted();
      const t0 = performance.now();
      const srs: RgbImage[] = new Array(lrs.length);
      const r = await upscaleClip(model, { count: lrs.length, read: async (i) => lrs[i]!, name: (i) => join(dir, clip, files[i]!) }, keyframe, {
        window: Math.max(opts.window ?? lrs.length, 2), windowOverlap: 0, tile: opts.tile, matching: opts.matching ?? 'exact', signal: opts.signal,
        matchingInput: p === 'as-released' ? (i) => generateUpImage(gts[i]!) : undefined,
        onFrame: async (i, sr) => { srs[i] = sr; },
        onProgress: (stage, f) => opts.onProgress?.(`${clip} ${p} ${stage}`, f),
      });
      const res = results.get(p)!;
      res.perClip[clip] = scoreFrames(srs, gts);
      res.matching = r.matching === 'fast' || res.matching === 'fast' ? 'fast' : r.matching;
      res.seconds += (performance.now() - t0) / 1000;
    }
  }
  return {
    dataset: dir,
    degradation: 'LR = MATLAB imresize bicubic /4 of the ground truth (BasicVSR BI), 8-bit; bicubic baseline = MATLAB imresize x4',
    metric: 'Y-PSNR / SSIM (BT.601 Y), crop 0, frame 0 (the keyframe) excluded; clip = mean over frames, overall = mean over clips',
    keyframe: opts.unrelatedKeyframe ? `unrelated photo ${opts.unrelatedKeyframe.name} (ablation)` : 'ground truth of frame 0 (official Vid4 ref_folder = GT)',
    model: model?.source ?? null,
    clips: [...clips],
    framesPerClip,
    bicubic: { mean: meanOver(bicubic), perClip: bicubic },
    protocols: [...results].map(([name, r]) => ({ name, label: PROTOCOL_LABELS[name], matching: r.matching, mean: meanOver(r.perClip), perClip: r.perClip, seconds: r.seconds })),
    ...(opts.note ? { note: opts.note } : {}),
  };
}

/** A plain-text table of the report: one row per method and protocol, one column per clip and the mean. */
export function formatVid4Table(r: VideoEvalReport): string {
  const cell = (s: { psnrY: number; ssimY: number }) => `${s.psnrY.toFixed(2)} / ${s.ssimY.toFixed(4)}`;
  const rows: string[][] = [['method', ...r.clips, 'mean']];
  rows.push(['bicubic', ...r.clips.map((c) => cell(r.bicubic.perClip[c]!)), cell(r.bicubic.mean)]);
  for (const p of r.protocols) rows.push([`model, ${p.label.slice(0, 3)} ${p.name}`, ...r.clips.map((c) => cell(p.perClip[c]!)), cell(p.mean)]);
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((row) => row[k]!.length)));
  const lines = rows.map((row) => row.map((v, k) => v.padEnd(widths[k]!)).join('  '));
  const legend = r.protocols.map((p) => p.label);
  return [`Y-PSNR / SSIM; ${r.metric}`, `keyframe: ${r.keyframe}`, ...lines, ...legend, ...(r.note ? [`note: ${r.note}`] : [])].join('\n');
}

