// Owns turning a dropped or picked image file into an RgbImage in the browser, with the browser's own decoders
// (createImageBitmap, then an OffscreenCanvas read-back) instead of sharp. The bitmap is decoded with
// colorSpaceConversion 'none' and premultiplyAlpha 'none', so the RGB values are the file's own samples, as sharp
// gives them for an sRGB file (no gamma or colour-profile conversion); EXIF orientation is applied, and
// transparency is flattened onto white by the same function as in Node (src/image/flatten-alpha.ts).

import { flattenOnWhite } from '../src/image/flatten-alpha.ts';
import { rgbImage, type RgbImage } from '../src/image/rgb-image.ts';

/** Largest picture decoded at all (the Node CLI's default --max-pixels). */
export const BROWSER_MAX_PIXELS = 40_000_000;

export class BrowserImageError extends Error {
  constructor(readonly file: string, readonly problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'BrowserImageError';
  }
}

export interface BrowserDecodedImage extends RgbImage {
  readonly hadAlpha: boolean;
}

export async function decodeInBrowser(blob: Blob, name: string): Promise<BrowserDecodedImage> {
  if (blob.size === 0) throw new BrowserImageError(name, 'file is empty (0 bytes)');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new BrowserImageError(name, 'is not an image this browser can decode (use PNG, JPEG or WebP), or it is damaged');
  }
  try {
    const { width, height } = bitmap;
    if (!(width > 0) || !(height > 0)) throw new BrowserImageError(name, `image has zero size (${width}x${height})`);
    if (width * height > BROWSER_MAX_PIXELS) {
      throw new BrowserImageError(name, `image is ${width}x${height} (${(width * height / 1e6).toFixed(1)} megapixels), above the limit of ${BROWSER_MAX_PIXELS / 1e6} megapixels; downscale it first`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new BrowserImageError(name, 'cannot be read back: this browser has no 2D canvas in workers');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
    const { rgb, hadAlpha } = flattenOnWhite(new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength));
    return { ...rgbImage(width, height, rgb), hadAlpha };
  } finally {
    bitmap.close();
  }
}

/** PNG bytes of an RGB image (opaque, so the canvas round trip is lossless). */
export async function encodePngInBrowser(img: RgbImage): Promise<Blob> {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0, n = img.width * img.height; i < n; i++) {
    rgba[i * 4] = img.data[i * 3]!;
    rgba[i * 4 + 1] = img.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = img.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  const canvas = new OffscreenCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser has no 2D canvas in workers');
  ctx.putImageData(new ImageData(rgba, img.width, img.height), 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}
