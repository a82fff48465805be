// Owns the geometric and layout conversions of RgbImage: mod-crop, zero padding, cropping, and the conversions to
// and from the network's NCHW float [0,1] tensors (`uint8 / 255` in; the official `tensor2img` rounding out) and the
// golden files' U8 HWC tensors.

import { rgbImage, type RgbImage } from './rgb-image.ts';
import { float32Tensor, formatShape, type Float32Tensor } from '../tensor/host-tensor.ts';

/** Drops bottom rows and right columns so both sides are multiples of `m`. */
export function modCrop(img: RgbImage, m: number): RgbImage {
  if (!Number.isInteger(m) || m < 1) throw new Error(`modCrop: modulus ${m} must be a positive integer`);
  return crop(img, 0, 0, img.width - (img.width % m), img.height - (img.height % m));
}

/** Extends the image to `h` x `w` by adding zero (black) rows at the bottom and columns at the right. */
export function padBottomRight(img: RgbImage, h: number, w: number): RgbImage {
  if (h < img.height || w < img.width) {
    throw new Error(`padBottomRight: target ${w}x${h} is smaller than the image ${img.width}x${img.height}`);
  }
  if (h === img.height && w === img.width) return rgbImage(w, h, img.data.slice());
  const out = new Uint8Array(w * h * 3);
  const rowBytes = img.width * 3;
  for (let y = 0; y < img.height; y++) out.set(img.data.subarray(y * rowBytes, (y + 1) * rowBytes), y * w * 3);
  return rgbImage(w, h, out);
}

/** The `w` x `h` region whose top-left corner is (x, y); it must lie inside the image. */
export function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w < 0 || h < 0 || x + w > img.width || y + h > img.height) {
    throw new Error(`crop: region ${w}x${h} at (${x}, ${y}) is not inside the ${img.width}x${img.height} image`);
  }
  const out = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    const from = ((y + r) * img.width + x) * 3;
    out.set(img.data.subarray(from, from + w * 3), r * w * 3);
  }
  return rgbImage(w, h, out);
}

/** [1, 3, H, W] float32 in [0, 1], each value `u8 / 255` (rounded to float32, as torch does). */
export function toNCHW(img: RgbImage): Float32Tensor {
  const { width: w, height: h, data } = img;
  const plane = w * h;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = data[i * 3]! / 255;
    out[plane + i] = data[i * 3 + 1]! / 255;
    out[2 * plane + i] = data[i * 3 + 2]! / 255;
  }
  return float32Tensor([1, 3, h, w], out);
}

/** Rounds half to even, like numpy `round` and `torch.round`. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The official `tensor2img`: `round(clamp(v, 0, 1) * 255)` with the product in float32 and round half to even.
 * Accepts [1, 3, H, W] or [3, H, W]. NaN becomes 0.
 */
export function fromNCHW(t: Float32Tensor): RgbImage {
  const s = t.shape;
  const ok = (s.length === 4 && s[0] === 1 && s[1] === 3) || (s.length === 3 && s[0] === 3);
  if (!ok) throw new Error(`fromNCHW: expected shape [1, 3, H, W] or [3, H, W], got ${formatShape(s)}`);
  const h = s[s.length - 2]!;
  const w = s[s.length - 1]!;
  const plane = w * h;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      const v = t.data[c * plane + i]!;
      const clamped = v > 0 ? (v < 1 ? v : 1) : 0; // NaN -> 0
      out[i * 3 + c] = roundHalfEven(Math.fround(clamped * 255));
    }
  }
  return rgbImage(w, h, out);
}

/** An RgbImage over a golden U8 tensor of shape [H, W, 3]. */
export function fromHWC(shape: readonly number[], data: Uint8Array): RgbImage {
  if (shape.length !== 3 || shape[2] !== 3) throw new Error(`fromHWC: expected shape [H, W, 3], got ${formatShape(shape)}`);
  return rgbImage(shape[1]!, shape[0]!, data);
}
