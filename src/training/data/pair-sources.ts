// Owns the restoration stage's sources of (input, reference) pairs beyond synthetic views of one photograph:
// - multi-view scenes: a folder of scene folders, each holding several photographs of one place from other
//   viewpoints and scales (../shared/data/multiview). A sample's ground truth is a crop of one photograph and its
//   reference a larger crop of another photograph of the same scene, both seen at one of a few common sizes, taken
//   around the same relative position (photos of a landmark tend to frame it alike), so the reference usually
//   shows the same structures at a somewhat different scale and viewpoint, as a real reference does;
// - paired folders: `input/NAME` and `ref/NAME` (CUFED-style training pairs, ../shared/data/cufed-train-sample).
// Both draw the reference from an unrelated scene / pair with probability `unrelated`, and apply the flips jointly.

import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Rng } from '../../random/rng.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { crop, padBottomRight } from '../../image/layout.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { loadImageFolders, TrainingDataError } from './image-folder.ts';
import { finishPair, type ReferencePairOptions, type RestorationSample } from './reference-pairs.ts';

/** Long sides (px) a multi-view photograph is seen at; the ground truth and the reference pick one each. */
export const MULTIVIEW_SIDES = [320, 448, 640] as const;

export interface Scene {
  readonly name: string;
  /** Each photograph at every size of MULTIVIEW_SIDES (smaller photos: up to their own size). */
  readonly photos: readonly (readonly RgbImage[])[];
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

/** The scenes under `root` (one sub-folder each), split into training scenes and the held-out `valScenes`. */
export async function loadScenes(root: string, valScenes: readonly string[], minSide: number): Promise<{ train: Scene[]; val: Scene[] }> {
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
    const photos = images
      .map(({ image }) => MULTIVIEW_SIDES.map((side) => atLongSide(image, side)))
      .filter((levels) => Math.min(levels[0]!.width, levels[0]!.height) >= minSide);
    if (photos.length < 2) continue;
    (valScenes.includes(name) ? val : train).push({ name, photos });
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


/** A multi-view sample: ground truth from one photograph of a scene, reference from another (or an unrelated scene). */
export function multiviewSample(scenes: readonly Scene[], rng: Rng, o: ReferencePairOptions): RestorationSample {
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
