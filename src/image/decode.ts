// Owns turning an image file (or its bytes) into an RgbImage, refusing anything unreadable with an ImageInputError
// that names the file and the problem.
// - The format comes from the bytes (magic numbers), never the file name: PNG, JPEG, WebP and TIFF are decoded with
//   sharp; BMP (which sharp cannot read) with the small decoder below (uncompressed 8-bit palette, 24-bit, 32-bit).
// - EXIF orientation is applied. Grayscale and palette images become RGB; 16-bit samples are scaled to 8 bits.
// - Transparency is flattened onto WHITE (what a photo viewer shows); `hadAlpha` reports that some pixel was not
//   fully opaque, so the caller can warn.
// - Size limit: `maxPixels` (default DEFAULT_MAX_PIXELS, 40 megapixels) is checked from the header before any pixel
//   is decoded. The file size is capped accordingly before it is read.
// - Truncated data is an error (sharp `failOn: 'error'`); mere decoder warnings (e.g. stray bytes in a JPEG) are not.
// - Reduced-size decoding (`maxSide`): the image comes out with its long side at most `maxSide`, and JPEG and WebP are
//   shrunk while they decode (libjpeg's DCT scaling, sharp `fastShrinkOnLoad`), so a 12 MP photo costs about 1/64 of
//   a full decode. For looking at many photos cheaply (reference retrieval), never for pixels the network restores.

import { pilResizeBicubic } from './pil-bicubic.ts';
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { rgbImage, type RgbImage } from './rgb-image.ts';
import { ImageInputError } from './image-input-error.ts';

export { ImageInputError };
import { flattenOnWhite } from './flatten-alpha.ts';

export const DEFAULT_MAX_PIXELS = 40_000_000;

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'bmp';

export interface DecodedImage extends RgbImage {
  /** True when some pixel was not fully opaque (it was flattened onto white). */
  readonly hadAlpha: boolean;
  /** The format found in the bytes (which may disagree with the file name). */
  readonly format: ImageFormat;
  /** With `maxSide`: the stored size (width, height, EXIF orientation applied) before the reduced decode. */
  readonly fullSize?: [number, number];
}

export interface DecodeOptions {
  /** Largest accepted width * height; default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /** Decode at reduced size: long side at most this many pixels (aspect kept; shrink-on-load where the format allows). */
  maxSide?: number;
}


const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', tiff: 'TIFF', bmp: 'BMP' };

function startsWith(b: Uint8Array, bytes: readonly number[], at = 0): boolean {
  return b.length >= at + bytes.length && bytes.every((v, i) => b[at + i] === v);
}

/** The format announced by the first bytes, or undefined. */
export function detectFormat(b: Uint8Array): ImageFormat | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x52, 0x49, 0x46, 0x46]) && startsWith(b, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(b, [0x42, 0x4d])) return 'bmp';
  return undefined;
}

/** A short name for formats we recognise but do not accept. */
function otherFormat(b: Uint8Array): string | undefined {
  if (startsWith(b, [0x47, 0x49, 0x46, 0x38])) return 'a GIF image';
  if (startsWith(b, [0x66, 0x74, 0x79, 0x70], 4)) return 'a HEIF/AVIF image';
  if (startsWith(b, [0x3c, 0x3f, 0x78, 0x6d, 0x6c]) || startsWith(b, [0x3c, 0x73, 0x76, 0x67])) return 'an SVG/XML file';
  if (startsWith(b, [0x25, 0x50, 0x44, 0x46])) return 'a PDF document';
  if (startsWith(b, [0x49, 0x49, 0xbc]) || startsWith(b, [0xff, 0x0a]) || startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c])) return 'a JPEG XR/XL image';
  return undefined;
}

function pixelCount(n: number): string {
  return n >= 100_000 ? `${(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`;
}

