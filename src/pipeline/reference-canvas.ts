// Owns turning the user's reference photo(s) into the one reference image the network matches against: mod-crop
// to a multiple of 4, downscaling of references beyond the pixel budget (matching cost grows with input x
// reference area), and packing several references side by side with a blank gap so no 3x3 feature patch straddles
// two photos; correspondences then pick the best patch from any of them. (A multi-reference model takes the
// prepared references one by one instead, see multi-reference.ts.)

import { rgbImage, type RgbImage } from '../image/rgb-image.ts';
import { modCrop } from '../image/layout.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';

export const REFERENCE_GAP = 16;
/** Default budget for the packed reference: 4 MP keeps the reference's VGG features under ~1.8 GB. */
export const DEFAULT_REF_MAX_PIXELS = 4_000_000;
export const MIN_REFERENCE_SIDE = 16;

export interface ReferenceCanvas {
  readonly image: RgbImage;
  /** Notes for the user (downscaling, cropping). */
  readonly notes: string[];
}

/** The references each mod-cropped to a multiple of 4, downscaled together to the pixel budget (with notes). */
export function prepareReferences(refs: readonly { image: RgbImage; name: string }[], maxPixels = DEFAULT_REF_MAX_PIXELS): { images: RgbImage[]; notes: string[] } {
  if (refs.length === 0) throw new Error('at least one reference image is needed');
  const notes: string[] = [];
  const total = refs.reduce((s, r) => s + r.image.width * r.image.height, 0);
  const scale = total > maxPixels ? Math.sqrt(maxPixels / total) : 1;
  const prepared = refs.map(({ image, name }) => {
    let img = image;
    if (scale < 1) {
      const w = Math.max(MIN_REFERENCE_SIDE, Math.round(image.width * scale));
      const h = Math.max(MIN_REFERENCE_SIDE, Math.round(image.height * scale));
      notes.push(`reference ${name} downscaled from ${image.width}x${image.height} to ${w}x${h} (reference budget ${(maxPixels / 1e6).toFixed(1)} MP; raise the refMaxPixels option)`);
      img = pilResizeBicubic(image, w, h);
    }
    if (img.width < MIN_REFERENCE_SIDE || img.height < MIN_REFERENCE_SIDE) {
      throw new Error(`reference ${name} is ${img.width}x${img.height}; references must be at least ${MIN_REFERENCE_SIDE}x${MIN_REFERENCE_SIDE} px`);
    }
    return modCrop(img, 4);
  });
  return { images: prepared, notes };
}

export function buildReferenceCanvas(refs: readonly { image: RgbImage; name: string }[], maxPixels = DEFAULT_REF_MAX_PIXELS): ReferenceCanvas {
  const { images: prepared, notes } = prepareReferences(refs, maxPixels);
  if (prepared.length === 1) return { image: prepared[0]!, notes };
  const height = Math.max(...prepared.map((p) => p.height));
  const width = prepared.reduce((s, p) => s + p.width, 0) + REFERENCE_GAP * (prepared.length - 1);
  const canvas = rgbImage(width, height);
  let x0 = 0;
  for (const p of prepared) {
    for (let y = 0; y < p.height; y++) canvas.data.set(p.data.subarray(y * p.width * 3, (y + 1) * p.width * 3), (y * width + x0) * 3);
    x0 += p.width + REFERENCE_GAP;
  }
  notes.push(`${prepared.length} references packed side by side into one ${width}x${height} reference`);
  return { image: canvas, notes };
}
