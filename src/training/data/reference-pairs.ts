// Owns the restoration training samples. No large paired Ref-SR set is available here, so a sample is made from a
// single photograph: the ground truth is a random crop, and the reference is a second, overlapping view of the same
// photograph seen through a random similarity-plus-perspective transform (scale, rotation, shift) with a colour
// jitter, so the network must find and transfer texture from a reference that is neither aligned nor identical.
// LR = PIL bicubic /4 of the ground truth (the paper's degradation); the augmentation flips are applied jointly.

import type { Rng } from '../../random/rng.ts';
import { rgbImage, type RgbImage } from '../../image/rgb-image.ts';
import { crop } from '../../image/layout.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { warpPerspective } from './homography.ts';
import { applyFlips, drawFlips } from './augment.ts';
import type { NamedImage } from './image-folder.ts';

export interface ReferencePairOptions {
  /** LR patch side; the ground truth is 4x this. */
  readonly lrPatch: number;
  /** Reference side in pixels (a multiple of 4). */
  readonly refSize: number;
  /** Reference scale range: one reference pixel covers `scale` photo pixels. */
  readonly scale: readonly [number, number];
  /** Maximum rotation in degrees (either direction). */
  readonly rotation: number;
  /** Maximum shift of the reference centre from the ground-truth centre, as a fraction of the ground-truth side. */
  readonly shift: number;
  /** Maximum perspective term (per pixel of the reference). */
  readonly perspective: number;
  /** Maximum per-channel gain change (e.g. 0.1 = x0.9..x1.1) and brightness offset (0..1 units). */
  readonly colourGain: number;
  readonly brightness: number;
  /** Probability that the reference comes from a different photograph (teaches the network to ignore a bad one). */
  readonly unrelated: number;
}

export const DEFAULT_REFERENCE_PAIRS: ReferencePairOptions = {
  lrPatch: 32, refSize: 128, scale: [0.8, 1.25], rotation: 15, shift: 0.25, perspective: 2e-4,
  colourGain: 0.08, brightness: 0.03, unrelated: 0,
};

export interface RestorationSample {
  readonly gt: RgbImage;
  readonly lr: RgbImage;
  /** PIL bicubic x4 of the LR (the contrastive extractor's input side). */
  readonly up: RgbImage;
  readonly ref: RgbImage;
}

function between(rng: Rng, lo: number, hi: number): number { return lo + (hi - lo) * rng.uniform(); }

/** Smallest photo side a sample can be cut from. */
export function minPhotoSide(o: ReferencePairOptions): number { return 4 * o.lrPatch; }

export function restorationSample(images: readonly NamedImage[], rng: Rng, o: ReferencePairOptions): RestorationSample {
  const g = syntheticGroundTruth(images, rng, o);
  return finishPair(g.gt, syntheticReference(images, g, rng, o), rng, o.lrPatch);
}

/** Where a synthetic sample's ground truth was cut: the photo and the crop's top-left corner. */
export interface SyntheticCrop {
  readonly photo: RgbImage;
  readonly gx: number;
  readonly gy: number;
  readonly gt: RgbImage;
}

/** A random ground-truth crop (4 lrPatch square) of a random photo. */
export function syntheticGroundTruth(images: readonly NamedImage[], rng: Rng, o: ReferencePairOptions): SyntheticCrop {
  const gtSide = 4 * o.lrPatch;
  const photo = images[rng.int(images.length)]!.image;
  const gx = rng.int(photo.width - gtSide + 1);
  const gy = rng.int(photo.height - gtSide + 1);
  return { photo, gx, gy, gt: crop(photo, gx, gy, gtSide, gtSide) };
}

