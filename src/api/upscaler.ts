// Owns the task-level API: `const up = await createUpscaler({ model })`, then `await up.upscale(input, references,
// { onProgress, signal })` as many times as wanted on one loaded model, then `await up.dispose()`. Inputs and
// references are paths, encoded bytes or decoded images (image-input.ts); options are checked before any work;
// calls on one upscaler run one after another. Errors are RefsrError subclasses whose messages name the file and
// the API option at fault (the CLI maps option names to its flags).

import { RefSRModel } from '../pipeline/refsr-model.ts';
import { resolveModel } from '../pipeline/model-registry.ts';
import { checkUpscaleInput, checkUpscaleOptions, upscale, UpscaleOptionError, type UpscaleOptions } from '../pipeline/upscale.ts';
import type { Stage, StageTimes, MatchingMode } from '../pipeline/super-resolve.ts';
import { MissingWeightError } from '../graph/onnx-ops.ts';
import { ModelFileError, type BundleInfo } from '../models/model-bundle.ts';
import { encodeImage, outputFormatFor, writeImage, type EncodeOptions, type OutputFormat } from '../image/encode.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import { RefsrError } from '../errors/refsr-error.ts';
import { resolveImage, ImageArgumentError, type ImageInput, type NamedImage } from './image-input.ts';

export interface UpscalerOptions {
  /** A bundled model name (see bundledModels(); default "default") or a model file path. */
  readonly model?: string;
  /** CPU threads for ONNX Runtime (default: all cores). */
  readonly threads?: number;
  /** No ONNX Runtime memory arenas: much lower peak memory, about 25% slower. */
  readonly lowMemory?: boolean;
  /** Largest image file decoded at all, in pixels (default 40 MP), checked from the header. */
  readonly maxPixels?: number;
}

export interface UpscaleProgress {
  readonly stage: Stage;
  /** 0..1 within the stage. */
  readonly fraction: number;
}

export interface UpscaleCallOptions {
  readonly onProgress?: (progress: UpscaleProgress) => void;
  readonly signal?: AbortSignal;
  /** Restoration tile size in LR pixels (default 96) and overlap (default 12): memory, not quality. */
  readonly tile?: number;
  readonly overlap?: number;
  /** Correspondence search: auto (default), exact or fast. */
  readonly matching?: MatchingMode;
  /** References larger than this in total (pixels, default 4 MP) are downscaled, with a note. */
  readonly refMaxPixels?: number;
  /** Largest accepted input in pixels (default 4 MP; the output is 16x larger). */
  readonly maxInputPixels?: number;
  /** Reference score below which a warning says the reference looks unrelated. */
  readonly unrelatedScore?: number;
}

export interface UpscaleOutput {
  /** The 4x image, 8-bit RGB. */
  readonly image: RgbImage;
  readonly width: number;
  readonly height: number;
  /** What was done that the user may want to know (references downscaled, packed, fast matching, transparency). */
  readonly notes: string[];
  /** What the user should act on (a reference that looks unrelated to the input). */
  readonly warnings: string[];
  /** Reference relevance (mean best-match correlation), one per reference or one for the packed canvas. */
  readonly referenceScores: number[];
  readonly matching: 'exact' | 'fast';
  readonly references: 'attention' | 'canvas';
  readonly seconds: StageTimes;
  /** The image encoded as PNG (default), JPEG, WebP or TIFF. */
  encode(format?: OutputFormat, opts?: EncodeOptions): Promise<Uint8Array>;
  /** Writes the image atomically; the format follows the extension. */
  save(path: string, opts?: EncodeOptions): Promise<void>;
}

export interface Upscaler {
  /** The model file in use. */
  readonly model: string;
  readonly info: BundleInfo;
  upscale(input: ImageInput, references: ImageInput | readonly ImageInput[], opts?: UpscaleCallOptions): Promise<UpscaleOutput>;
  /** Releases the ONNX Runtime sessions; the upscaler cannot be used afterwards. */
  dispose(): Promise<void>;
}

export class UpscalerStateError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'UpscalerStateError'; }
}

/** Loads a model (bundled name or file) once for any number of upscale calls. */
export async function createUpscaler(opts: UpscalerOptions = {}): Promise<Upscaler> {
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new UpscaleOptionError('threads', `the threads option must be a positive integer, got ${String(opts.threads)}`);
  }
  const path = resolveModel(opts.model);
  const model = await RefSRModel.load(path, { threads: opts.threads, lowMemory: opts.lowMemory });
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;

  async function run(input: ImageInput, references: ImageInput | readonly ImageInput[], call: UpscaleCallOptions): Promise<UpscaleOutput> {
    if (disposed) throw new UpscalerStateError('this upscaler was disposed; create another one');
    const upOpts: UpscaleOptions = {
      tile: call.tile, overlap: call.overlap, matching: call.matching, refMaxPixels: call.refMaxPixels,
      maxInputPixels: call.maxInputPixels, unrelatedScore: call.unrelatedScore, signal: call.signal,
      onProgress: call.onProgress ? (stage, fraction) => call.onProgress!({ stage, fraction }) : undefined,
    };
    checkUpscaleOptions(upOpts);
    const refList = (Array.isArray(references) ? references : [references]) as readonly ImageInput[];
    if (refList.length === 0) throw new ImageArgumentError('at least one reference image is needed');
    const decode = { maxPixels: opts.maxPixels };
    const lr = await resolveImage(input, 'input', decode);
    checkUpscaleInput(lr.image, { ...upOpts, inputName: lr.name });
    const refs: NamedImage[] = [];
    for (let i = 0; i < refList.length; i++) refs.push(await resolveImage(refList[i]!, refList.length > 1 ? `reference ${i + 1}` : 'reference', decode));
    call.signal?.throwIfAborted();
    let r;
    try {
      r = await upscale(model, lr.image, refs, { ...upOpts, inputName: lr.name });
    } catch (e) {
      if (e instanceof MissingWeightError) throw new ModelFileError(`${path}: ${e.message}`);
      throw e;
    }
    const alphaNotes = [lr, ...refs].filter((x) => x.hadAlpha).map((x) => `${x.name} has transparency; it was flattened onto white`);
    const image = r.sr;
    return {
      image, width: image.width, height: image.height, notes: [...alphaNotes, ...r.notes], warnings: r.warnings,
      referenceScores: r.referenceScores, matching: r.matching, references: r.references, seconds: r.seconds,
      encode: (format = 'png', o = {}) => encodeImage(image, format, o),
      save: (file, o = {}) => { outputFormatFor(file); return writeImage(file, image, undefined, o); },
    };
  }

  return {
    model: path,
    info: model.info,
    upscale(input, references, call = {}) {
      const next = queue.then(() => run(input, references, call));
      queue = next.catch(() => undefined);
      return next;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue;
      await model.release();
    },
  };
}
