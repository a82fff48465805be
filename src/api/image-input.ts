// Owns what the task-level API accepts as an image: a file path, encoded bytes (Buffer, Uint8Array, ArrayBuffer), a
// decoded RgbImage, or any of these with the name to use in messages ({ image, name }). Everything becomes a named
// RgbImage; decoding errors name the file (or "input" / "reference 2" for unnamed bytes).

import { decodeImage, type DecodeOptions } from '../image/decode.ts';
import type { RgbImage } from '../image/rgb-image.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export type ImageSource = string | Uint8Array | ArrayBuffer | RgbImage;
export type ImageInput = ImageSource | { readonly image: ImageSource; readonly name: string };

export class ImageArgumentError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'ImageArgumentError'; }
}

export interface NamedImage {
  readonly image: RgbImage;
  readonly name: string;
  /** True when the file had transparency (flattened onto white). */
  readonly hadAlpha: boolean;
}

function isRgbImage(x: unknown): x is RgbImage {
  const o = x as RgbImage;
  return typeof o === 'object' && o !== null && typeof o.width === 'number' && typeof o.height === 'number' && o.data instanceof Uint8Array;
}

/** Turns one accepted input into a named RgbImage; `fallbackName` names unnamed bytes and images. */
export async function resolveImage(input: ImageInput, fallbackName: string, opts: DecodeOptions = {}): Promise<NamedImage> {
  const named = typeof input === 'object' && input !== null && 'name' in input && 'image' in input && !isRgbImage(input);
  const source = named ? (input as { image: ImageSource }).image : (input as ImageSource);
  const name = named ? (input as { name: string }).name : typeof source === 'string' ? source : fallbackName;
  if (typeof source === 'string') {
    const d = await decodeImage(source, opts);
    return { image: d, name, hadAlpha: d.hadAlpha };
  }
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
    const d = await decodeImage({ bytes, name }, opts);
    return { image: d, name, hadAlpha: d.hadAlpha };
  }
  if (isRgbImage(source)) {
    if (source.data.length !== source.width * source.height * 3) {
      throw new ImageArgumentError(`${name}: an RgbImage of ${source.width}x${source.height} needs ${source.width * source.height * 3} bytes of RGB data, got ${source.data.length}`);
    }
    return { image: source, name, hadAlpha: false };
  }
  throw new ImageArgumentError(`${name}: expected a file path, encoded image bytes (Buffer, Uint8Array, ArrayBuffer) or an RgbImage { width, height, data }`);
}
