// Owns `refsr upscale INPUT|DIR --ref REF [--ref REF2 ...] [-o OUT|OUTDIR|-]` (or `--ref-dir ALBUM [--top-k K]`
// instead of --ref, ../reference-album.ts): the options, the help, and every check
// that can fail before any work (options, the input and references exist, the output path: its folder, its format,
// never the input itself; a default output name when -o is omitted). The work itself (upscale-run.ts) loads the
// model and the image libraries only once the checks passed, so `refsr --help` and a bad flag answer at once.

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { resolveImageModel } from '../../pipeline/model-registry.ts';
import { OUTPUT_EXTENSIONS, outputFormatFor, type OutputFormat } from '../../image/output-format.ts';
import { OutputWriteError } from '../../io/atomic-write.ts';
import { ImageInputError } from '../../image/image-input-error.ts';
import { intOption, positiveIntOption, qualityOption, matchingOption, modelHelp, checkOutputPath, LOW_MEMORY_HELP } from '../options.ts';
import { UsageError } from '../cli-errors.ts';
import type { MatchingMode } from '../../pipeline/super-resolve.ts';

export interface UpscaleFlags {
  ref: string[];
  refDir?: string;
  topK?: number;
  output?: string;
  model?: string;
  quality?: number;
  format?: OutputFormat;
  tile?: number;
  overlap?: number;
  refMaxPixels?: number;
  maxInputPixels?: number;
  maxPixels?: number;
  threads?: number;
  lowMemory?: boolean;
  matching: MatchingMode;
  quiet?: boolean;
  json?: boolean;
}

/** One image to upscale and where its result goes ('-' = stdout). */
export interface UpscaleJob {
  readonly input: string;
  readonly output: string;
  readonly format: OutputFormat;
}

export interface UpscalePlan {
  readonly batch: boolean;
  /** Batch mode: the input and output folders. */
  readonly inputDir?: string;
  readonly outputDir?: string;
  readonly jobs: UpscaleJob[];
  readonly modelPath: string;
}

const FORMAT_EXTENSION: Record<OutputFormat, string> = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif' };

function formatOption(v: string): OutputFormat {
  const f = OUTPUT_EXTENSIONS[`.${v.toLowerCase()}`];
  if (!f) throw new InvalidArgumentError('choose png, jpg, webp or tif');
  return f;
}

/** NAME_x4.png next to the input (the default output of one image). */
export function defaultOutputName(input: string, format: OutputFormat = 'png'): string {
  return join(dirname(input), `${basename(input, extname(input))}_x4${FORMAT_EXTENSION[format]}`);
}

