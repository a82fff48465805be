// Owns the mapping from an output file name to the image format written (the extension decides; none means PNG),
// in a module with no image library behind it so the CLI can check an output path before loading anything.

import { extname } from 'node:path';
import { OutputWriteError } from '../io/atomic-write.ts';

export type OutputFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

export const OUTPUT_EXTENSIONS: Readonly<Record<string, OutputFormat>> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff' };

/** The output format for a path, or an OutputWriteError for an extension we cannot write. No extension means PNG. */
export function outputFormatFor(path: string): OutputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '') return 'png';
  const format = OUTPUT_EXTENSIONS[ext];
  if (!format) throw new OutputWriteError(path, `cannot write "${ext}" images; use .png, .jpg, .jpeg, .webp, .tif or .tiff`);
  return format;
}
