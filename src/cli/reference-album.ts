// Owns `upscale --ref-dir ALBUM [--top-k K]` on the command line: rank the album against the input
// (pipeline/reference-retrieval.ts), print the ranking with scores on stderr, warn about unreadable files, and decode
// the best K photos for the upscale (each within its share of the reference pixel budget, shrunk while decoding).

import { basename } from 'node:path';
import { decodeImage, fitInside, type DecodedImage } from '../image/decode.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import type { RefSRModel } from '../pipeline/refsr-model.ts';
import { retrieveReferences, ALBUM_MAX_PIXELS, type RankedReference } from '../pipeline/reference-retrieval.ts';
import type { ProgressReporter } from './progress.ts';

/**
 * References used when `--top-k` is not given: a multi-reference model fuses 3 (its attention weighs them); a
 * single-reference model takes the best one, since packing more into its canvas did not help on the multi-view
 * groups (README, "Reference retrieval").
 */
export function defaultTopK(model: RefSRModel): number {
  return model.info.mref ? 3 : 1;
}

/** Ranking lines printed (the JSON summary has all of them). */
export const RANKING_LINES = 10;

export interface AlbumReferences {
  readonly refs: { image: DecodedImage; name: string }[];
  readonly ranking: RankedReference[];
  readonly skipped: { file: string; reason: string }[];
  readonly seconds: number;
  readonly topK: number;
}

export async function albumReferences(model: RefSRModel, input: RgbImage, inputPath: string, dir: string, opts: {
  topK?: number; refMaxPixels: number; progress: ProgressReporter; signal?: AbortSignal;
}): Promise<AlbumReferences> {
  const { progress } = opts;
  const k = opts.topK ?? defaultTopK(model);
  const r = await retrieveReferences(model, input, dir, {
    exclude: [inputPath], signal: opts.signal,
    onProgress: (f) => progress.update('ranking album', f),
    onSkip: (file, reason) => progress.note(`warning: skipped ${file}: ${reason}`),
  });
  progress.stop();
  const chosen = r.ranking.slice(0, k);
  const n = r.ranking.length + r.skipped.length;
  progress.note(`reference ranking of ${r.ranking.length} photos in ${dir} (${r.seconds.toFixed(1)} s, ${(1000 * r.seconds / Math.max(1, n)).toFixed(0)} ms per photo${r.skipped.length ? `, ${r.skipped.length} skipped` : ''}${r.ignored ? `, ${r.ignored} non-image files ignored` : ''}); ranked by distinct = appearance + geometry, each standardised over the album (appearance: how much better than the album average its cells match the input's, top 30% of cells; geometry: weight of the mutual matches agreeing on one placement, scale and shift); score = mean best cosine, mutual = share of mutual matches:`);
  r.ranking.slice(0, Math.max(RANKING_LINES, k)).forEach((c, i) => {
    progress.note(`  ${String(i + 1).padStart(3)}. distinct ${c.distinct.toFixed(2).padStart(5)} (appearance ${c.appearance.toFixed(2).padStart(5)}, geometry ${c.geometry.toFixed(2).padStart(5)})  score ${c.score.toFixed(3)}  mutual ${c.mutual.toFixed(3)}  ${basename(c.file)}${i < k ? '  <- used' : ''}`);
  });
  if (r.ranking.length > Math.max(RANKING_LINES, k)) progress.note(`  ... ${r.ranking.length - Math.max(RANKING_LINES, k)} more (--json lists all)`);
  if (chosen.length < k) progress.note(`note: --top-k ${k} asked for more references than the ${chosen.length} readable photos`);
  // Each chosen photo is decoded within its share of the reference budget (shrink-on-load), not decoded whole and
  // downscaled afterwards.
  const share = opts.refMaxPixels / Math.max(1, chosen.length);
  const refs: AlbumReferences['refs'] = [];
  for (const c of chosen) {
    opts.signal?.throwIfAborted();
    const [w, h] = c.size;
    let maxSide: number | undefined;
    if (w * h > share) {
      maxSide = Math.floor(Math.max(w, h) * Math.sqrt(share / (w * h)));
      const fit = fitInside(w, h, maxSide)!;
      progress.note(`note: reference ${c.file} decoded at ${fit.width}x${fit.height} instead of ${w}x${h} (its share of the ${(opts.refMaxPixels / 1e6).toFixed(1)} MP reference budget; raise it with --ref-max-pixels)`);
    }
    refs.push({ image: await decodeImage(c.file, { maxPixels: ALBUM_MAX_PIXELS, maxSide }), name: c.file });
  }
  return { refs, ranking: r.ranking, skipped: r.skipped, seconds: r.seconds, topK: k };
}