function samePath(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function checkReadable(path: string, what: string): void {
  if (!existsSync(path)) throw new ImageInputError(path, `${what} not found`);
}

/** Every check that needs no decoding: refuses bad combinations with a UsageError or a file-naming error. */
export function planUpscale(input: string, flags: UpscaleFlags): UpscalePlan {
  checkReadable(input, 'input');
  for (const r of flags.ref) {
    checkReadable(r, 'reference');
    if (statSync(r).isDirectory()) throw new ImageInputError(r, 'is a folder; give reference image files (repeat --ref for several)');
  }
  // Several references (given, or an album's top k unless --top-k 1) pick the bundled multi-reference model by default.
  const references = flags.refDir ? (flags.topK ?? 3) : flags.ref.length;
  const modelPath = resolveImageModel(flags.model, references);
  if (statSync(input).isDirectory()) return planBatch(input, flags, modelPath);

  const out = flags.output ?? defaultOutputName(input, flags.format);
  if (out === '-') {
    if (process.stdout.isTTY) throw new UsageError('-o - writes the image to stdout, which is a terminal here: redirect it (refsr upscale ... -o - > out.png) or give a file name');
    return { batch: false, jobs: [{ input, output: '-', format: flags.format ?? 'png' }], modelPath };
  }
  checkOutputPath(out, { image: true });
  const format = outputFormatFor(out);
  if (flags.format && flags.format !== format) throw new UsageError(`--format ${flags.format} disagrees with the extension of ${out}; the extension decides the format of a file output (--format is for folders and -o -)`);
  if (samePath(out, input)) throw new UsageError(`-o ${out} is the input file; refsr never overwrites its input: choose another output name (default ${defaultOutputName(input)})`);
  for (const r of flags.ref) if (samePath(out, r)) throw new UsageError(`-o ${out} is a reference file; choose another output name`);
  return { batch: false, jobs: [{ input, output: out, format }], modelPath };
}

function planBatch(inputDir: string, flags: UpscaleFlags, modelPath: string): UpscalePlan {
  if (flags.output === '-') throw new UsageError('-o - (stdout) takes one image; the input is a folder, so give an output folder');
  const outputDir = flags.output ?? `${inputDir.replace(/[/\\]+$/, '')}_x4`;
  if (samePath(outputDir, inputDir)) throw new UsageError(`the output folder ${outputDir} is the input folder; choose another (default ${inputDir.replace(/[/\\]+$/, '')}_x4)`);
  if (existsSync(outputDir) && !statSync(outputDir).isDirectory()) throw new OutputWriteError(outputDir, 'exists and is not a folder; the input is a folder, so the output must be one');
  if (!existsSync(outputDir)) checkOutputPath(outputDir);
  const format = flags.format ?? 'png';
  const names = readdirSync(inputDir).filter((f) => !f.startsWith('.') && statSync(join(inputDir, f)).isFile()).sort();
  if (names.length === 0) throw new ImageInputError(inputDir, 'the folder holds no files to upscale');
  const stems = new Map<string, number>();
  for (const f of names) stems.set(basename(f, extname(f)), (stems.get(basename(f, extname(f))) ?? 0) + 1);
  const jobs = names.map((f) => {
    const stem = basename(f, extname(f));
    // Two inputs with one stem (a.png, a.jpg) keep their extension in the output name (a.png.png, a.jpg.png).
    const outName = (stems.get(stem)! > 1 ? f : stem) + FORMAT_EXTENSION[format];
    return { input: join(inputDir, f), output: join(outputDir, outName), format };
  });
  return { batch: true, inputDir, outputDir, jobs, modelPath };
}

export function registerUpscale(program: Command): void {
  program
    .command('upscale')
    .description('upscale an image (or every image of a folder) 4x, transferring texture from one or more reference photos')
    .argument('<input>', 'low-resolution image (PNG, JPEG, WebP, TIFF, BMP), or a folder of them (batch mode)')
    .option('-r, --ref <file>', 'reference image (repeat for several; required unless --ref-dir)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--ref-dir <folder>', 'pick the references from this album of photos, ranked against the input (instead of --ref)')
    .option('--top-k <k>', '--ref-dir: how many of the best-ranked photos to use (default 3 for a multi-reference model, 1 otherwise)', positiveIntOption)
    .option('-o, --output <file|dir|->', 'output image; the extension sets the format (.png, .jpg, .webp, .tif); - writes PNG to stdout; '
      + 'for a folder input, the output folder (default: NAME_x4.png next to the input, or DIR_x4/)')
    .option('--format <fmt>', 'png | jpg | webp | tif: format of batch outputs and of -o - (default png)', formatOption)
    .option('--quality <1-100>', 'JPEG quality (default 95) or lossy WebP quality (default: lossless WebP); PNG and TIFF are lossless', qualityOption)
    .option('-m, --model <name|path>', modelHelp(true))
    .option('--tile <px>', 'restoration tile size in LR pixels, at least 12 (default 96)', intOption)
    .option('--overlap <px>', 'tile overlap in LR pixels, less than the tile (default 12)', intOption)
    .option('--ref-max-pixels <n>', 'downscale references larger than this in total (default 4000000)', positiveIntOption)
    .option('--max-input-pixels <n>', 'largest accepted input (default 4000000)', positiveIntOption)
    .option('--max-pixels <n>', 'largest image file decoded at all (default 40000000)', positiveIntOption)
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveIntOption)
    .option('--low-memory', LOW_MEMORY_HELP)
    .option('--matching <mode>', 'correspondence search: auto | exact | fast (coarse-to-fine, for large images)', matchingOption, 'auto')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText('after', `
The output format follows the extension of -o. A warning says when a reference looks unrelated to the input (little
texture can come from it). A folder input upscales every image in it with one model load; unreadable files are
skipped and listed, and the exit code is then 1.

Examples:
  refsr upscale examples/coffee-lr.png --ref examples/coffee-ref.png              # writes examples/coffee-lr_x4.png
  refsr upscale photo.jpg --ref a.jpg --ref b.jpg -o photo-x4.jpg --quality 90
  refsr upscale photos/ --ref scene.jpg -o photos-x4/                             # batch mode
  refsr upscale photo.png --ref ref.png -o - > photo-x4.png
  refsr upscale photo.jpg --ref-dir album/ --top-k 1                              # references picked from an album`)
    .action(async (input: string, flags: UpscaleFlags, command: Command) => {
      flags.ref ??= [];
      if (flags.ref.length === 0 && !flags.refDir) command.error("error: required option '-r, --ref <file>' (or --ref-dir <folder>) not specified", { exitCode: 2 });
      if (flags.ref.length > 0 && flags.refDir) command.error('error: give references with --ref or pick them with --ref-dir, not both', { exitCode: 2 });
      if (flags.topK !== undefined && !flags.refDir) command.error('error: --top-k applies to --ref-dir', { exitCode: 2 });
      if (flags.refDir) {
        checkReadable(flags.refDir, 'reference album');
        if (!statSync(flags.refDir).isDirectory()) throw new ImageInputError(flags.refDir, 'is not a folder; --ref-dir takes a folder of photos (use --ref for one image)');
        if (existsSync(input) && statSync(input).isDirectory()) throw new UsageError('--ref-dir ranks an album against one input image; the input is a folder (give --ref for batch mode)');
      }
      const { checkUpscaleOptions } = await import('../../pipeline/upscale.ts');
      checkUpscaleOptions({ tile: flags.tile, overlap: flags.overlap, refMaxPixels: flags.refMaxPixels, maxInputPixels: flags.maxInputPixels, matching: flags.matching });
      const plan = planUpscale(input, flags);
      const { runUpscale } = await import('./upscale-run.ts');
      await runUpscale(plan, flags);
    });
}
