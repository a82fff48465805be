// Owns which view of the reference the correspondence matcher sees. The official C2-Matching matches the sharp
// reference: its contrastive extractor was trained (teacher-student distillation) to bridge the gap between the
// blurry bicubic-upsampled input and a sharp reference. refsr's own models carry an untrained extractor, whose
// features see blur and sharpness as different content; they match the reference degraded the way the input was
// (Pillow bicubic /4 then x4, as SRNTT and TTSR do), which puts both sides in one domain. Only the matching sees this
// view: the aggregated reference features always come from the sharp reference.

import type { RgbImage } from '../image/rgb-image.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';

/** `sharp`: the reference as given (the official behaviour); `degraded`: bicubic /4 then x4 of it. */
export type MatchReference = 'sharp' | 'degraded';

export const MATCH_REFERENCE_VIEWS: readonly MatchReference[] = ['sharp', 'degraded'];

export function matchingView(ref: RgbImage, view: MatchReference): RgbImage {
  if (view === 'sharp') return ref;
  const lr = pilResizeBicubic(ref, Math.max(1, Math.floor(ref.width / 4)), Math.max(1, Math.floor(ref.height / 4)));
  return pilResizeBicubic(lr, ref.width, ref.height);
}
