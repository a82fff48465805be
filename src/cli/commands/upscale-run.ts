// Owns the work of `refsr upscale` once its checks passed (upscale.ts): one model load (the task-level upscaler),
// the references decoded once (or picked from an album with --ref-dir, ../reference-album.ts), then each input upscaled with progress and cancellation and written atomically (or
// to stdout). In batch mode an input that cannot be read or used is skipped and reported, the others go on, and the
// run ends with a BatchIncompleteError when any was skipped.

import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { createUpscaler, type UpscaleOutput } from '../../api/upscaler.ts';
import { resolveImage, type NamedImage } from '../../api/image-input.ts';
import { writeImage, encodeImage } from '../../image/encode.ts';
import { ImageInputError } from '../../image/image-input-error.ts';
import { UpscaleInputError } from '../../pipeline/upscale.ts';
import { withOutputs } from '../../io/atomic-write.ts';
import { createProgress } from '../progress.ts';
import { optionNamesToFlags } from '../options.ts';
import { withCancellation } from '../cancellation.ts';
import { BatchIncompleteError } from '../cli-errors.ts';
import type { UpscaleFlags, UpscalePlan, UpscaleJob } from './upscale.ts';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { DEFAULT_REF_MAX_PIXELS } from '../../pipeline/reference-canvas.ts';
import { albumReferences, type AlbumReferences } from '../reference-album.ts';

interface JobSummary {
  input: string;
  output: string;
  size: [number, number];
  matching: 'exact' | 'fast';
  references: 'attention' | 'canvas';
  referenceScores: number[];
  warnings: string[];
  seconds: { features: number; matching: number; restoration: number };
}

function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

export async function runUpscale(plan: UpscalePlan, flags: UpscaleFlags): Promise<void> {
  const progress = createProgress({ quiet: flags.quiet });
  const decode = { maxPixels: flags.maxPixels };
  // One image: the input is read first, so a problem with it is the one reported.
  const single = plan.batch ? undefined : await resolveImage(plan.jobs[0]!.input, plan.jobs[0]!.input, decode);
  if (single?.hadAlpha) progress.note(`note: ${single.name} has transparency; it was flattened onto white`);
  const refs: NamedImage[] = [];
  for (const r of flags.ref) refs.push(await resolveImage(r, r, decode));
  let album: AlbumReferences | undefined;
  if (flags.refDir && single) {
    // The album is ranked with the model's own features (a separate small load: the upscaler's sessions stay closed).
    const ranker = await RefSRModel.load(plan.modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
    try {
      album = await withCancellation((signal) => albumReferences(ranker, single.image, single.name, flags.refDir!, {
        topK: flags.topK, refMaxPixels: flags.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS, progress, signal,
      }));
    } finally {
      progress.stop();
      await ranker.release();
    }
    refs.push(...album.refs.map((r) => ({ image: r.image, name: r.name, hadAlpha: r.image.hadAlpha })));
  }
  for (const r of refs) if (r.hadAlpha) progress.note(`note: ${r.name} has transparency; it was flattened onto white`);
  const up = await createUpscaler({ model: plan.modelPath, threads: flags.threads, lowMemory: flags.lowMemory, maxPixels: flags.maxPixels });
  if (plan.batch) progress.note(`loaded model ${plan.modelPath} once for ${plan.jobs.length} files`);
  const done: JobSummary[] = [];
  const skipped: { input: string; reason: string }[] = [];
  try {
    await withCancellation(async (signal) => {
      if (plan.batch) mkdirSync(plan.outputDir!, { recursive: true });
      for (const [i, job] of plan.jobs.entries()) {
        signal.throwIfAborted();
        if (plan.batch) progress.note(`[${i + 1}/${plan.jobs.length}] ${job.input}`);
        let r: UpscaleOutput;
        try {
          r = await up.upscale(single ? { image: single.image, name: single.name } : job.input, refs.map((x) => ({ image: x.image, name: x.name })), {
            tile: flags.tile, overlap: flags.overlap, matching: flags.matching, refMaxPixels: flags.refMaxPixels, maxInputPixels: flags.maxInputPixels,
            signal, onProgress: (p) => progress.update(p.stage, p.fraction),
          });
        } catch (e) {
          // In a folder, a file that is not a usable image is skipped; anything else (a cancel, a bad model) ends the run.
          if (plan.batch && (e instanceof ImageInputError || e instanceof UpscaleInputError)) {
            progress.stop();
            process.stderr.write(`skipped ${optionNamesToFlags(e.message)}\n`);
            skipped.push({ input: job.input, reason: e.message });
            continue;
          }
          throw e;
        }
        progress.stop();
        for (const n of r.notes) progress.note(`note: ${optionNamesToFlags(n)}`);
        for (const w of r.warnings) process.stderr.write(`warning: ${job.input}: ${optionNamesToFlags(w)}\n`);
        await write(job, r, flags.quality, signal);
        done.push({
          input: job.input, output: job.output, size: [r.width, r.height], matching: r.matching, references: r.references,
          referenceScores: r.referenceScores, warnings: r.warnings, seconds: r.seconds,
        });
        const total = r.seconds.features + r.seconds.matching + r.seconds.restoration;
        if (!flags.quiet && !flags.json && job.output !== '-') process.stderr.write(`wrote ${job.output} (${r.width}x${r.height}) in ${total.toFixed(1)} s\n`);
      }
    });
  } finally {
    progress.stop();
    await up.dispose();
  }
  if (flags.json) {
    const summary = plan.batch
      ? { input: plan.inputDir, output: plan.outputDir, refs: flags.ref, model: plan.modelPath, images: done, skipped }
      : {
        ...done[0]!, refs: refs.map((r) => r.name), model: plan.modelPath,
        ...(album ? { refDir: flags.refDir, topK: album.topK, ranking: album.ranking, skipped: album.skipped, retrievalSeconds: album.seconds } : {}),
      };
    console.log(JSON.stringify(summary));
  }
  if (plan.batch) {
    if (!flags.quiet) process.stderr.write(`upscaled ${done.length} of ${plan.jobs.length} files into ${plan.outputDir}${skipped.length ? `; skipped: ${skipped.map((s) => basename(s.input)).join(', ')}` : ''}\n`);
    if (skipped.length) throw new BatchIncompleteError(plan.inputDir!, skipped.length, plan.jobs.length);
  }
}

async function write(job: UpscaleJob, r: UpscaleOutput, quality: number | undefined, signal: AbortSignal): Promise<void> {
  if (job.output === '-') {
    await writeStdout(await encodeImage(r.image, job.format, { quality }));
    return;
  }
  // The write is part of the cancellable work: a Ctrl-C during it leaves neither the output nor a temp file.
  await withOutputs(signal, (out) => writeImage(job.output, r.image, out, { quality }));
}