function checkSize(name: string, width: number, height: number, maxPixels: number): void {
  if (!(width > 0) || !(height > 0)) throw new ImageInputError(name, `image has zero size (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new ImageInputError(name, `image is ${width}x${height} (${pixelCount(width * height)}), above the limit of ${pixelCount(maxPixels)}; downscale it first`);
  }
}

function reason(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).split('\n')[0]!.trim();
}

async function readBytes(path: string, maxPixels: number): Promise<Uint8Array> {
  // Generous: an uncompressed 16-bit RGBA image at the pixel limit plus room for metadata.
  const maxBytes = maxPixels * 8 + 64 * 1024 * 1024;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new ImageInputError(path, 'is a folder, not an image file');
    if (!s.isFile()) throw new ImageInputError(path, 'is not a regular file');
    if (s.size > maxBytes) throw new ImageInputError(path, `file is ${(s.size / 2 ** 20).toFixed(0)} MiB, too large for an image within the limit of ${pixelCount(maxPixels)}`);
    return new Uint8Array(await readFile(path));
  } catch (e) {
    if (e instanceof ImageInputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a folder, not an image file' : `cannot read the file (${reason(e)})`;
    throw new ImageInputError(path, why);
  }
}

/** Decodes an image file, or bytes with the name to use in messages. */
export async function decodeImage(input: string | { bytes: Uint8Array; name: string }, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!(maxPixels > 0)) throw new RangeError(`decodeImage: maxPixels must be positive, got ${maxPixels}`);
  const name = typeof input === 'string' ? input : input.name;
  const bytes = typeof input === 'string' ? await readBytes(input, maxPixels) : input.bytes;
  if (bytes.length === 0) throw new ImageInputError(name, 'file is empty (0 bytes)');
  const format = detectFormat(bytes);
  if (!format) {
    const other = otherFormat(bytes);
    throw new ImageInputError(name, other
      ? `is ${other}, which is not supported (use PNG, JPEG, WebP, TIFF or BMP)`
      : 'is not a recognised image (not PNG, JPEG, WebP, TIFF or BMP data), or it is damaged');
  }
  if (opts.maxSide !== undefined && !(Number.isInteger(opts.maxSide) && opts.maxSide >= 1)) throw new RangeError(`decodeImage: maxSide must be a positive integer, got ${opts.maxSide}`);
  if (format !== 'bmp') return decodeWithSharp(name, bytes, format, maxPixels, opts.maxSide);
  const bmp = decodeBmp(name, bytes, maxPixels);
  if (opts.maxSide === undefined) return bmp;
  const fit = fitInside(bmp.width, bmp.height, opts.maxSide);
  return { ...(fit ? pilResizeBicubic(bmp, fit.width, fit.height) : bmp), hadAlpha: bmp.hadAlpha, format: bmp.format, fullSize: [bmp.width, bmp.height] };
}

/** The size of a w x h image scaled down so its long side is `maxSide`, or undefined when it already fits. */
export function fitInside(w: number, h: number, maxSide: number): { width: number; height: number } | undefined {
  if (w <= maxSide && h <= maxSide) return undefined;
  const s = maxSide / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * s)), height: Math.max(1, Math.round(h * s)) };
}

/** Reads and decodes an image file (see decodeImage). */
export function readImageFile(path: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return decodeImage(path, opts);
}

async function decodeWithSharp(name: string, bytes: Uint8Array, format: ImageFormat, maxPixels: number, maxSide?: number): Promise<DecodedImage> {
  const label = FORMAT_NAMES[format];
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageInputError(name, `${label} data is damaged or truncated, cannot read its header (${reason(e)})`);
  }
  checkSize(name, meta.width ?? 0, meta.height ?? 0, maxPixels);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    let img = sharp(bytes, { failOn: 'error', limitInputPixels: Math.floor(maxPixels), autoOrient: true });
    if (maxSide !== undefined) img = img.resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true });
    decoded = await img
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageInputError(name, `${label} data is damaged or truncated (${reason(e)})`);
  }
  const { width, height, channels } = decoded.info;
  if (channels !== 3 && channels !== 4) throw new ImageInputError(name, `${label} decoded to ${channels} channels, expected RGB or RGBA`);
  const px = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  const { rgb, hadAlpha } = channels === 4 ? flattenOnWhite(px) : { rgb: new Uint8Array(px), hadAlpha: false };
  const swapped = (meta.orientation ?? 1) >= 5;
  const fullSize: [number, number] = swapped ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
  return { ...rgbImage(width, height, rgb), hadAlpha, format, ...(maxSide !== undefined ? { fullSize } : {}) };
}

function decodeBmp(name: string, bytes: Uint8Array, maxPixels: number): DecodedImage {
  let header: BmpHeader;
  try {
    header = readBmpHeader(bytes);
  } catch (e) {
    throw e instanceof BmpProblem ? new ImageInputError(name, e.message) : e;
  }
  checkSize(name, header.width, header.height, maxPixels);
  try {
    const { rgba } = readBmpPixels(bytes, header);
    const { rgb, hadAlpha } = flattenOnWhite(rgba);
    return { ...rgbImage(header.width, header.height, rgb), hadAlpha, format: 'bmp' };
  } catch (e) {
    throw e instanceof BmpProblem ? new ImageInputError(name, e.message) : e;
  }
}

// ---- BMP ----
// Uncompressed (BI_RGB) 8-bit palette, 24-bit and 32-bit; 32-bit BI_BITFIELDS; bottom-up or top-down. RLE, 1/4/16-bit
// and embedded JPEG/PNG are refused. In a 32-bit BI_RGB file the fourth byte is padding; an alpha mask whose field is
// zero in every pixel is treated as "no alpha" (tools that ignore alpha write it that way).

class BmpProblem extends Error {}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const BMP_COMPRESSION_NAMES: Record<number, string> = { 1: 'RLE8-compressed', 2: 'RLE4-compressed', 4: 'JPEG-in-BMP', 5: 'PNG-in-BMP' };

interface BmpHeader {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
  readonly topDown: boolean;
  readonly pixelOffset: number;
  readonly rowStride: number;
  /** R, G, B, A bit masks for 32-bit pixels (A = 0: no alpha). */
  readonly masks?: readonly [number, number, number, number];
  /** RGB triples, for 8-bit images. */
  readonly palette?: Uint8Array;
}

function unsupportedBmp(what: string): BmpProblem {
  return new BmpProblem(`is a ${what} BMP, which is not supported (only uncompressed 8-bit palette, 24-bit and 32-bit BMP); convert it to PNG`);
}

function readBmpHeader(b: Uint8Array): BmpHeader {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 26) throw new BmpProblem('BMP data is truncated inside its header');
  const pixelOffset = dv.getUint32(10, true);
  const dibSize = dv.getUint32(14, true);
  const core = dibSize === 12;
  if (!core && dibSize < 40) throw new BmpProblem(`BMP header is damaged (unknown ${dibSize}-byte info header)`);
  if (b.length < 14 + dibSize) throw new BmpProblem('BMP data is truncated inside its header');
  const width = core ? dv.getUint16(18, true) : dv.getInt32(18, true);
  const rawHeight = core ? dv.getInt16(20, true) : dv.getInt32(22, true);
  const bitsPerPixel = core ? dv.getUint16(24, true) : dv.getUint16(28, true);
  const compression = core ? BI_RGB : dv.getUint32(30, true);
  if (width <= 0 || rawHeight === 0) throw new BmpProblem(`image has zero or invalid size (${width}x${Math.abs(rawHeight)})`);
  if (dibSize === 64 && compression !== BI_RGB) throw unsupportedBmp('compressed OS/2');
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw unsupportedBmp(BMP_COMPRESSION_NAMES[compression] ?? `compression-type-${compression}`);
  }
  if (bitsPerPixel !== 8 && bitsPerPixel !== 24 && bitsPerPixel !== 32) throw unsupportedBmp(`${bitsPerPixel}-bit`);
  if (compression !== BI_RGB && bitsPerPixel !== 32) throw unsupportedBmp(`${bitsPerPixel}-bit bit-field`);
  const height = Math.abs(rawHeight);
  let tableEnd = 14 + dibSize;
  let masks: [number, number, number, number] | undefined;
  if (bitsPerPixel === 32) {
    if (compression === BI_RGB) {
      masks = [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
    } else {
      // Masks sit inside V2+ headers, or right after a 40-byte header.
      const count = compression === BI_ALPHABITFIELDS || dibSize >= 56 ? 4 : 3;
      if (dibSize < 52) tableEnd += count * 4;
      if (b.length < 54 + count * 4) throw new BmpProblem('BMP data is truncated inside its colour masks');
      masks = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true), count === 4 ? dv.getUint32(66, true) : 0];
      if (!masks[0] || !masks[1] || !masks[2]) throw new BmpProblem('BMP header is damaged (empty colour mask)');
    }
  }
  let palette: Uint8Array | undefined;
  if (bitsPerPixel === 8) {
    const entrySize = core ? 3 : 4;
    const declared = (core ? 0 : dv.getUint32(46, true)) || 256;
    const room = Math.floor((Math.min(pixelOffset, b.length) - tableEnd) / entrySize);
    const n = Math.max(Math.min(declared, 256, room), 0);
    if (n === 0) throw new BmpProblem('8-bit BMP has no colour palette');
    palette = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const p = tableEnd + i * entrySize;
      palette[i * 3] = b[p + 2]!;
      palette[i * 3 + 1] = b[p + 1]!;
      palette[i * 3 + 2] = b[p]!;
    }
  }
  if (pixelOffset < tableEnd) throw new BmpProblem('BMP header is damaged (pixel data offset points inside the header)');
  const rowStride = Math.floor((bitsPerPixel * width + 31) / 32) * 4;
  return { width, height, bitsPerPixel, topDown: rawHeight < 0, pixelOffset, rowStride, masks, palette };
}

/** Reads the field under `mask` scaled to 0..255. */
function maskReader(mask: number): (px: number) => number {
  let shift = 0;
  while (shift < 32 && ((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  if (max === 0xff) return (px) => (px >>> shift) & 0xff;
  return (px) => Math.round((((px & mask) >>> 0) >>> shift) * 255 / max);
}

/** RGBA, row-major top-down (alpha 255 where the file has none). */
function readBmpPixels(b: Uint8Array, h: BmpHeader): { rgba: Uint8Array } {
  const usedBytesPerRow = Math.ceil((h.bitsPerPixel * h.width) / 8);
  const need = h.pixelOffset + h.rowStride * (h.height - 1) + usedBytesPerRow;
  if (b.length < need) throw new BmpProblem(`BMP data is truncated: the pixels need ${need} bytes but the file has ${b.length}`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const rgba = new Uint8Array(h.width * h.height * 4).fill(255);
  const paletteSize = h.palette ? h.palette.length / 3 : 0;
  const readers = h.masks?.map((m) => (m ? maskReader(m) : undefined));
  let alphaSeen = false;
  for (let y = 0; y < h.height; y++) {
    const row = h.pixelOffset + (h.topDown ? y : h.height - 1 - y) * h.rowStride;
    for (let x = 0; x < h.width; x++) {
      const o = (y * h.width + x) * 4;
      if (h.bitsPerPixel === 8) {
        const idx = b[row + x]!;
        if (idx >= paletteSize) throw new BmpProblem(`BMP data is damaged: a pixel uses colour ${idx} but the palette has ${paletteSize} colours`);
        rgba.set(h.palette!.subarray(idx * 3, idx * 3 + 3), o);
      } else if (h.bitsPerPixel === 24) {
        const p = row + x * 3;
        rgba[o] = b[p + 2]!;
        rgba[o + 1] = b[p + 1]!;
        rgba[o + 2] = b[p]!;
      } else {
        const px = dv.getUint32(row + x * 4, true);
        for (let c = 0; c < 3; c++) rgba[o + c] = readers![c]!(px);
        if (readers![3]) {
          rgba[o + 3] = readers![3](px);
          if (rgba[o + 3] !== 0) alphaSeen = true;
        }
      }
    }
  }
  if (readers?.[3] && !alphaSeen) for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return { rgba };
}
