// Owns the user-facing 4x upscale: an LR photo with no ground truth and one or more references of any size. The LR
// is upsampled with Pillow bicubic for matching (as in training), the references are packed into one canvas, the
// correspondences are decoded on the reference's own grid, and restoration runs on the LR grid in tiles. A
// multi-reference model instead takes every reference on its own (multi-reference.ts) and fuses them by attention.

import type { RgbImage } from '../image/rgb-image.ts';
import { fromNCHW } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { buildReferenceCanvas, prepareReferences, DEFAULT_REF_MAX_PIXELS } from './reference-canvas.ts';
import { superResolveMulti } from './multi-reference.ts';
import { superResolve, type StageTimes, type SuperResolveOptions } from './super-resolve.ts';
import type { RefSRModel } from './refsr-model.ts';
import { RefsrError } from '../errors/refsr-error.ts';
import { DEFAULT_TILE, DEFAULT_OVERLAP } from './restore-tiled.ts';
import { looksUnrelated, referenceScore, UNRELATED_REFERENCE_SCORE } from '../matching/reference-score.ts';

/** Largest LR accepted by upscale (the output is 16x larger): 4 MP in, 64 MP out. */
export const DEFAULT_MAX_INPUT_PIXELS = 4_000_000;
export const MIN_INPUT_SIDE = 12;

export interface UpscaleOptions extends SuperResolveOptions {
  readonly refMaxPixels?: number;
  readonly maxInputPixels?: number;
  /** How errors and notes name the input (its file name; default "input"). */
  readonly inputName?: string;
  /** Mean best-match correlation below which a reference is reported as unrelated (default: the model's own, else UNRELATED_REFERENCE_SCORE). */
  readonly unrelatedScore?: number;
}

export interface UpscaleResult {
  readonly sr: RgbImage;
  readonly notes: string[];
  readonly seconds: StageTimes;
  /** The matching used ('fast' if any reference used it). */
  readonly matching: 'exact' | 'fast';
  /** How several references were used: fused by a multi-reference model's attention, or packed into one canvas. */
  readonly references: 'attention' | 'canvas';
  /**
   * Reference relevance (matching/reference-score.ts): one mean best-match correlation per reference for a
   * multi-reference model, one for the packed canvas otherwise.
   */
  readonly referenceScores: number[];
  /** Things the user should know, such as a reference that looks unrelated to the input. */
  readonly warnings: string[];
}

export class UpscaleInputError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'UpscaleInputError'; }
}

export class UpscaleOptionError extends RefsrError {
  /** The API option at fault (the CLI names its flag instead). */
  constructor(readonly option: string, message: string) { super(message); this.name = 'UpscaleOptionError'; }
}

/** Refuses option values upscale cannot work with, before any work. */
export function checkUpscaleOptions(opts: UpscaleOptions): void {
  const int = (name: keyof UpscaleOptions, min: number, what: string) => {
    const v = opts[name];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) throw new UpscaleOptionError(name, `the ${name} option must be an integer of at least ${min} (${what}), got ${String(v)}`);
  };
  int('tile', MIN_INPUT_SIDE, 'LR pixels per restoration tile');
  int('overlap', 0, 'LR pixels');
  int('refMaxPixels', 1, 'pixels');
  int('maxInputPixels', 1, 'pixels');
  const tile = opts.tile ?? DEFAULT_TILE;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  if (overlap >= tile) {
    const name = opts.overlap !== undefined ? 'overlap' : 'tile';
    throw new UpscaleOptionError(name, `the ${name} option is out of range: the overlap (${overlap}) must be smaller than the tile size (${tile})`);
  }
  if (opts.matching !== undefined && !['auto', 'exact', 'fast'].includes(opts.matching)) throw new UpscaleOptionError('matching', `the matching option must be auto, exact or fast, got ${String(opts.matching)}`);
  if (opts.unrelatedScore !== undefined && !Number.isFinite(opts.unrelatedScore)) throw new UpscaleOptionError('unrelatedScore', `the unrelatedScore option must be a number, got ${String(opts.unrelatedScore)}`);
}

export async function upscale(model: RefSRModel, lr: RgbImage, refs: readonly { image: RgbImage; name: string }[], opts: UpscaleOptions = {}): Promise<UpscaleResult> {
  checkUpscaleOptions(opts);
  checkUpscaleInput(lr, opts);
  const up = pilResizeBicubic(lr, lr.width * 4, lr.height * 4);
  const fastNote = 'large input x reference: used the fast coarse-to-fine matching (the matching option set to exact forces the full search)';
  const threshold = opts.unrelatedScore ?? model.info.unrelatedScore ?? UNRELATED_REFERENCE_SCORE;
  if (model.info.mref) {
    const prepared = prepareReferences(refs, opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS);
    const r = await superResolveMulti(model, lr, up, prepared.images, opts);
    const notes = [...prepared.notes];
    if (refs.length > 1) notes.push(`${refs.length} references fused by the multi-reference model's attention (each matched on its own grid)`);
    const fast = r.matching.includes('fast');
    if (fast && opts.matching !== 'fast') notes.push(fastNote);
    const scores = r.matches.map(referenceScore);
    const warnings = scores.flatMap((sc, i) => (looksUnrelated(sc, threshold) ? [unrelatedWarning(refs[i]!.name, sc, threshold)] : []));
    return { sr: fromNCHW(r.sr), notes, seconds: r.seconds, matching: fast ? 'fast' : 'exact', references: 'attention', referenceScores: scores, warnings };
  }
  const canvas = buildReferenceCanvas(refs, opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS);
  const r = await superResolve(model, lr, up, canvas.image, opts);
  const notes = [...canvas.notes];
  if (refs.length > 1) notes.push('single-reference model: the references were packed into one canvas (a multi-reference model fuses them with attention)');
  if (r.matching === 'fast' && opts.matching !== 'fast') notes.push(fastNote);
  const score = referenceScore(r.match);
  const warnings = looksUnrelated(score, threshold) ? [unrelatedWarning(refs.map((x) => x.name).join(', '), score, threshold)] : [];
  return { sr: fromNCHW(r.sr), notes, seconds: r.seconds, matching: r.matching, references: 'canvas', referenceScores: [score], warnings };
}

/** Refuses an input upscale cannot take (too large, too small), naming it by opts.inputName. */
export function checkUpscaleInput(lr: { width: number; height: number }, opts: Pick<UpscaleOptions, 'maxInputPixels' | 'inputName'> = {}): void {
  const name = opts.inputName ?? 'input';
  const maxIn = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (lr.width * lr.height > maxIn) {
    throw new UpscaleInputError(`${name}: input is ${lr.width}x${lr.height} (${(lr.width * lr.height / 1e6).toFixed(1)} MP); the limit is ${(maxIn / 1e6).toFixed(1)} MP because the output is 16 times larger (raise the maxInputPixels option)`);
  }
  if (lr.width < MIN_INPUT_SIDE || lr.height < MIN_INPUT_SIDE) {
    throw new UpscaleInputError(`${name}: input is ${lr.width}x${lr.height}; it must be at least ${MIN_INPUT_SIDE}x${MIN_INPUT_SIDE} px`);
  }
}

function unrelatedWarning(refNames: string, score: number, threshold: number): string {
  return `the reference ${refNames} looks unrelated to the input (match score ${score.toFixed(2)}, below ${threshold.toFixed(2)}): little or no texture was transferred from it; use a photo of the same scene`;
}
