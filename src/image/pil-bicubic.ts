// Owns the bit-exact reproduction of Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit RGB (libImaging
// Resample.c): the resize that makes the LR input (/4) and the x4 upsample fed to matching. Separable bicubic
// (a = -0.5), support 2 widened by the downscale factor, weights normalised in float64 and then converted to 22-bit
// fixed point; horizontal pass first into an 8-bit intermediate, then the vertical pass. A pass whose size is
// unchanged is skipped, exactly as Pillow does.

import { rgbImage, type RgbImage } from './rgb-image.ts';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per output pixel: the first input index, the tap count, and `taps` fixed-point weights (row-major). */
interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly taps: number;
  readonly weights: Int32Array;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterScale;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C `(int)` truncates toward zero; both bounds are then clamped into the image.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[xx * taps + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = Math.max(n, 0);
  }
  return { first, count, taps, weights };
}

function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function horizontal(src: RgbImage, outW: number, rowFirst: number, rows: number): RgbImage {
  const c = coefficients(src.width, outW);
  const out = new Uint8Array(outW * rows * 3);
  for (let y = 0; y < rows; y++) {
    const rowIn = (y + rowFirst) * src.width * 3;
    for (let xx = 0; xx < outW; xx++) {
      const base = xx * c.taps;
      const xmin = c.first[xx]!;
      const n = c.count[xx]!;
      let r = HALF, g = HALF, b = HALF;
      for (let x = 0; x < n; x++) {
        const w = c.weights[base + x]!;
        const p = rowIn + (x + xmin) * 3;
        r += src.data[p]! * w;
        g += src.data[p + 1]! * w;
        b += src.data[p + 2]! * w;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return rgbImage(outW, rows, out);
}

// The vertical pass mirrors the horizontal one with the roles of rows and columns swapped; both stay written out
// because they are the hot loops of every resize and a shared per-pixel helper costs a call per tap.
function vertical(src: RgbImage, c: Coefficients, rowShift: number): RgbImage {
  const outH = c.first.length;
  const w = src.width;
  const out = new Uint8Array(w * outH * 3);
  for (let yy = 0; yy < outH; yy++) {
    const base = yy * c.taps;
    const ymin = c.first[yy]! - rowShift;
    const n = c.count[yy]!;
    for (let xx = 0; xx < w; xx++) {
      let r = HALF, g = HALF, b = HALF;
      for (let y = 0; y < n; y++) {
        const k = c.weights[base + y]!;
        const p = ((y + ymin) * w + xx) * 3;
        r += src.data[p]! * k;
        g += src.data[p + 1]! * k;
        b += src.data[p + 2]! * k;
      }
      const o = (yy * w + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return rgbImage(w, outH, out);
}

/** Pillow `img.resize((outW, outH), Image.BICUBIC)` for an RGB image, bit for bit. */
export function pilResizeBicubic(img: RgbImage, outW: number, outH: number): RgbImage {
  if (!Number.isInteger(outW) || !Number.isInteger(outH) || outW < 1 || outH < 1) {
    throw new Error(`bicubic resize: target size ${outW}x${outH} must be positive integers`);
  }
  if (img.width < 1 || img.height < 1) throw new Error(`bicubic resize: source image is empty (${img.width}x${img.height})`);
  if (outW === img.width && outH === img.height) return rgbImage(outW, outH, img.data.slice());
  const vert = coefficients(img.height, outH);
  // The horizontal pass only produces the source rows the vertical pass reads (Pillow's ybox_first..ybox_last).
  const rowFirst = vert.first[0]!;
  const rowLast = vert.first[outH - 1]! + vert.count[outH - 1]!;
  let cur = img;
  let rowShift = 0;
  if (outW !== img.width) {
    cur = horizontal(img, outW, rowFirst, rowLast - rowFirst);
    rowShift = rowFirst;
  }
  if (outH !== img.height) cur = vertical(cur, vert, rowShift);
  return cur;
}
