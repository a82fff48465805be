// Owns training image sets: every decodable image under one or more folders (recursively, sorted by path so the
// order never depends on the file system), decoded once into memory, with a deterministic hold-out split for
// validation. An unreadable file is an error naming it, not a silent skip.

import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readImageFile, detectFormat } from '../../image/decode.ts';
import type { RgbImage } from '../../image/rgb-image.ts';
import { open } from 'node:fs/promises';
import { RefsrError } from '../../errors/refsr-error.ts';

export interface NamedImage {
  readonly name: string;
  readonly image: RgbImage;
}

export class TrainingDataError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'TrainingDataError'; }
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new TrainingDataError(`training data folder ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile() && !e.name.startsWith('.')) out.push(p);
  }
  return out;
}

async function looksLikeImage(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(16);
    await fh.read(head, 0, 16, 0);
    return detectFormat(head) !== undefined;
  } finally {
    await fh.close();
  }
}

/** Every image under `dirs` with both sides at least `minSide`, sorted by path; names are relative to their folder. */
export async function loadImageFolders(dirs: readonly string[], minSide = 1): Promise<NamedImage[]> {
  const out: NamedImage[] = [];
  for (const dir of dirs) {
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) throw new TrainingDataError(`training data folder ${dir} does not exist`);
    const files = (await listFiles(dir)).sort();
    for (const f of files) {
      if (!(await looksLikeImage(f))) continue;
      const image = await readImageFile(f);
      if (image.width >= minSide && image.height >= minSide) out.push({ name: relative(dir, f), image: { width: image.width, height: image.height, data: image.data } });
    }
  }
  if (out.length === 0) throw new TrainingDataError(`no usable images (PNG/JPEG/WebP/TIFF/BMP, both sides >= ${minSide} px) in ${dirs.join(', ')}`);
  return out;
}

/** Every `every`-th image (from the first) held out for validation, the rest for training. */
export function holdOut(images: readonly NamedImage[], every: number): { train: NamedImage[]; val: NamedImage[] } {
  if (every <= 1) return { train: [...images], val: [] };
  const train: NamedImage[] = [];
  const val: NamedImage[] = [];
  images.forEach((im, i) => (i % every === 0 ? val : train).push(im));
  return { train, val };
}
