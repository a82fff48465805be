// Owns correspondence matching of one user pair outside super-resolution (for `refsr match`): the LR input is
// upsampled x4 with Pillow bicubic as the pipeline does (or first made from an HR image with the protocol's /4), the
// reference goes through the same canvas preparation as `upscale` (mod-crop, pixel budget), and the exact matcher
// runs on contrastive features (refsr) or on plain VGG19 relu3_1 (SRNTT-style baseline).

import type { RgbImage } from '../image/rgb-image.ts';
import { modCrop, toNCHW } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { buildReferenceCanvas, DEFAULT_REF_MAX_PIXELS } from '../pipeline/reference-canvas.ts';
import { matchExact } from '../matching/correspondence.ts';
import { stallPoint } from '../debug/stall-point.ts';
import { matchingView, type MatchReference } from '../matching/reference-view.ts';
import type { MatchIndex } from '../matching/pre-offset.ts';
import type { FeatureExtractor } from './features.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export type MatchFeatures = 'contras' | 'vgg';

export class MatchInputError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'MatchInputError'; }
}

export interface MatchPairOptions {
  readonly features?: MatchFeatures;
  /** With contrastive features: the view of the reference the model matches (its bundle's `matchReference`). */
  readonly matchReference?: MatchReference;
  /** Treat the input as a high-resolution image: mod-crop to 4 and make the LR with bicubic /4 first. */
  readonly fromHr?: boolean;
  readonly refMaxPixels?: number;
  readonly threads?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
}

export interface MatchPairResult {
  readonly up: RgbImage;
  readonly ref: RgbImage;
  readonly match: MatchIndex;
  readonly notes: string[];
  readonly seconds: number;
}

/** Smallest LR side that gives the matcher a 3x3 feature grid. */
export const MIN_MATCH_LR_SIDE = 3;

export async function matchPair(fx: FeatureExtractor, input: RgbImage, reference: RgbImage, opts: MatchPairOptions = {}): Promise<MatchPairResult> {
  const t0 = performance.now();
  let lr = input;
  if (opts.fromHr) {
    const hr = modCrop(input, 4);
    if (hr.width < 4 * MIN_MATCH_LR_SIDE || hr.height < 4 * MIN_MATCH_LR_SIDE) throw new MatchInputError(`input is ${input.width}x${input.height}; as an HR image it must be at least ${4 * MIN_MATCH_LR_SIDE}x${4 * MIN_MATCH_LR_SIDE} px`);
    lr = pilResizeBicubic(hr, hr.width / 4, hr.height / 4);
  }
  if (lr.width < MIN_MATCH_LR_SIDE || lr.height < MIN_MATCH_LR_SIDE) throw new MatchInputError(`input is ${lr.width}x${lr.height}; it must be at least ${MIN_MATCH_LR_SIDE}x${MIN_MATCH_LR_SIDE} px to be matched`);
  let canvas;
  try {
    canvas = buildReferenceCanvas([{ image: reference, name: 'reference' }], opts.refMaxPixels ?? DEFAULT_REF_MAX_PIXELS);
  } catch (e) {
    throw new MatchInputError((e as Error).message);
  }
  const up = pilResizeBicubic(lr, lr.width * 4, lr.height * 4);
  const ref = canvas.image;
  const features = opts.features ?? 'contras';
  const fin = features === 'contras' ? await fx.contras(1, toNCHW(up)) : await fx.vggRelu3(toNCHW(up));
  opts.signal?.throwIfAborted();
  const fref = features === 'contras' ? await fx.contras(2, toNCHW(matchingView(ref, opts.matchReference ?? 'sharp'))) : await fx.vggRelu3(toNCHW(ref));
  await stallPoint('matching', opts.signal);
  const match = await matchExact(fin, fref, { threads: opts.threads, signal: opts.signal, onProgress: opts.onProgress });
  return { up, ref, match, notes: canvas.notes, seconds: (performance.now() - t0) / 1000 };
}
