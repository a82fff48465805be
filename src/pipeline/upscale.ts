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

/** Largest LR accepted by upscale (the output is 16x larger): 4 MP in, 64 MP out. */
export const DEFAULT_MAX_INPUT_PIXELS = 4_000_000;
export const MIN_INPUT_SIDE = 12;

export interface UpscaleOptions extends SuperResolveOptions {
  readonly refMaxPixels?: number;
  readonly maxInputPixels?: number;
}

export interface UpscaleResult {
  readonly sr: RgbImage;
  readonly notes: string[];
  readonly seconds: StageTimes;
  /** The matching used ('fast' if any reference used it). */
  readonly matching: 'exact' | 'fast';
  /** How several references were used: fused by a multi-reference model's attention, or packed into one canvas. */
  readonly references: 'attention' | 'canvas';
}

export class UpscaleInputError extends Error {
  constructor(message: string) { super(message); this.name = 'UpscaleInputError'; }
}

export async function upscale(model: RefSRModel, lr: RgbImage, refs: readonly { image: RgbImage; name: string }[], opts: UpscaleOptions = {}): Promise<UpscaleResult> {
  const maxIn = opts.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  if (lr.width * lr.height > maxIn) {
    throw new UpscaleInputError(`input is ${lr.width}x${lr.height} (${(lr.width * lr.height / 1e6).toFixed(1)} MP); the limit is ${(maxIn / 1e6).toFixed(1)} MP because the output is 16 times larger (raise it with --max-input-pixels)`);
  }
  if (lr.width < MIN_INPUT_SIDE || lr.height < MIN_INPUT_SIDE) {
    throw new UpscaleInputError(`input is ${lr.width}x${lr.height}; it must be at least ${MIN_INPUT_SIDE}x${MIN_INPUT_SIDE} px`);
  }
  const up = pilResizeBicubic(lr, lr.width * 4, lr.height * 4);
  const fastNote = 'large input x reference: used the fast coarse-to-fine matching (--matching exact forces the full search)';
  if (model.info.mref) {
    const prepared = prepareReferences(refs, opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS);
    const r = await superResolveMulti(model, lr, up, prepared.images, opts);
    const notes = [...prepared.notes];
    if (refs.length > 1) notes.push(`${refs.length} references fused by the multi-reference model's attention (each matched on its own grid)`);
    const fast = r.matching.includes('fast');
    if (fast && opts.matching !== 'fast') notes.push(fastNote);
    return { sr: fromNCHW(r.sr), notes, seconds: r.seconds, matching: fast ? 'fast' : 'exact', references: 'attention' };
  }
  const canvas = buildReferenceCanvas(refs, opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS);
  const r = await superResolve(model, lr, up, canvas.image, opts);
  const notes = [...canvas.notes];
  if (refs.length > 1) notes.push('single-reference model: the references were packed into one canvas (a multi-reference model fuses them with attention)');
  if (r.matching === 'fast' && opts.matching !== 'fast') notes.push(fastNote);
  return { sr: fromNCHW(r.sr), notes, seconds: r.seconds, matching: r.matching, references: 'canvas' };
}
