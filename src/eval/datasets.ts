// Owns the dataset layouts `refsr eval` understands and their listing into (name, HR, reference) pairs:
// - wrsr:     input/NNN.png with ref/NNN_ref.png (WR-SR)
// - cufed5:   NNN_0.png with references NNN_1.png .. NNN_5.png (CUFED5; reference level 1..5, or all five)
// - pairs:    a pairs file as the reference implementation's `*_pairs.txt` (one "INPUT REF" per line, whitespace
//             separated, paths relative to the input and reference roots; `#` starts a comment)
// - urban100: a folder of HR images; each LR image's own bicubic x4 upsampling is its reference (the paper's SISR
//             convention for Urban100)
// - manga109: a folder of HR images; each image gets a random other image of the set as reference (seeded)
// A folder that does not follow the layout gets a DatasetError saying what was expected.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Rng } from '../random/rng.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export type Protocol = 'wrsr' | 'cufed5' | 'pairs' | 'urban100' | 'manga109';
export const PROTOCOLS: readonly Protocol[] = ['wrsr', 'cufed5', 'pairs', 'urban100', 'manga109'];

export interface EvalPair {
  readonly name: string;
  readonly hr: string;
  /** Reference image file; for `self-upsampled` the HR file itself (the reference is derived from it). */
  readonly ref: string;
  /** `file` (default): `ref` is the reference. `self-upsampled`: the reference is bicubic x4 of the image's own LR. */
  readonly refSource?: 'file' | 'self-upsampled';
  /** CUFED5 reference level (1..5) when known. */
  readonly level?: number;
}

export class DatasetError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'DatasetError'; }
}

export interface ListOptions {
  /** CUFED5 reference level 1..5 (default 1), or `all` for every level (each input once per level). */
  readonly refLevel?: number | 'all';
  /** `pairs`: the pairs file. */
  readonly pairsFile?: string;
  /** `pairs`: folder the input paths are relative to (default: DIR/input if it exists, else DIR). */
  readonly inputRoot?: string;
  /** `pairs`: folder the reference paths are relative to (default: DIR/ref if it exists, else DIR). */
  readonly refRoot?: string;
  /** `manga109`: seed of the random reference choice (default 1). */
  readonly seed?: number;
}

export const IMAGE_FILE = /\.(png|jpe?g|webp|tiff?|bmp)$/i;
export const CUFED5_LEVELS = [1, 2, 3, 4, 5] as const;

export function listPairs(dir: string, protocol: Protocol, opts: ListOptions = {}): EvalPair[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`dataset folder not found: ${dir}`);
  let pairs: EvalPair[];
  switch (protocol) {
    case 'wrsr': pairs = listWrsr(dir); break;
    case 'cufed5': pairs = listCufed5(dir, opts.refLevel ?? 1); break;
    case 'pairs': pairs = listPairsFile(dir, opts); break;
    case 'urban100': pairs = listSelfReference(dir); break;
    case 'manga109': pairs = listRandomReference(dir, opts.seed ?? 1); break;
    default: throw new DatasetError(`unknown protocol "${String(protocol)}" (choose ${PROTOCOLS.join(', ')})`);
  }
  if (pairs.length === 0) throw new DatasetError(`${dir}: no ${protocol} pairs found (${LAYOUT_HELP[protocol]})`);
  return pairs;
}

export const LAYOUT_HELP: Record<Protocol, string> = {
  wrsr: 'expected input/NNN.png and ref/NNN_ref.png',
  cufed5: 'expected NNN_0.png with references NNN_1.png .. NNN_5.png',
  pairs: 'expected a pairs file with one "INPUT REF" line per pair',
  urban100: 'expected a folder of images (or an HR/ subfolder)',
  manga109: 'expected a folder of at least two images (or an HR/ subfolder)',
};

function imagesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => IMAGE_FILE.test(f) && statSync(join(dir, f)).isFile()).sort();
}

function stem(file: string): string { return file.replace(/\.[^./]+$/, ''); }

function listWrsr(dir: string): EvalPair[] {
  const inDir = join(dir, 'input');
  const refDir = join(dir, 'ref');
  if (!existsSync(inDir) || !existsSync(refDir)) throw new DatasetError(`${dir}: not a WR-SR folder (${LAYOUT_HELP.wrsr})`);
  const refs = new Map(imagesIn(refDir).map((f) => [f.replace(/_ref\.[^.]+$/i, ''), f]));
  const pairs: EvalPair[] = [];
  const missing: string[] = [];
  for (const f of imagesIn(inDir)) {
    const ref = refs.get(stem(f));
    if (!ref) { missing.push(f); continue; }
    pairs.push({ name: stem(f), hr: join(inDir, f), ref: join(refDir, ref) });
  }
  if (missing.length) throw new DatasetError(`${dir}: no reference in ref/ for ${listSome(missing)}`);
  return pairs;
}

