// Owns the synthetic training pairs of the contrastive correspondence network (official contras_dataset
// `image_pair_generation` and the `ContrasDataset.__getitem__` around it): a 160 px window whose four corners are
// each moved by up to 10 px defines a homography H (float64, the 8x8 linear system of cv2.getPerspectiveTransform);
// the image is warped as cv2.warpPerspective(img, H^-1) does it (out(p) = in(H p), bilinear with sample positions
// quantised to 1/32 px, zero border); the ground-truth correspondence of every pixel is H^-1 (x, y, 1) projected.
// The random draws are explicit (`PairDraws`), so recorded numpy draws reproduce the reference exactly; `drawPair`
// makes the same sequence of draws from a seeded generator.

import type { Rng } from '../../random/rng.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { rgbImage } from '../../image/rgb-image.ts';
import { pilResizeBicubic } from '../../image/pil-bicubic.ts';
import { roundHalfEven } from '../../image/layout.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

export interface PairDraws {
  readonly xTopLeft: number;
  readonly yTopLeft: number;
  /** Corner moves in draw order: tl.x, tl.y, tr.x, tr.y, bl.x, bl.y, br.x, br.y (each randint(lo, hi) * ±1). */
  readonly moves: readonly number[];
}

export interface PairOptions {
  /** `random_perturb_range` (default [0, 10]). */
  readonly perturbRange?: readonly [number, number];
  /** `cropping_window_size` (default 160). */
  readonly window?: number;
}

/** 3x3 row-major float64 matrix. */
export type Mat3 = Float64Array;

/** The official draw sequence from a seeded generator (numpy order: x, y, then per corner and axis randint, choice). */
export function drawPair(rng: Rng, width: number, height: number, opts: PairOptions = {}): PairDraws {
  const [lo, hi] = opts.perturbRange ?? [0, 10];
  const s = opts.window ?? 160;
  const xTopLeft = rng.randint(hi, Math.max(width, width - s - hi));
  const yTopLeft = rng.randint(hi, Math.max(height, height - s - hi));
  const moves: number[] = [];
  for (let i = 0; i < 8; i++) {
    const m = rng.randint(lo, hi);
    moves.push(m * rng.choice([-1, 1]));
  }
  return { xTopLeft, yTopLeft, moves };
}

/** Draws recorded as `{fn, args, value}` (golden `random_draws`), in numpy order. */
export function drawsFromRecord(record: readonly { fn: string; value: number }[]): PairDraws {
  if (record.length !== 18) throw new Error(`expected 18 recorded draws, got ${record.length}`);
  const v = record.map((r) => r.value);
  const moves: number[] = [];
  for (let i = 0; i < 8; i++) moves.push(v[2 + 2 * i]! * v[3 + 2 * i]!);
  return { xTopLeft: v[0]!, yTopLeft: v[1]!, moves };
}

export interface PairGeometry {
  /** Window corners tl, tr, br, bl as (x, y) (cv2 order). */
  readonly rect1: readonly (readonly [number, number])[];
  readonly rect2: readonly (readonly [number, number])[];
  /** H = getPerspectiveTransform(rect1, rect2). */
  readonly H: Mat3;
  /** inverse of H. */
  readonly Hinv: Mat3;
}

export function pairGeometry(d: PairDraws, opts: PairOptions = {}): PairGeometry {
  const s = opts.window ?? 160;
  const x = d.xTopLeft;
  const y = d.yTopLeft;
  const tl: [number, number] = [x, y];
  const tr: [number, number] = [x + s, y];
  const bl: [number, number] = [x, y + s];
  const br: [number, number] = [x + s, y + s];
  const m = d.moves;
  const tl2: [number, number] = [tl[0] + m[0]!, tl[1] + m[1]!];
  const tr2: [number, number] = [tr[0] + m[2]!, tr[1] + m[3]!];
  const bl2: [number, number] = [bl[0] + m[4]!, bl[1] + m[5]!];
  const br2: [number, number] = [br[0] + m[6]!, br[1] + m[7]!];
  const rect1 = [tl, tr, br, bl];
  const rect2 = [tl2, tr2, br2, bl2];
  const H = getPerspectiveTransform(rect1, rect2);
  return { rect1, rect2, H, Hinv: invert3x3(H) };
}

