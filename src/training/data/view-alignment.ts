// Owns the geometric alignment of two photographs of one scene, used to cut a multi-view training reference that
// shows what the ground truth shows: VGG19 relu3_1 features of both photos on a small grid (long side 256 px),
// 3x3-patch matching both ways (the project's own matcher), mutual nearest neighbours, then a RANSAC homography
// (4-point DLT, least-squares refit on the inliers). The homography maps normalised coordinates (x / width,
// y / height in [0, 1]) of photo A to those of photo B, so it holds at any size the photos are seen at.
// A landmark seen from two viewpoints is not a plane, so the homography is the dominant plane's (a facade, the
// ground) and only places a reference window: the network's own matching does the fine work. The links of a set of
// scenes are kept in a JSON file (cachedAligner), so a run computes them once.

import { readFile } from 'node:fs/promises';
import { FeatureExtractor } from '../../eval/features.ts';
import { writeFileAtomic } from '../../io/atomic-write.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { toNCHW } from '../../image/layout.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { matchRows } from '../../matching/correspondence.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { Rng } from '../../random/rng.ts';
import { TrainingDataError } from './image-folder.ts';
import { getPerspectiveTransform, invert3x3, solveAugmented, type Mat3 } from './homography.ts';

/** Long side (px) the photos are matched at: relu3_1 is a quarter of it (64 cells). */
export const ALIGN_SIDE = 256;

export interface ViewLink {
  /** Index of the other photograph in its scene. */
  readonly to: number;
  /** Normalised coordinates of this photo -> normalised coordinates of photo `to`. */
  readonly H: Mat3;
  readonly inliers: number;
  readonly matches: number;
}

export interface AlignOptions {
  /** RANSAC iterations (default 2000). */
  readonly iterations?: number;
  /** Inlier threshold in relu3_1 cells of photo B (default 1.5). */
  readonly threshold?: number;
  /** Fewest inliers for a usable link (default 48). */
  readonly minInliers?: number;
}

type Point = readonly [number, number];

export function applyHomography(H: Mat3, x: number, y: number): Point {
  const w = H[6]! * x + H[7]! * y + H[8]!;
  return [(H[0]! * x + H[1]! * y + H[2]!) / w, (H[3]! * x + H[4]! * y + H[5]!) / w];
}

/** Local area scale of H at (x, y) (normalised units of B per normalised unit of A), by central differences. */
export function localScale(H: Mat3, x: number, y: number): number {
  const e = 1e-3;
  const [ax, ay] = applyHomography(H, x + e, y);
  const [bx, by] = applyHomography(H, x - e, y);
  const [cx, cy] = applyHomography(H, x, y + e);
  const [dx, dy] = applyHomography(H, x, y - e);
  const det = ((ax - bx) * (cy - dy) - (ay - by) * (cx - dx)) / (4 * e * e);
  return Math.sqrt(Math.abs(det));
}

/** Least-squares DLT (h33 = 1) through all point pairs; null when the system is singular. */
function fitHomography(src: readonly Point[], dst: readonly Point[]): Mat3 | null {
  const ata: number[][] = Array.from({ length: 8 }, () => new Array<number>(9).fill(0));
  const add = (row: number[], rhs: number) => {
    for (let i = 0; i < 8; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      const t = ata[i]!;
      for (let j = 0; j < 8; j++) t[j] = t[j]! + ri * row[j]!;
      t[8] = t[8]! + ri * rhs;
    }
  };
  for (let k = 0; k < src.length; k++) {
    const [x, y] = src[k]!;
    const [u, v] = dst[k]!;
    add([x, y, 1, 0, 0, 0, -x * u, -y * u], u);
    add([0, 0, 0, x, y, 1, -x * v, -y * v], v);
  }
  try {
    const h = solveAugmented(ata, 8);
    if (!h.every(Number.isFinite)) return null;
    return Float64Array.of(h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!, 1);
  } catch {
    return null;
  }
}

/** A homography is plausible when it keeps orientation and its scale stays within 1/8..8 over the unit square. */
function plausible(H: Mat3): boolean {
  for (const [x, y] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
    const w = H[6]! * x + H[7]! * y + H[8]!;
    if (!(w > 0)) return false;
    const s = localScale(H, x, y);
    if (!(s > 1 / 8 && s < 8)) return false;
  }
  const det = H[0]! * H[4]! - H[1]! * H[3]!;
  return det > 0;
}

/** RANSAC over point correspondences; `threshold` in the destination's normalised units. */
export function ransacHomography(src: readonly Point[], dst: readonly Point[], threshold: number, iterations: number, seed = 1): { H: Mat3; inliers: number[] } | null {
  const n = src.length;
  if (n < 4) return null;
  const rng = new Rng(seed);
  const t2 = threshold * threshold;
  const inliersOf = (H: Mat3): number[] => {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const [u, v] = applyHomography(H, src[k]![0], src[k]![1]);
      const du = u - dst[k]![0];
      const dv = v - dst[k]![1];
      if (du * du + dv * dv < t2) out.push(k);
    }
    return out;
  };
  let best: number[] = [];
  for (let it = 0; it < iterations; it++) {
    const pick = new Set<number>();
    while (pick.size < 4) pick.add(rng.int(n));
    const idx = [...pick];
    let H: Mat3;
    try {
      H = getPerspectiveTransform(idx.map((k) => src[k]!), idx.map((k) => dst[k]!));
    } catch {
      continue;
    }
    if (!H.every(Number.isFinite) || !plausible(H)) continue;
    const inl = inliersOf(H);
    if (inl.length > best.length) best = inl;
  }
  if (best.length < 4) return null;
  // Refit on the inliers, then once more on the refit's inliers.
  let H = fitHomography(best.map((k) => src[k]!), best.map((k) => dst[k]!));
  if (!H || !plausible(H)) return null;
  const again = inliersOf(H);
  if (again.length >= best.length) {
    const H2 = fitHomography(again.map((k) => src[k]!), again.map((k) => dst[k]!));
    if (H2 && plausible(H2)) {
      H = H2;
      best = again;
    }
  }
  return { H, inliers: best };
}