function listCufed5(dir: string, level: number | 'all'): EvalPair[] {
  if (level === 'all') return CUFED5_LEVELS.flatMap((l) => listCufed5(dir, l));
  if (!Number.isInteger(level) || level < 1 || level > 5) throw new DatasetError(`CUFED5 reference level must be 1..5, got ${level}`);
  const files = imagesIn(dir);
  const byName = new Map(files.map((f) => [stem(f), f]));
  const pairs: EvalPair[] = [];
  const missing: string[] = [];
  for (const f of files) {
    const m = /^(.+)_0\.[^.]+$/.exec(f);
    if (!m) continue;
    const ref = byName.get(`${m[1]}_${level}`);
    if (!ref) { missing.push(`${m[1]}_${level}`); continue; }
    pairs.push({ name: m[1]!, hr: join(dir, f), ref: join(dir, ref), level });
  }
  if (missing.length) throw new DatasetError(`${dir}: missing level-${level} CUFED5 references ${listSome(missing)} (${LAYOUT_HELP.cufed5})`);
  return pairs;
}

function listSome(xs: string[]): string {
  return `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? ` and ${xs.length - 5} more` : ''}`;
}

/** Parses a pairs file: one "INPUT REF" per line (whitespace separated), blank lines and `#` comments ignored. */
export function parsePairsFile(text: string, file: string): { input: string; ref: string; line: number }[] {
  const out: { input: string; ref: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*$/, '').trim();
    if (!line) continue;
    const fields = line.split(/\s+/).filter(Boolean);
    if (fields.length !== 2) throw new DatasetError(`${file}:${i + 1}: expected "INPUT REF" (two paths), got ${fields.length} field${fields.length === 1 ? '' : 's'}: "${line}"`);
    out.push({ input: fields[0]!, ref: fields[1]!, line: i + 1 });
  }
  return out;
}

function listPairsFile(dir: string, opts: ListOptions): EvalPair[] {
  const file = opts.pairsFile;
  if (!file) throw new DatasetError('the pairs protocol needs a pairs file (the pairsFile option)');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError(`pairs file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const entries = parsePairsFile(text, file);
  const inRoots = opts.inputRoot ? [opts.inputRoot] : [join(dir, 'input'), dir];
  const refRoots = opts.refRoot ? [opts.refRoot] : [join(dir, 'ref'), dir];
  const resolveIn = (p: string, roots: string[]) => (isAbsolute(p) ? (existsSync(p) ? p : undefined) : roots.map((r) => join(r, p)).find((c) => existsSync(c) && statSync(c).isFile()));
  const pairs: EvalPair[] = [];
  const missing: string[] = [];
  const names = new Map<string, number>();
  for (const e of entries) {
    const hr = resolveIn(e.input, inRoots);
    const ref = resolveIn(e.ref, refRoots);
    if (!hr) missing.push(`${e.input} (line ${e.line})`);
    if (!ref) missing.push(`${e.ref} (line ${e.line})`);
    if (!hr || !ref) continue;
    let name = stem(isAbsolute(e.input) ? relative(dir, e.input) : e.input).replace(/[\\/]/g, '_');
    const seen = names.get(name) ?? 0;
    names.set(name, seen + 1);
    if (seen) name = `${name}~${seen + 1}`;
    pairs.push({ name, hr, ref });
  }
  if (missing.length) throw new DatasetError(`${file}: files not found under ${dir}: ${listSome(missing)}`);
  return pairs;
}

/** The HR images of a single-image SR set: the folder's images, or its HR/ subfolder's. */
export function listImageSet(dir: string): string[] {
  let files = imagesIn(dir).map((f) => join(dir, f));
  if (files.length === 0 && existsSync(join(dir, 'HR'))) files = imagesIn(join(dir, 'HR')).map((f) => join(dir, 'HR', f));
  return files;
}

function listSelfReference(dir: string): EvalPair[] {
  return listImageSet(dir).map((f) => ({ name: stem(f.replace(/^.*[\\/]/, '')), hr: f, ref: f, refSource: 'self-upsampled' as const }));
}

function listRandomReference(dir: string, seed: number): EvalPair[] {
  const files = listImageSet(dir);
  if (files.length === 1) throw new DatasetError(`${dir}: the manga109 protocol needs at least two images (each takes another as reference)`);
  const rng = new Rng(seed);
  return files.map((f, i) => {
    let j = Math.floor(rng.uniform() * (files.length - 1));
    if (j >= i) j++;
    return { name: stem(f.replace(/^.*[\\/]/, '')), hr: f, ref: files[j]! };
  });
}
