// Owns `refsr video IN --ref KEYFRAME -o OUT`: a clip (folder of frames or, with ffmpeg, a video file) upscaled 4x
// with a Ref-VSR model and one HR keyframe of any size, in temporal windows and spatial tiles, with a progress line
// per frame; a folder output gets each frame atomically as soon as it is final (a cancel keeps them, a rerun skips
// them), a video output is written whole or not at all.

import type { Command } from 'commander';
import { resolveVideoModel } from '../../pipeline/model-registry.ts';
import { DEFAULT_VIDEO_WINDOW, DEFAULT_VIDEO_WINDOW_OVERLAP, DEFAULT_VIDEO_TILE } from '../../pipeline/video-defaults.ts';
import type { ClipSink } from '../../video/clip-io.ts';
import { createProgress } from '../progress.ts';
import { intOption, matchingOption, LOW_MEMORY_HELP } from '../options.ts';
import { withCancellation, CancelledError } from '../cancellation.ts';
import { stallPoint } from '../../debug/stall-point.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';

/** Keyframe budget: a 1920x1080 keyframe (its relu1_1 alone is 64 x 2 MP floats, 530 MB). */
export const DEFAULT_KEYFRAME_MAX_PIXELS = 2_100_000;

interface VideoFlags {
  ref: string;
  output: string;
  model?: string;
  window: number;
  windowOverlap?: number;
  tile: number;
  refMaxPixels: number;
  maxPixels: number;
  matching: MatchingMode;
  threads?: number;
  lowMemory?: boolean;
  resume: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function registerVideo(program: Command): void {
  program
    .command('video')
    .description('upscale a video clip 4x with a Ref-VSR model, transferring texture from one HR keyframe')
    .argument('<input>', 'folder of LR frames (sorted naturally) or a video file (needs ffmpeg)')
    .requiredOption('-r, --ref <file>', 'the HR keyframe: one good photo of the scene (any size)')
    .requiredOption('-o, --output <path>', 'output folder of PNG frames, or a video file (.mp4, .mkv, .webm, ...; needs ffmpeg)')
    .option('-m, --model <name|path>', 'bundled video model name (video; default: video) or a Ref-VSR model file (refsr convert of the official checkpoint)')
    .option('--window <frames>', 'frames run through the recurrent network together', intOption, DEFAULT_VIDEO_WINDOW)
    .option('--window-overlap <frames>', `frames shared by consecutive windows (default ${DEFAULT_VIDEO_WINDOW_OVERLAP}, at most the window - 1)`, intOption)
    .option('--tile <px>', 'x4 reconstruction in windows of this many LR pixels (same result, less memory; the propagation runs on whole frames)', intOption, DEFAULT_VIDEO_TILE)
    .option('--ref-max-pixels <n>', 'downscale a larger keyframe to this many pixels', intOption, DEFAULT_KEYFRAME_MAX_PIXELS)
    .option('--max-pixels <n>', 'largest image file decoded at all (default 40000000)', intOption)
    .option('--matching <mode>', 'correspondence search: auto | exact | fast', matchingOption, 'auto')
    .option('--no-resume', 'recompute frames already in the output folder instead of skipping them')
    .option('--threads <n>', 'CPU threads (default: all cores)', intOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: VideoFlags) => {
      // The image libraries and the networks load only now, so `refsr --help` answers at once.
      const { readImageFile } = await import('../../image/decode.ts');
      const { RefVsrModel } = await import('../../pipeline/refvsr-model.ts');
      const { upscaleClip } = await import('../../pipeline/refvsr-video.ts');
      const { prepareReferences } = await import('../../pipeline/reference-canvas.ts');
      const { openClip, folderSink, videoSink } = await import('../../video/clip-io.ts');
      const { isVideoPath } = await import('../../video/ffmpeg.ts');
      const modelPath = resolveVideoModel(flags.model);
      const progress = createProgress({ quiet: flags.quiet });
      const key = await readImageFile(flags.ref, { maxPixels: flags.maxPixels });
      if (key.hadAlpha) progress.note(`note: ${flags.ref} has transparency; it was flattened onto white`);
      const prepared = prepareReferences([{ image: key, name: flags.ref }], flags.refMaxPixels);
      for (const n of prepared.notes) progress.note(`note: ${n}`);
      const clip = openClip(input, { maxPixels: flags.maxPixels, keep: flags.window + 1 });
      const toVideo = isVideoPath(flags.output);
      let sink: ClipSink | undefined;
      const model = await RefVsrModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
      let written = 0;
      const t0 = performance.now();
      try {
        sink = toVideo ? videoSink(flags.output, clip.rate) : folderSink(flags.output, clip.stems);
        const out = sink;
        const resume = flags.resume && out.kind === 'folder';
        const result = await withCancellation(async (signal) => {
          try {
            const r = await upscaleClip(model, clip, prepared.images[0]!, {
              window: flags.window, windowOverlap: flags.windowOverlap, tile: flags.tile, matching: flags.matching, signal,
              skip: resume ? (i) => out.has(i) : undefined,
              onFrame: async (i, sr) => {
                await out.write(i, sr);
                written++;
                if (!flags.quiet) progress.note(`frame ${i + 1}/${clip.count} ${toVideo ? 'encoded' : `written: ${clip.stems[i]}.png`}`);
                await stallPoint('video-frame', signal);
              },
              onProgress: (stage, f) => { if (stage !== 'frames') progress.update(stage, f); },
            });
            await out.finish();
            return r;
          } catch (e) {
            await out.abort();
            if (signal.aborted || e instanceof CancelledError) {
              throw new CancelledError(out.kind === 'folder'
                ? `cancelled; kept the ${written} frame${written === 1 ? '' : 's'} written to ${flags.output} (rerun the same command to continue)`
                : `cancelled; nothing was written (a video file is written whole; give a folder as -o to keep frames on a cancel)`);
            }
            throw e;
          }
        });
        progress.stop();
        if (result.skipped) progress.note(`note: ${result.skipped} frames already in ${flags.output} were kept (--no-resume recomputes them)`);
        if (result.matching === 'fast' && flags.matching !== 'fast') progress.note('note: large frame x keyframe: used the fast coarse-to-fine matching (--matching exact forces the full search)');
        const seconds = (performance.now() - t0) / 1000;
        const summary = { input, ref: flags.ref, output: flags.output, model: modelPath, ...result, seconds: { ...result.seconds, total: seconds } };
        if (flags.json) console.log(JSON.stringify(summary));
        else if (!flags.quiet) process.stderr.write(`wrote ${result.written} frames to ${flags.output} in ${seconds.toFixed(1)} s (${result.windows} temporal windows, ${result.tiles} reconstruction windows per frame)\n`);
      } finally {
        progress.stop();
        clip.close();
        await model.release();
      }
    });
}
