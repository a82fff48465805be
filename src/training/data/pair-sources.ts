// Owns the restoration stage's sources of (input, reference) pairs beyond synthetic views of one photograph:
// - multi-view scenes: a folder of scene folders, each holding several photographs of one place from other
//   viewpoints and scales (../shared/data/multiview). A sample's ground truth is a crop of one photograph and its
//   reference a larger crop of another photograph of the same scene, both seen at one of a few common sizes, taken
//   around the same relative position (photos of a landmark tend to frame it alike), so the reference usually
//   shows the same structures at a somewhat different scale and viewpoint, as a real reference does. When the scenes
//   are aligned (view-alignment.ts: a homography per pair of photos), the reference window is cut from the other
//   photograph around the point the ground truth's centre maps to, at about the ground truth's scale (x0.75..1.33),
//   so it shows what the ground truth shows from another viewpoint; pairs without a usable homography are not used;
// - paired folders: `input/NAME` and `ref/NAME` (CUFED-style training pairs, ../shared/data/cufed-train-sample).
// Both draw the reference from an unrelated scene / pair with probability `unrelated`, and apply the flips jointly.

import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Rng } from '../../random/rng.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { crop, padBottomRight } from '../../image/layout.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { loadImageFolders, TrainingDataError } from './image-folder.ts';
import { applyHomography, localScale, type SceneAligner, type ViewLink } from './view-alignment.ts';
import { finishGroup, finishPair, type GroupSample, type ReferencePairOptions, type RestorationSample } from './reference-pairs.ts';

/** Long sides (px) a multi-view photograph is seen at; the ground truth and the reference pick one each. */
export const MULTIVIEW_SIDES = [320, 448, 640] as const;

export interface Scene {
  readonly name: string;
  /** Each photograph at every size of MULTIVIEW_SIDES (smaller photos: up to their own size). */
  readonly photos: readonly (readonly RgbImage[])[];
  /** Each photograph as decoded (the aligned reference is cut from it). */
  readonly full: readonly RgbImage[];
  /** When aligned: per photograph, the photographs it can take an aligned reference from. */
  readonly links?: readonly (readonly ViewLink[])[];
}

export interface PairedImages {
  readonly name: string;
  readonly input: RgbImage;
  readonly ref: RgbImage;
}

function atLongSide(img: RgbImage, side: number): RgbImage {
  const s = side / Math.max(img.width, img.height);
  if (s >= 1) return img;
  return pilResizeBicubic(img, Math.max(1, Math.round(img.width * s)), Math.max(1, Math.round(img.height * s)));
}

/**
 * The scenes under `root` (one sub-folder each), split into training scenes and the held-out `valScenes`; with
 * `align`, each scene's photographs are aligned pairwise.
 */
