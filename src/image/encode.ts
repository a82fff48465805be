// Owns writing an RgbImage to disk. The format follows the extension: .png (lossless), .jpg/.jpeg (quality 95 unless
// `quality` says otherwise, 4:4:4 chroma so colour detail of the super-resolved image is kept), .webp (lossless, or
// lossy at `quality` when given), .tif/.tiff (lossless LZW).
// No extension means PNG. The image is encoded to memory first and then written atomically, so a failure never leaves a
// partial file under the target name.

import sharp from 'sharp';
import { OutputWriteError, directOutput, type OutputSink } from '../io/atomic-write.ts';
import type { RgbImage } from './rgb-image.ts';
import { outputFormatFor, type OutputFormat } from './output-format.ts';

export { outputFormatFor, type OutputFormat };

export interface EncodeOptions {
  /** 1-100: JPEG quality (default 95); for WebP, lossy at this quality instead of lossless. Ignored by PNG and TIFF. */
  readonly quality?: number;
}

export const DEFAULT_JPEG_QUALITY = 95;

/** Encodes `img` in memory. */
export async function encodeImage(img: RgbImage, format: OutputFormat, opts: EncodeOptions = {}): Promise<Uint8Array> {
  const q = opts.quality;
  if (q !== undefined && !(Number.isInteger(q) && q >= 1 && q <= 100)) throw new RangeError(`the quality option must be an integer from 1 to 100, got ${q}`);
  if (img.data.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new Error(`encodeImage: a ${img.width}x${img.height} RGB image needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  const encoded = format === 'png' ? s.png()
    : format === 'jpeg' ? s.jpeg({ quality: q ?? DEFAULT_JPEG_QUALITY, chromaSubsampling: '4:4:4' })
    : format === 'webp' ? (q === undefined ? s.webp({ lossless: true }) : s.webp({ quality: q }))
    : s.tiff({ compression: 'lzw' });
  const buf = await encoded.toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes `img` to `path` atomically (or into `out`); the format comes from the extension (.png if there is none). */
export async function writeImage(path: string, img: RgbImage, out: OutputSink = directOutput, opts: EncodeOptions = {}): Promise<void> {
  const format = outputFormatFor(path);
  let bytes: Uint8Array;
  try {
    bytes = await encodeImage(img, format, opts);
  } catch (e) {
    throw new OutputWriteError(path, `cannot encode the image as ${format.toUpperCase()} (${(e as Error).message}); nothing was written`);
  }
  await out.write(path, bytes);
}
