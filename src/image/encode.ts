// Owns writing an RgbImage to disk. The format follows the extension: .png (lossless), .jpg/.jpeg (quality 95,
// 4:4:4 chroma so colour detail of the super-resolved image is kept), .webp (lossless), .tif/.tiff (lossless LZW).
// No extension means PNG. The image is encoded to memory first and then written atomically, so a failure never leaves a
// partial file under the target name.

import { extname } from 'node:path';
import sharp from 'sharp';
import { OutputWriteError, directOutput, type OutputSink } from '../io/atomic-write.ts';
import type { RgbImage } from './rgb-image.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

const EXTENSIONS: Record<string, OutputFormat> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff' };

/** The output format for a path, or an OutputWriteError for an extension we cannot write. No extension means PNG. */
export function outputFormatFor(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '') return 'png';
  const format = EXTENSIONS[ext];
  if (!format) throw new OutputWriteError(path, `cannot write "${ext}" images; use .png, .jpg, .jpeg, .webp, .tif or .tiff`);
  return format;
}

/** Encodes `img` in memory. */
export async function encodeImage(img: RgbImage, format: OutputFormat): Promise<Uint8Array> {
  if (img.data.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new Error(`encodeImage: a ${img.width}x${img.height} RGB image needs ${img.width * img.height * 3} bytes, got ${img.data.length}`);
  }
  const s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
  const encoded = format === 'png' ? s.png()
    : format === 'jpeg' ? s.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    : format === 'webp' ? s.webp({ lossless: true })
    : s.tiff({ compression: 'lzw' });
  const buf = await encoded.toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes `img` to `path` atomically (or into `out`); the format comes from the extension (.png if there is none). */
export async function writeImage(path: string, img: RgbImage, out: OutputSink = directOutput): Promise<void> {
  const format = outputFormatFor(path);
  let bytes: Uint8Array;
  try {
    bytes = await encodeImage(img, format);
  } catch (e) {
    throw new OutputWriteError(path, `cannot encode the image as ${format.toUpperCase()} (${(e as Error).message}); nothing was written`);
  }
  await out.write(path, bytes);
}