/** A reference for the crop: a random view of its photo around it (or, with probability `unrelated`, of another photo). */
export function syntheticReference(images: readonly NamedImage[], c: SyntheticCrop, rng: Rng, o: ReferencePairOptions): RgbImage {
  const gtSide = 4 * o.lrPatch;
  const unrelated = o.unrelated > 0 && images.length > 1 && rng.uniform() < o.unrelated;
  const source = unrelated ? images[rng.int(images.length)]!.image : c.photo;
  const cx = unrelated ? source.width / 2 : c.gx + gtSide / 2 + between(rng, -o.shift, o.shift) * gtSide;
  const cy = unrelated ? source.height / 2 : c.gy + gtSide / 2 + between(rng, -o.shift, o.shift) * gtSide;
  const ref = viewOf(source, cx, cy, o.refSize, between(rng, o.scale[0], o.scale[1]), (between(rng, -o.rotation, o.rotation) * Math.PI) / 180,
    between(rng, -o.perspective, o.perspective), between(rng, -o.perspective, o.perspective));
  return jitterColour(ref, rng, o);
}

/** The end of every pair source: flips drawn and applied jointly, LR = PIL bicubic /4 of the ground truth, up = x4. */
export function finishPair(gt: RgbImage, ref: RgbImage, rng: Rng, lrPatch: number): RestorationSample {
  const { refs, ...rest } = finishGroup(gt, [ref], rng, lrPatch);
  return { ...rest, ref: refs[0]! };
}

/** A ground truth with several references (multi-reference training): the same flips for all of them. */
export interface GroupSample {
  readonly gt: RgbImage;
  readonly lr: RgbImage;
  readonly up: RgbImage;
  readonly refs: readonly RgbImage[];
}

/** finishPair for a group: flips drawn once and applied to the ground truth and every reference. */
export function finishGroup(gt: RgbImage, refs: readonly RgbImage[], rng: Rng, lrPatch: number): GroupSample {
  const flips = drawFlips(rng);
  const g = applyFlips(gt, flips);
  const lr = pilResizeBicubic(g, lrPatch, lrPatch);
  return { gt: g, lr, up: pilResizeBicubic(lr, g.width, g.height), refs: refs.map((r) => applyFlips(r, flips)) };
}

/**
 * A size x size view whose centre sits at (cx, cy) of the photo: reference pixel p samples the photo at
 * c + s R(theta) (p - size/2), with a perspective row (px, py) that leaves the centre fixed; bilinear, zero outside.
 */
function viewOf(photo: RgbImage, cx: number, cy: number, size: number, s: number, theta: number, px: number, py: number): RgbImage {
  const c = size / 2;
  const a = s * Math.cos(theta);
  const b = s * Math.sin(theta);
  // Affine part maps p to c_src + A (p - c); the projective row [px, py, 1 - px c - py c] is 1 at the centre.
  const w0 = 1 - px * c - py * c;
  const M = Float64Array.from([
    a + cx * px, -b + cx * py, cx * w0 - a * c + b * c,
    b + cy * px, a + cy * py, cy * w0 - b * c - a * c,
    px, py, w0,
  ]);
  const src = { width: photo.width, height: photo.height, channels: 3, data: Float32Array.from(photo.data) };
  const out = warpPerspective(src, M, size, size);
  return rgbImage(size, size, Uint8Array.from(out.data, (v) => Math.max(0, Math.min(255, Math.round(v)))));
}

function jitterColour(img: RgbImage, rng: Rng, o: ReferencePairOptions): RgbImage {
  const gain = [0, 1, 2].map(() => 1 + between(rng, -o.colourGain, o.colourGain));
  const offset = between(rng, -o.brightness, o.brightness) * 255;
  const out = rgbImage(img.width, img.height);
  for (let i = 0; i < img.data.length; i++) out.data[i] = Math.max(0, Math.min(255, Math.round(img.data[i]! * gain[i % 3]! + offset)));
  return out;
}

/** A synthetic group (multi-reference training): one ground-truth crop and `count` independent views (see syntheticReference). */
export function syntheticGroup(images: readonly NamedImage[], rng: Rng, o: ReferencePairOptions, count: number): GroupSample {
  const g = syntheticGroundTruth(images, rng, o);
  const refs = Array.from({ length: count }, () => syntheticReference(images, g, rng, o));
  return finishGroup(g.gt, refs, rng, o.lrPatch);
}