export async function loadScenes(root: string, valScenes: readonly string[], minSide: number, align?: SceneAligner): Promise<{ train: Scene[]; val: Scene[] }> {
  let entries;
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (e) {
    throw new TrainingDataError(`multi-view folder ${root} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  for (const v of valScenes) if (!entries.includes(v)) throw new TrainingDataError(`held-out scene "${v}" is not a folder of ${root} (scenes: ${entries.join(', ')})`);
  const train: Scene[] = [];
  const val: Scene[] = [];
  for (const name of entries) {
    const images = await loadImageFolders([join(root, name)], 1);
    const usable = images.filter(({ image }) => Math.min(atLongSide(image, MULTIVIEW_SIDES[0]).width, atLongSide(image, MULTIVIEW_SIDES[0]).height) >= minSide);
    if (usable.length < 2) continue;
    const full = usable.map(({ image }) => image);
    const photos = full.map((image) => MULTIVIEW_SIDES.map((side) => atLongSide(image, side)));
    const links = align ? await align(name, usable.map((u) => u.name), full) : undefined;
    (valScenes.includes(name) ? val : train).push({ name, photos, full, ...(links ? { links } : {}) });
  }
  if (train.length === 0) throw new TrainingDataError(`multi-view folder ${root} has no training scene with two usable photographs`);
  return { train, val };
}

/** `input/NAME` + `ref/NAME` pairs of each folder, matched by file name. */
export async function loadPairedFolders(dirs: readonly string[]): Promise<PairedImages[]> {
  const out: PairedImages[] = [];
  for (const dir of dirs) {
    for (const sub of ['input', 'ref']) {
      if (!(await stat(join(dir, sub)).catch(() => undefined))?.isDirectory()) throw new TrainingDataError(`paired folder ${dir} has no ${sub}/ folder (expected input/NAME and ref/NAME)`);
    }
    const inputs = await loadImageFolders([join(dir, 'input')]);
    const refs = new Map((await loadImageFolders([join(dir, 'ref')])).map((r) => [basename(r.name), r.image]));
    for (const i of inputs) {
      const ref = refs.get(basename(i.name));
      if (ref) out.push({ name: i.name, input: i.image, ref });
    }
  }
  if (out.length === 0) throw new TrainingDataError(`no input/ref pairs with matching names in ${dirs.join(', ')}`);
  return out;
}

function clamp(v: number, lo: number, hi: number): number { return Math.max(lo, Math.min(hi, v)); }

/** A size x size window of `img` centred near relative position (u, v); zero-padded where `img` is smaller. */
function windowAt(img: RgbImage, u: number, v: number, size: number): RgbImage {
  const w = Math.min(size, img.width);
  const h = Math.min(size, img.height);
  const x = Math.round(clamp(u * img.width - w / 2, 0, img.width - w));
  const y = Math.round(clamp(v * img.height - h / 2, 0, img.height - h));
  const c = crop(img, x, y, w, h);
  return w === size && h === size ? c : padBottomRight(c, size, size);
}


/** The part of `img` in the square of side `side` (px) centred at (cx, cy), resized to `out` px and zero-padded. */
function scaledWindow(img: RgbImage, cx: number, cy: number, side: number, out: number): RgbImage {
  const x0 = Math.round(clamp(cx - side / 2, 0, Math.max(0, img.width - side)));
  const y0 = Math.round(clamp(cy - side / 2, 0, Math.max(0, img.height - side)));
  const w = Math.min(Math.round(side), img.width - x0);
  const h = Math.min(Math.round(side), img.height - y0);
  const f = out / side;
  const rw = clamp(Math.round(w * f), 1, out);
  const rh = clamp(Math.round(h * f), 1, out);
  const r = pilResizeBicubic(crop(img, x0, y0, w, h), rw, rh);
  return rw === out && rh === out ? r : padBottomRight(r, out, out);
}

/** A reference from an unrelated scene: a window of one of its photographs. */
function unrelatedReference(scenes: readonly Scene[], scene: Scene, rng: Rng, level: number, size: number): RgbImage {
  let s = rng.int(scenes.length - 1);
  if (s >= scenes.indexOf(scene)) s++;
  const other = scenes[s]!;
  return windowAt(other.photos[rng.int(other.photos.length)]![level]!, 0.15 + 0.7 * rng.uniform(), 0.15 + 0.7 * rng.uniform(), size);
}

/** An aligned sample (see the top comment); undefined when no ground-truth centre maps well inside the other photo. */
function alignedSample(scenes: readonly Scene[], rng: Rng, o: ReferencePairOptions): RestorationSample | undefined {
  const linked = scenes.filter((s) => s.links?.some((l) => l.length > 0));
  if (linked.length === 0) return undefined;
  const scene = linked[rng.int(linked.length)]!;
  const from = scene.links!.map((l, i) => (l.length > 0 ? i : -1)).filter((i) => i >= 0);
  const a = from[rng.int(from.length)]!;
  const link = scene.links![a]![rng.int(scene.links![a]!.length)]!;
  const la = rng.int(MULTIVIEW_SIDES.length);
  const photoA = scene.photos[a]![la]!;
  const B = scene.full[link.to]!;
  for (let attempt = 0; attempt < 20; attempt++) {
    const u = 0.15 + 0.7 * rng.uniform();
    const v = 0.15 + 0.7 * rng.uniform();
    const [ub, vb] = applyHomography(link.H, u, v);
    if (!(ub > 0.08 && ub < 0.92 && vb > 0.08 && vb < 0.92)) continue;
    const gt = windowAt(photoA, u, v, 4 * o.lrPatch);
    if (o.unrelated > 0 && scenes.length > 1 && rng.uniform() < o.unrelated) {
      return finishPair(gt, unrelatedReference(scenes, scene, rng, clamp(la + rng.int(3) - 1, 0, MULTIVIEW_SIDES.length - 1), o.refSize), rng, o.lrPatch);
    }
    return finishPair(gt, alignedReference(link, B, photoA, u, v, ub, vb, rng, o), rng, o.lrPatch);
  }
  return undefined;
}

/** The reference window of photo B for the ground truth at (u, v) of photoA, whose centre maps to (ub, vb) of B. */
function alignedReference(link: ViewLink, B: RgbImage, photoA: RgbImage, u: number, v: number, ub: number, vb: number, rng: Rng, o: ReferencePairOptions): RgbImage {
  // B pixels per ground-truth pixel, then the reference's scale relative to the ground truth (x0.75..1.33).
  const perGt = localScale(link.H, u, v) * Math.sqrt((B.width * B.height) / (photoA.width * photoA.height));
  const t = Math.exp(Math.log(0.75) + (Math.log(4 / 3) - Math.log(0.75)) * rng.uniform());
  const side = (o.refSize * perGt) / t;
  // The ground truth's content lands somewhere inside the reference window, not always at its centre.
  const jx = (rng.uniform() - 0.5) * 0.4 * side;
  const jy = (rng.uniform() - 0.5) * 0.4 * side;
  return scaledWindow(B, ub * B.width + jx, vb * B.height + jy, side, o.refSize);
}

/**
 * A multi-view group (multi-reference training): a ground-truth crop of one photograph of an aligned scene and
 * `count` references, each an aligned window of another photograph of the scene whose view covers the crop (drawn
 * with replacement when fewer cover it: the same photo then gives windows at other scales and positions), or with
 * probability `unrelated` a window of an unrelated scene. Undefined when no scene is aligned.
 */
export function multiviewGroup(scenes: readonly Scene[], rng: Rng, o: ReferencePairOptions, count: number): GroupSample | undefined {
  const linked = scenes.filter((s) => s.links?.some((l) => l.length > 0));
  if (linked.length === 0) return undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    const scene = linked[rng.int(linked.length)]!;
    const from = scene.links!.map((l, i) => (l.length > 0 ? i : -1)).filter((i) => i >= 0);
    const a = from[rng.int(from.length)]!;
    const la = rng.int(MULTIVIEW_SIDES.length);
    const photoA = scene.photos[a]![la]!;
    const u = 0.15 + 0.7 * rng.uniform();
    const v = 0.15 + 0.7 * rng.uniform();
    const covering = scene.links![a]!.map((link) => ({ link, at: applyHomography(link.H, u, v) })).filter(({ at: [ub, vb] }) => ub > 0.08 && ub < 0.92 && vb > 0.08 && vb < 0.92);
    if (covering.length === 0) continue;
    const gt = windowAt(photoA, u, v, 4 * o.lrPatch);
    const refs: RgbImage[] = [];
    for (let r = 0; r < count; r++) {
      if (o.unrelated > 0 && scenes.length > 1 && rng.uniform() < o.unrelated) {
        refs.push(unrelatedReference(scenes, scene, rng, clamp(la + rng.int(3) - 1, 0, MULTIVIEW_SIDES.length - 1), o.refSize));
        continue;
      }
      const { link, at: [ub, vb] } = covering[rng.int(covering.length)]!;
      refs.push(alignedReference(link, scene.full[link.to]!, photoA, u, v, ub, vb, rng, o));
    }
    return finishGroup(gt, refs, rng, o.lrPatch);
  }
  return undefined;
}

/** A multi-view sample: ground truth from one photograph of a scene, reference from another (or an unrelated scene). */
export function multiviewSample(scenes: readonly Scene[], rng: Rng, o: ReferencePairOptions): RestorationSample {
  const aligned = alignedSample(scenes, rng, o);
  if (aligned) return aligned;
  const gtSide = 4 * o.lrPatch;
  const scene = scenes[rng.int(scenes.length)]!;
  const a = rng.int(scene.photos.length);
  let b = rng.int(scene.photos.length - 1);
  if (b >= a) b++;
  const la = rng.int(MULTIVIEW_SIDES.length);
  const lb = clamp(la + rng.int(3) - 1, 0, MULTIVIEW_SIDES.length - 1);
  const photoA = scene.photos[a]![la]!;
  const u = 0.15 + 0.7 * rng.uniform();
  const v = 0.15 + 0.7 * rng.uniform();
  const gt = windowAt(photoA, u, v, gtSide);
  const unrelated = o.unrelated > 0 && scenes.length > 1 && rng.uniform() < o.unrelated;
  let refPhoto: RgbImage;
  if (unrelated) {
    let s = rng.int(scenes.length - 1);
    if (s >= scenes.indexOf(scene)) s++;
    const other = scenes[s]!;
    refPhoto = other.photos[rng.int(other.photos.length)]![lb]!;
  } else {
    refPhoto = scene.photos[b]![lb]!;
  }
  const ref = windowAt(refPhoto, u + (rng.uniform() - 0.5) * 0.2, v + (rng.uniform() - 0.5) * 0.2, o.refSize);
  return finishPair(gt, ref, rng, o.lrPatch);
}

/** A paired-folder sample: ground truth cropped from an input, the reference its partner (or another pair's). */
export function pairedSample(pairs: readonly PairedImages[], rng: Rng, o: ReferencePairOptions): RestorationSample {
  const gtSide = 4 * o.lrPatch;
  const i = rng.int(pairs.length);
  const p = pairs[i]!;
  const gt = windowAt(p.input, rng.uniform(), rng.uniform(), gtSide);
  const unrelated = o.unrelated > 0 && pairs.length > 1 && rng.uniform() < o.unrelated;
  let j = i;
  if (unrelated) {
    j = rng.int(pairs.length - 1);
    if (j >= i) j++;
  }
  const ref = windowAt(pairs[j]!.ref, 0.5 + (rng.uniform() - 0.5) * 0.2, 0.5 + (rng.uniform() - 0.5) * 0.2, o.refSize);
  return finishPair(gt, ref, rng, o.lrPatch);
}
