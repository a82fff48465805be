// Owns `refsr upscale LR --ref REF [--ref REF2 ...] -o OUT` (or `--ref-dir ALBUM [--top-k K]`, see
// ../reference-album.ts): decode, upscale with progress and cancellation, write the result atomically.

import type { Command } from 'commander';
import { readImageFile, DEFAULT_MAX_PIXELS } from '../../image/decode.ts';
import { writeImage, outputFormatFor } from '../../image/encode.ts';
import { RefSRModel } from '../../pipeline/refsr-model.ts';
import { resolveModel } from '../../pipeline/model-registry.ts';
import { upscale, DEFAULT_MAX_INPUT_PIXELS } from '../../pipeline/upscale.ts';
import { DEFAULT_REF_MAX_PIXELS } from '../../pipeline/reference-canvas.ts';
import { DEFAULT_TILE, DEFAULT_OVERLAP } from '../../pipeline/restore-tiled.ts';
import { createProgress } from '../progress.ts';
import { intOption, matchingOption, LOW_MEMORY_HELP } from '../options.ts';
import { withCancellation } from '../cancellation.ts';
import { withOutputs } from '../../io/atomic-write.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';
import { albumReferences, type AlbumReferences } from '../reference-album.ts';


interface UpscaleFlags {
  ref: string[];
  refDir?: string;
  topK?: number;
  output: string;
  model?: string;
  tile: number;
  overlap: number;
  refMaxPixels: number;
  maxInputPixels: number;
  maxPixels: number;
  threads?: number;
  lowMemory?: boolean;
  matching: MatchingMode;
  quiet?: boolean;
  json?: boolean;
}

export function registerUpscale(program: Command): void {
  program
    .command('upscale')
    .description('upscale an image 4x, transferring texture from one or more reference photos')
    .argument('<input>', 'low-resolution image (PNG, JPEG, WebP, TIFF, BMP)')
    .option('-r, --ref <file>', 'reference image (repeat for several)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--ref-dir <folder>', 'pick the references from this album of photos (ranked against the input; instead of --ref)')
    .option('--top-k <k>', '--ref-dir: how many of the best-ranked photos to use (default 3 for a multi-reference model, 1 otherwise)', intOption)
    .requiredOption('-o, --output <file>', 'output image (.png, .jpg, .webp, .tif)')
    .option('-m, --model <name|path>', 'bundled model name or model file (default: the bundled default model)')
    .option('--tile <px>', 'restoration tile size in LR pixels', intOption, DEFAULT_TILE)
    .option('--overlap <px>', 'tile overlap in LR pixels', intOption, DEFAULT_OVERLAP)
    .option('--ref-max-pixels <n>', 'downscale references larger than this in total', intOption, DEFAULT_REF_MAX_PIXELS)
    .option('--max-input-pixels <n>', 'largest accepted input', intOption, DEFAULT_MAX_INPUT_PIXELS)
    .option('--max-pixels <n>', 'largest image file decoded at all', intOption, DEFAULT_MAX_PIXELS)
    .option('--threads <n>', 'CPU threads (default: all cores)', intOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('--matching <mode>', 'correspondence search: auto | exact | fast (coarse-to-fine, for large images)', matchingOption, 'auto')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: UpscaleFlags, command: Command) => {
      if (flags.ref.length === 0 && !flags.refDir) command.error("error: required option '-r, --ref <file>' (or --ref-dir <folder>) not specified", { exitCode: 2 });
      if (flags.ref.length > 0 && flags.refDir) command.error('error: give references with --ref or pick them with --ref-dir, not both', { exitCode: 2 });
      if (flags.topK !== undefined && !flags.refDir) command.error('error: --top-k applies to --ref-dir', { exitCode: 2 });
      if (flags.topK !== undefined && flags.topK < 1) command.error('error: --top-k must be at least 1', { exitCode: 2 });
      outputFormatFor(flags.output); // unknown extension: fail before any work
      const modelPath = resolveModel(flags.model);
      const progress = createProgress({ quiet: flags.quiet });
      const lr = await readImageFile(input, { maxPixels: flags.maxPixels });
      const refs: { image: Awaited<ReturnType<typeof readImageFile>>; name: string }[] = [];
      for (const r of flags.ref) refs.push({ image: await readImageFile(r, { maxPixels: flags.maxPixels }), name: r });
      for (const img of [{ name: input, image: lr }, ...refs]) {
        if (img.image.hadAlpha) progress.note(`note: ${img.name} has transparency; it was flattened onto white`);
      }
      const model = await RefSRModel.load(modelPath, { threads: flags.threads, lowMemory: flags.lowMemory });
      let album: AlbumReferences | undefined;
      try {
        if (flags.refDir) {
          album = await withCancellation((signal) => albumReferences(model, lr, input, flags.refDir!, { topK: flags.topK, refMaxPixels: flags.refMaxPixels, progress, signal }));
          refs.push(...album.refs);
        }
        // The write is part of the cancellable work: a Ctrl-C during it leaves neither the output nor a temp file.
        const result = await withCancellation(async (signal) => {
          const r = await upscale(model, lr, refs, {
            tile: flags.tile, overlap: flags.overlap, matching: flags.matching, refMaxPixels: flags.refMaxPixels, maxInputPixels: flags.maxInputPixels,
            signal, onProgress: (stage, f) => progress.update(stage, f),
          });
          progress.stop();
          for (const n of r.notes) progress.note(`note: ${n}`);
          await withOutputs(signal, (out) => writeImage(flags.output, r.sr, out));
          return r;
        });
        const summary = {
          input, refs: refs.map((r) => r.name),
          ...(album ? { refDir: flags.refDir, topK: album.topK, ranking: album.ranking, skipped: album.skipped, retrievalSeconds: album.seconds } : {}),
          output: flags.output, model: modelPath, size: [result.sr.width, result.sr.height], matching: result.matching, references: result.references, seconds: result.seconds };
        if (flags.json) console.log(JSON.stringify(summary));
        else if (!flags.quiet) process.stderr.write(`wrote ${flags.output} (${result.sr.width}x${result.sr.height}) in ${(result.seconds.features + result.seconds.matching + result.seconds.restoration).toFixed(1)} s\n`);
      } finally {
        progress.stop();
        await model.release();
      }
    });
}
