// Owns the reference relevance score of one upscale: the mean best-match correlation of the input's patches against
// a reference (the `score` the matcher already computes, cosine of L2-normalised features), and the threshold below
// which a reference is reported as looking unrelated to the input, so nobody believes texture was transferred when
// it was not. Deliberately small: the retrieval score of `--ref-dir` can replace it behind the same two exports.
// The threshold was set by measurement (bench/reference-score.ts, README "Reference check").

import type { MatchIndex } from './pre-offset.ts';

/**
 * Below this mean best-match correlation a reference is reported as looking unrelated, for a model whose bundle
 * does not carry its own threshold (`refsr.unrelated_score`; measured for v1's untrained matcher).
 */
export const UNRELATED_REFERENCE_SCORE = 0.85;

/** Mean best-match correlation over the input's patch positions (NaN when the matcher kept no scores). */
export function referenceScore(match: MatchIndex): number {
  const s = match.score;
  if (!s || s.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i]!;
  return sum / s.length;
}

export function looksUnrelated(score: number, threshold = UNRELATED_REFERENCE_SCORE): boolean {
  return Number.isFinite(score) && score < threshold;
}