/** cv2.getPerspectiveTransform: the 8x8 system of OpenCV solved in float64 (LU with partial pivoting); H[2][2] = 1. */
export function getPerspectiveTransform(src: readonly (readonly [number, number])[], dst: readonly (readonly [number, number])[]): Mat3 {
  const a: number[][] = Array.from({ length: 8 }, () => new Array<number>(9).fill(0));
  for (let i = 0; i < 4; i++) {
    const [sx, sy] = src[i]!;
    const [dx, dy] = dst[i]!;
    a[i]![0] = a[i + 4]![3] = sx;
    a[i]![1] = a[i + 4]![4] = sy;
    a[i]![2] = a[i + 4]![5] = 1;
    a[i]![6] = -sx * dx;
    a[i]![7] = -sy * dx;
    a[i + 4]![6] = -sx * dy;
    a[i + 4]![7] = -sy * dy;
    a[i]![8] = dx;
    a[i + 4]![8] = dy;
  }
  const x = solveAugmented(a, 8);
  return Float64Array.of(x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6]!, x[7]!, 1);
}

/** Gaussian elimination with partial pivoting on an n x (n+1) augmented matrix (modified in place). */
export function solveAugmented(a: number[][], n: number): number[] {
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[p]![col]!)) p = r;
    if (a[p]![col] === 0) throw new Error('getPerspectiveTransform: singular system (degenerate corners)');
    [a[col], a[p]] = [a[p]!, a[col]!];
    const piv = a[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const f = row[col]! / piv[col]!;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) row[c] = row[c]! - f * piv[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let acc = a[r]![n]!;
    for (let c = r + 1; c < n; c++) acc -= a[r]![c]! * x[c]!;
    x[r] = acc / a[r]![r]!;
  }
  return x;
}

export function invert3x3(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m as unknown as number[];
  const A = e! * i! - f! * h!;
  const B = -(d! * i! - f! * g!);
  const C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  if (det === 0) throw new Error('invert3x3: singular matrix');
  return Float64Array.of(
    A / det, -(b! * i! - c! * h!) / det, (b! * f! - c! * e!) / det,
    B / det, (a! * i! - c! * g!) / det, -(a! * f! - c! * d!) / det,
    C / det, -(a! * h! - b! * g!) / det, (a! * e! - b! * d!) / det,
  );
}

/** An image as float32 planes in HWC order (any channel count). */
export interface HwcImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

const TAB = 32;

/**
 * cv2.warpPerspective(src, M, (w, h)) with INTER_LINEAR and a constant 0 border, where `sampleAt` = M^-1 (OpenCV
 * inverts M unless WARP_INVERSE_MAP): out(x, y) samples src at sampleAt . (x, y, 1), projected, with the position
 * rounded to 1/32 px (half to even, as cvRound) and float32 bilinear weights; corners outside count 0.
 */
export function warpPerspective(src: HwcImage, sampleAt: Mat3, width: number, height: number): HwcImage {
  const { width: sw, height: sh, channels: cn, data } = src;
  const out = new Float32Array(width * height * cn);
  const M = sampleAt;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let W = M[6]! * x + M[7]! * y + M[8]!;
      W = W ? TAB / W : 0;
      const X = clampInt(roundHalfEven((M[0]! * x + M[1]! * y + M[2]!) * W));
      const Y = clampInt(roundHalfEven((M[3]! * x + M[4]! * y + M[5]!) * W));
      const x0 = Math.floor(X / TAB);
      const y0 = Math.floor(Y / TAB);
      const fx = Math.fround((X - x0 * TAB) / TAB);
      const fy = Math.fround((Y - y0 * TAB) / TAB);
      const w00 = Math.fround(Math.fround(1 - fy) * Math.fround(1 - fx));
      const w01 = Math.fround(Math.fround(1 - fy) * fx);
      const w10 = Math.fround(fy * Math.fround(1 - fx));
      const w11 = Math.fround(fy * fx);
      const o = (y * width + x) * cn;
      for (let k = 0; k < cn; k++) {
        const p = (yy: number, xx: number) => (yy >= 0 && yy < sh && xx >= 0 && xx < sw ? data[(yy * sw + xx) * cn + k]! : 0);
        out[o + k] = Math.fround(p(y0, x0) * w00 + p(y0, x0 + 1) * w01 + p(y0 + 1, x0) * w10 + p(y0 + 1, x0 + 1) * w11);
      }
    }
  }
  return { width, height, channels: cn, data: out };
}

