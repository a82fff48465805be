// Owns the in-memory image type: 8-bit RGB, row-major HWC, no alpha. Every decoder produces it, every resizer and
// metric consumes it.

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes, row-major, channels R, G, B. */
  readonly data: Uint8Array;
}

export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  const n = width * height * 3;
  if (data && data.length !== n) throw new Error(`image data has ${data.length} bytes, ${width}x${height} RGB needs ${n}`);
  return { width, height, data: data ?? new Uint8Array(n) };
}