/** relu3_1 features of a photo seen at ALIGN_SIDE. */
export type FeatureFn = (img: Float32Tensor) => Promise<Float32Tensor>;

async function featuresAt(photo: RgbImage, relu3: FeatureFn): Promise<Float32Tensor> {
  const s = ALIGN_SIDE / Math.max(photo.width, photo.height);
  const small = s < 1 ? pilResizeBicubic(photo, Math.max(16, Math.round(photo.width * s)), Math.max(16, Math.round(photo.height * s))) : photo;
  return relu3(toNCHW(small));
}

/** Patch centres (normalised) of matches A -> B that are mutual nearest neighbours. */
async function mutualMatches(fa: Float32Tensor, fb: Float32Tensor): Promise<{ src: Point[]; dst: Point[] }> {
  const ab = await matchRows(fa, fb);
  const ba = await matchRows(fb, fa);
  const src: Point[] = [];
  const dst: Point[] = [];
  const paw = ab.w - 2;
  const pbw = ba.w - 2;
  for (let i = 0; i < ab.index.length; i++) {
    const j = ab.index[i]!;
    if (ba.index[j] !== i) continue;
    const ax = (i % paw) + 1.5;
    const ay = Math.floor(i / paw) + 1.5;
    const bx = (j % pbw) + 1.5;
    const by = Math.floor(j / pbw) + 1.5;
    src.push([ax / ab.w, ay / ab.h]);
    dst.push([bx / ba.w, by / ba.h]);
  }
  return { src, dst };
}

/**
 * Links between every pair of photos of one scene whose homography has at least `minInliers` inliers (matched once
 * per pair; the reverse link is the inverse homography). `links[a]` lists the photos photo `a` can take its
 * reference from.
 */
export async function alignScene(photos: readonly RgbImage[], relu3: FeatureFn, o: AlignOptions = {}): Promise<ViewLink[][]> {
  const feats: Float32Tensor[] = [];
  for (const p of photos) feats.push(await featuresAt(p, relu3));
  const links: ViewLink[][] = photos.map(() => []);
  for (let a = 0; a < photos.length; a++) {
    for (let b = a + 1; b < photos.length; b++) {
      const fb = feats[b]!;
      const { src, dst } = await mutualMatches(feats[a]!, fb);
      const threshold = (o.threshold ?? 1.5) / Math.max(fb.shape[2]!, fb.shape[3]!);
      const r = ransacHomography(src, dst, threshold, o.iterations ?? 2000, 1 + a * 97 + b);
      if (!r || r.inliers.length < (o.minInliers ?? 48)) continue;
      const inv = invert3x3(r.H);
      const Hba = inv.map((v) => v / inv[8]!) as Mat3;
      links[a]!.push({ to: b, H: r.H, inliers: r.inliers.length, matches: src.length });
      links[b]!.push({ to: a, H: Hba, inliers: r.inliers.length, matches: src.length });
    }
  }
  return links;
}

/** Aligns one scene: its name, its photographs' file names and the photographs. */
export type SceneAligner = (scene: string, names: readonly string[], photos: readonly RgbImage[]) => Promise<ViewLink[][]>;

interface CachedScene {
  readonly names: readonly string[];
  readonly links: readonly (readonly { to: number; H: number[]; inliers: number; matches: number }[])[];
}

/**
 * An aligner that keeps its results in the JSON file `cachePath` (a scene is recomputed only when its photographs'
 * names change), computing with the VGG19 relu3_1 of `vggPath` (loaded on first need) otherwise.
 */
export async function cachedAligner(cachePath: string, vggPath: string): Promise<{ align: SceneAligner; close: () => Promise<void> }> {
  let cache: Record<string, CachedScene> = {};
  try {
    cache = JSON.parse(await readFile(cachePath, 'utf8')) as Record<string, CachedScene>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TrainingDataError(`multi-view alignment file ${cachePath} cannot be read (${(e as Error).message}); delete it to recompute`);
  }
  let fx: FeatureExtractor | undefined;
  let changed = false;
  const align: SceneAligner = async (scene, names, photos) => {
    const hit = cache[scene];
    if (hit && hit.names.length === names.length && hit.names.every((n, i) => n === names[i])) {
      return hit.links.map((ls) => ls.map((l) => ({ ...l, H: Float64Array.from(l.H) })));
    }
    fx ??= await FeatureExtractor.vggFromFile(vggPath);
    const f = fx;
    const links = await alignScene(photos, (x) => f.vggRelu3(x));
    cache[scene] = { names, links: links.map((ls) => ls.map((l) => ({ to: l.to, H: [...l.H], inliers: l.inliers, matches: l.matches }))) };
    changed = true;
    return links;
  };
  const close = async () => {
    await fx?.release();
    if (changed) await writeFileAtomic(cachePath, JSON.stringify(cache, null, 1) + '\n');
  };
  return { align, close };
}
