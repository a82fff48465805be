// Owns picking references from an album (`upscale --ref-dir`): every image file of a folder is decoded at reduced
// size (JPEG/WebP shrink-on-load, image/decode.ts `maxSide`), placed on one fixed-size canvas so a single ONNX session
// serves the whole album, turned into the model's small feature grid, scored against the input's grid by coarse
// dense matching (matching/scene-score.ts, features centred by the album's mean) and ranked by an album-relative
// score (albumScores): how much better than the album average each photo matches the input's most distinctive cells
// (distinctiveScores), plus how much of that matching agrees on one placement of the input in the photo (a geometric
// vote over scale and shift of the mutual matches, consistentVote; precision@3 0.852 -> 0.901 on the multi-view album
// of bench/retrieval.ts, the album it was chosen on). Unreadable files are skipped with a warning naming them;
// progress is per photo and the work is cancellable between photos.

import { RefsrError } from '../errors/refsr-error.ts';
import { readdirSync, statSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, ImageInputError } from '../image/decode.ts';
import { rgbImage, type RgbImage } from '../image/rgb-image.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import { toNCHW } from '../image/layout.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { albumScores, meanFeature, scoreGrid, type CellMatches, type ReferenceScore } from '../matching/scene-score.ts';
import { SceneScorer } from '../matching/scene-score-graph.ts';
import type { RefSRModel } from './refsr-model.ts';

/** What the ranking sorts by (see RankedReference; chosen by bench/retrieval.ts). */
export const RANK_BY: 'score' | 'distinct' = 'distinct';
/** Long side (px) of the small view of the input and of each album photo that retrieval compares. */
export const RETRIEVAL_SIDE = 192;
/** Smallest long side of the small views (a smaller input is upsampled to it). */
export const RETRIEVAL_MIN_SIDE = 64;
/** Image files an album may hold (by name; other files are ignored). */
export const ALBUM_FILE = /\.(png|jpe?g|webp|tiff?|bmp)$/i;
/** Album photos up to this size are accepted (they are only ever decoded at reduced size). */
export const ALBUM_MAX_PIXELS = 200_000_000;

export interface RankedReference extends ReferenceScore {
  readonly file: string;
  /**
   * The album-relative score the ranking uses (matching/scene-score.ts albumScores `combined`: `appearance` and
   * `geometry`, each standardised over the album, summed).
   */
  readonly distinct: number;
  /** How much better than the album average the photo matches the input's most distinctive cells (distinctiveScores). */
  readonly appearance: number;
  /** Weight of the photo's mutual matches that agree on one placement of the input (consistentVote). */
  readonly geometry: number;
  /** Size of the photo as stored (before the reduced decode). */
  readonly size: [number, number];
}

export interface RetrievalResult {
  /** Best first (by `score`, ties by name). */
  readonly ranking: RankedReference[];
  /** Files that could not be read, with the reason. */
  readonly skipped: { file: string; reason: string }[];
  /** Files ignored because their names are not image files (count). */
  readonly ignored: number;
  readonly seconds: number;
}

export interface RetrievalOptions {
  /** Long side of the compared views (default RETRIEVAL_SIDE). */
  readonly side?: number;
  /** Files to leave out (e.g. the input itself when it sits in the album); compared by real path. */
  readonly exclude?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (fraction: number) => void;
  /** Called for each unreadable file as it is skipped. */
  readonly onSkip?: (file: string, reason: string) => void;
}

export class AlbumError extends RefsrError {}

