// Owns the ground truth of the contrastive losses (official teacher/student `warp` and the safe-radius masks), all
// on the host in float64: which image-1 feature-grid points land well inside image 2, where (rounded to the image-2
// feature grid), and which pairs are far enough apart to serve as negatives.

import { roundHalfEven } from '../../image/layout.ts';

export interface CorrespondenceOptions {
  /** Feature stride as a power of two (official scaling_steps = 2: the features are at 1/4). */
  readonly scalingSteps?: number;
  /** Chebyshev radius (in feature cells) inside which a candidate is not a negative (official 4). */
  readonly safeRadius?: number;
  /** Border in image pixels a warped point must stay strictly inside (official 10). */
  readonly border?: number;
}

export interface CorrespondenceTargets extends ValidCorrespondences {
  /** [n, n] 1 where points i and j of image 2 are more than safeRadius apart (Chebyshev), else 0. */
  readonly outsideRadius2: Float32Array;
  /** [n, h1*w1] 1 where image-1 grid point j is more than safeRadius from valid point i, else 0. */
  readonly outsideRadius1: Float32Array;
}

/** The valid image-1 points and their image-2 feature positions (the targets without the safe-radius masks). */
export interface ValidCorrespondences {
  /** Row-major indices in the h1 x w1 grid of the valid image-1 points. */
  readonly ids: Int32Array;
  /** Their positions in the image-2 feature map, (y, x) per point: round(pos2 / 2^steps), half to even. */
  readonly fmapPos2: Int32Array;
}

/**
 * @param coords [H, W, 3] (x', y', 1) float64: where each pixel of image 1 lands in image 2 (`transformed_coordinate`)
 * @param width  W of the image (coords row stride)
 */
export function validCorrespondences(coords: ArrayLike<number>, width: number, h1: number, w1: number, opts: CorrespondenceOptions = {}): ValidCorrespondences {
  const steps = opts.scalingSteps ?? 2;
  const scale = 2 ** steps;
  const border = opts.border ?? 10;
  const maxH = scale * h1;
  const maxW = scale * w1;
  const ids: number[] = [];
  const pos: number[] = [];
  for (let i = 0; i < h1; i++) {
    for (let j = 0; j < w1; j++) {
      const o = (i * scale * width + j * scale) * 3;
      const x = coords[o]!;
      const y = coords[o + 1]!;
      if (x > border && x < maxW - border && y > border && y < maxH - border) {
        ids.push(i * w1 + j);
        let py = y;
        let px = x;
        for (let s = 0; s < steps; s++) { py /= 2; px /= 2; }
        pos.push(roundHalfEven(py), roundHalfEven(px));
      }
    }
  }
  return { ids: Int32Array.from(ids), fmapPos2: Int32Array.from(pos) };
}

/** Valid points (`validCorrespondences`) and the safe-radius masks of both negative sets. */
export function correspondenceTargets(coords: ArrayLike<number>, width: number, h1: number, w1: number, opts: CorrespondenceOptions = {}): CorrespondenceTargets {
  const safe = opts.safeRadius ?? 4;
  const { ids, fmapPos2: pos } = validCorrespondences(coords, width, h1, w1, opts);
  const n = ids.length;
  const outsideRadius2 = new Float32Array(n * n);
  const outsideRadius1 = new Float32Array(n * h1 * w1);
  for (let a = 0; a < n; a++) {
    const ya = pos[2 * a]!;
    const xa = pos[2 * a + 1]!;
    for (let b = 0; b < n; b++) {
      const d = Math.max(Math.abs(ya - pos[2 * b]!), Math.abs(xa - pos[2 * b + 1]!));
      outsideRadius2[a * n + b] = d > safe ? 1 : 0;
    }
    const ia = Math.floor(ids[a]! / w1);
    const ja = ids[a]! % w1;
    for (let i = 0; i < h1; i++) {
      for (let j = 0; j < w1; j++) {
        outsideRadius1[a * h1 * w1 + i * w1 + j] = Math.max(Math.abs(ia - i), Math.abs(ja - j)) > safe ? 1 : 0;
      }
    }
  }
  return { ids, fmapPos2: pos, outsideRadius2, outsideRadius1 };
}