function clampInt(v: number): number {
  return Math.max(-2147483648, Math.min(2147483647, v));
}

/** [h, w, 3] float64: H_inverse . (x, y, 1) divided by its third component, for every pixel (x, y). */
export function transformedCoordinates(Hinv: Mat3, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const z = Hinv[6]! * x + Hinv[7]! * y + Hinv[8]!;
      const o = (y * width + x) * 3;
      out[o] = (Hinv[0]! * x + Hinv[1]! * y + Hinv[2]!) / z;
      out[o + 1] = (Hinv[3]! * x + Hinv[4]! * y + Hinv[5]!) / z;
      out[o + 2] = 1;
    }
  }
  return out;
}

export interface ContrasSample extends PairGeometry {
  /** Image 1 in [0, 1], [1, 3, h, w] (`img_in`). */
  readonly imgIn: Float32Tensor;
  /** PIL bicubic /4 then x4 of image 1 (`img_in_up`, the student's input). */
  readonly imgInUp: Float32Tensor;
  /** The warped image 2 (`img_ref`). */
  readonly imgRef: Float32Tensor;
  /** PIL bicubic down/up of uint8(img_ref * 255), truncated (`img_ref_up`). */
  readonly imgRefUp: Float32Tensor;
  /** [h, w, 3] float64 ground-truth positions in image 2 of every pixel of image 1. */
  readonly transformedCoordinate: Float64Array;
}

/** One `ContrasDataset` item for an image already at gt_size (scale 4), with the given draws. */
export function contrasSample(img: RgbImage, draws: PairDraws, opts: PairOptions = {}): ContrasSample {
  const { width: w, height: h } = img;
  const geo = pairGeometry(draws, opts);
  const src: HwcImage = { width: w, height: h, channels: 3, data: Float32Array.from(img.data, (v) => v / 255) };
  const warped = warpPerspective(src, geo.H, w, h);
  // The degraded views are computed when first read (a teacher batch reads neither, a student batch one).
  let inUp: Float32Tensor | undefined;
  let refUp: Float32Tensor | undefined;
  return {
    ...geo,
    imgIn: hwcToNCHW(src),
    get imgInUp() { return (inUp ??= u8ToNCHW(bicubicDownUp(img))); },
    imgRef: hwcToNCHW(warped),
    get imgRefUp() {
      return (refUp ??= u8ToNCHW(bicubicDownUp(rgbImage(w, h, Uint8Array.from(warped.data, (v) => Math.trunc(Math.fround(v * 255)))))));
    },
    transformedCoordinate: transformedCoordinates(geo.Hinv, w, h),
  };
}

function bicubicDownUp(img: RgbImage): RgbImage {
  const lr = pilResizeBicubic(img, Math.floor(img.width / 4), Math.floor(img.height / 4));
  return pilResizeBicubic(lr, img.width, img.height);
}

function hwcToNCHW(img: HwcImage): Float32Tensor {
  const { width: w, height: h, channels: c, data } = img;
  const out = new Float32Array(c * h * w);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[k * h * w + i] = data[i * c + k]!;
  return { shape: [1, c, h, w], data: out };
}

function u8ToNCHW(img: RgbImage): Float32Tensor {
  return hwcToNCHW({ width: img.width, height: img.height, channels: 3, data: Float32Array.from(img.data, (v) => v / 255) });
}
