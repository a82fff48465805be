// Owns the raster side of refsr's pictures: blank canvases, pasting images, display resizing (Pillow bicubic when
// shrinking, nearest neighbour when enlarging so pixels stay visible), and PNG encoding of a raw RGB canvas with an
// optional SVG overlay (lines, labels, legends) rendered by sharp, or of a pure SVG (charts).

import sharp from 'sharp';
import { rgbImage, type RgbImage } from '../image/rgb-image.ts';
import { pilResizeBicubic } from '../image/pil-bicubic.ts';
import type { Rgb } from './colors.ts';

export function canvas(width: number, height: number, fill: Rgb = [255, 255, 255]): RgbImage {
  const img = rgbImage(width, height);
  for (let i = 0; i < width * height; i++) img.data.set(fill, i * 3);
  return img;
}

/** Copies `src` into `dst` with its top-left corner at (x0, y0), clipped to `dst`. */
export function paste(dst: RgbImage, src: RgbImage, x0: number, y0: number): void {
  for (let y = 0; y < src.height; y++) {
    const dy = y0 + y;
    if (dy < 0 || dy >= dst.height) continue;
    const xs = Math.max(0, -x0);
    const xe = Math.min(src.width, dst.width - x0);
    if (xe <= xs) continue;
    dst.data.set(src.data.subarray((y * src.width + xs) * 3, (y * src.width + xe) * 3), (dy * dst.width + x0 + xs) * 3);
  }
}

export function resizeNearest(img: RgbImage, w: number, h: number): RgbImage {
  const out = rgbImage(w, h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      const s = (sy * img.width + sx) * 3;
      const d = (y * w + x) * 3;
      out.data[d] = img.data[s]!;
      out.data[d + 1] = img.data[s + 1]!;
      out.data[d + 2] = img.data[s + 2]!;
    }
  }
  return out;
}

/** Resizes for display: bicubic (antialiased) when shrinking, nearest when enlarging. */
export function resizeForDisplay(img: RgbImage, w: number, h: number): RgbImage {
  w = Math.max(1, Math.round(w));
  h = Math.max(1, Math.round(h));
  if (w === img.width && h === img.height) return img;
  return w < img.width || h < img.height ? pilResizeBicubic(img, w, h) : resizeNearest(img, w, h);
}

/** Scales `img` so that it fits in maxW x maxH (never enlarges). */
export function fitWithin(img: RgbImage, maxW: number, maxH: number): RgbImage {
  const s = Math.min(1, maxW / img.width, maxH / img.height);
  return s >= 1 ? img : resizeForDisplay(img, img.width * s, img.height * s);
}

/**
 * PNG bytes of a raw RGB image, with an SVG of the same size drawn over it when given. `palette` quantises to at
 * most 256 colours (much smaller files; for overviews, never for pixels that are compared).
 */
export async function encodePng(img: RgbImage, overlaySvg?: string, opts: { palette?: boolean } = {}): Promise<Uint8Array> {
  let s = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } });
  if (overlaySvg) {
    // Composite needs a materialised base: encode the raw canvas first, then draw the overlay on it.
    const base = await s.png().toBuffer();
    s = sharp(base).composite([{ input: Buffer.from(overlaySvg), top: 0, left: 0 }]);
  }
  const buf = await s.removeAlpha().png({ compressionLevel: 9, ...(opts.palette ? { palette: true, colours: 256, dither: 0.5 } : {}) }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** PNG bytes of an SVG document (charts), on a white background. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const buf = await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png({ compressionLevel: 9 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Escapes text for SVG/HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