/** The image files of `dir` (name order) and how many other files it holds. */
export function listAlbum(dir: string): { files: string[]; ignored: number } {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new AlbumError(`${dir}: --ref-dir must be a folder of photos`);
    entries = readdirSync(dir).sort();
  } catch (e) {
    if (e instanceof AlbumError) throw e;
    throw new AlbumError(`${dir}: cannot read the album folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const files: string[] = [];
  let ignored = 0;
  for (const name of entries) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    let isFile = false;
    try { isFile = statSync(path).isFile(); } catch { /* dangling link: counted as ignored */ }
    if (isFile && ALBUM_FILE.test(name)) files.push(path);
    else if (isFile) ignored++;
  }
  return { files, ignored };
}

/** The view retrieval compares: long side `side` (aspect kept), placed top-left on a side x side black canvas. */
export function retrievalView(img: RgbImage, side: number): { canvas: RgbImage; cells: [number, number] } {
  const s = side / Math.max(img.width, img.height);
  const w = Math.max(4, Math.min(side, Math.round(img.width * s)));
  const h = Math.max(4, Math.min(side, Math.round(img.height * s)));
  const small = w === img.width && h === img.height ? img : pilResizeBicubic(img, w, h);
  const canvas = rgbImage(side, side);
  for (let y = 0; y < h; y++) canvas.data.set(small.data.subarray(y * w * 3, (y + 1) * w * 3), y * side * 3);
  return { canvas, cells: [Math.floor(h / 4), Math.floor(w / 4)] };
}

/** The model's retrieval features of a view, cropped to the cells the image covers: [1, C, rows, cols]. */
export async function viewFeatures(model: RefSRModel, view: { canvas: RgbImage; cells: [number, number] }): Promise<Float32Tensor> {
  const f = await model.sceneFeatures(toNCHW(view.canvas));
  const [, c, H, W] = f.shape as [number, number, number, number];
  const [rows, cols] = view.cells;
  const out = new Float32Array(c * rows * cols);
  for (let k = 0; k < c; k++) for (let y = 0; y < rows; y++) out.set(f.data.subarray((k * H + y) * W, (k * H + y) * W + cols), (k * rows + y) * cols);
  return { shape: [1, c, rows, cols], data: out };
}

/** An album photo's retrieval features: decoded at reduced size (long side `side`), viewed, through the model. */
export async function photoFeatures(model: RefSRModel, file: string, side: number): Promise<{ map: Float32Tensor; size: [number, number] }> {
  const img = await decodeImage(file, { maxPixels: ALBUM_MAX_PIXELS, maxSide: side });
  return { map: await viewFeatures(model, retrievalView(img, side)), size: img.fullSize ?? [img.width, img.height] };
}

/** The side of the compared views for an input of this size: its long side, clamped to [RETRIEVAL_MIN_SIDE, side]. */
export function retrievalSide(input: RgbImage, side = RETRIEVAL_SIDE): number {
  const s = Math.min(side, Math.max(RETRIEVAL_MIN_SIDE, Math.max(input.width, input.height)));
  return s - (s % 4);
}

function realPath(p: string): string {
  try { return realpathSync(p); } catch { return p; }
}

/** Ranks the album's photos as references for `input` (the LR image the user upscales). */
export async function rankAlbum(model: RefSRModel, input: RgbImage, files: readonly string[], opts: RetrievalOptions = {}): Promise<Omit<RetrievalResult, 'ignored'>> {
  const t0 = performance.now();
  const side = retrievalSide(input, opts.side);
  const excluded = new Set((opts.exclude ?? []).map(realPath));
  const inMap = await viewFeatures(model, retrievalView(input, side));
  const maps: { file: string; map: Float32Tensor; size: [number, number] }[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const todo = files.filter((f) => !excluded.has(realPath(f)));
  for (let i = 0; i < todo.length; i++) {
    opts.signal?.throwIfAborted();
    const file = todo[i]!;
    try {
      maps.push({ file, ...(await photoFeatures(model, file, side)) });
    } catch (e) {
      if (!(e instanceof ImageInputError)) throw e;
      skipped.push({ file, reason: e.problem });
      opts.onSkip?.(file, e.problem);
    }
    opts.onProgress?.((i + 1) / todo.length);
  }
  const ranking = await rankMaps(inMap, maps, model.threads);
  return { ranking, skipped, seconds: (performance.now() - t0) / 1000 };
}

/** Ranks album feature maps against the input's (centred by the mean feature of all of them), best first. */
export async function rankMaps(inMap: Float32Tensor, maps: readonly { file: string; size: [number, number]; map: Float32Tensor }[], threads?: number): Promise<RankedReference[]> {
  const centre = meanFeature([inMap, ...maps.map((m) => m.map)]);
  const inGrid = scoreGrid(inMap, centre);
  const scorer = await SceneScorer.create(threads);
  try {
    const matches: (CellMatches & { refWidth: number })[] = [];
    for (const m of maps) {
      const g = scoreGrid(m.map, centre);
      matches.push({ ...(await scorer.bestMatches(inGrid, g)), refWidth: g.width });
    }
    const scores = albumScores(inGrid.width, matches);
    const ranked: RankedReference[] = maps.map((m, k) => {
      const b = matches[k]!.best;
      let sum = 0;
      for (let i = 0; i < b.length; i++) sum += b[i]!;
      return {
        file: m.file, size: m.size, distinct: scores.combined[k]!, appearance: scores.appearance[k]!, geometry: scores.geometry[k]!,
        score: b.length ? sum / b.length : 0, mutual: matches[k]!.mutual,
      };
    });
    return ranked.sort((a, b) => b[RANK_BY] - a[RANK_BY] || (a.file < b.file ? -1 : 1));
  } finally {
    await scorer.release();
  }
}

/** Lists the folder and ranks its photos (see rankAlbum). */
export async function retrieveReferences(model: RefSRModel, input: RgbImage, dir: string, opts: RetrievalOptions = {}): Promise<RetrievalResult> {
  const { files, ignored } = listAlbum(dir);
  if (files.length === 0) throw new AlbumError(`${dir}: no photos found (PNG, JPEG, WebP, TIFF or BMP files)`);
  const r = await rankAlbum(model, input, files, opts);
  if (r.ranking.length === 0) throw new AlbumError(`${dir}: none of its ${files.length} image files could be read`);
  return { ...r, ignored };
}
