// Owns the dataset layouts `refsr eval` understands and their listing into (name, HR, reference) pairs:
// - wrsr:   input/NNN.png with ref/NNN_ref.png (WR-SR)
// - cufed5: NNN_0.png with references NNN_1.png .. NNN_5.png (CUFED5; reference level 1..5)
// A folder that does not follow the layout gets a DatasetError saying what was expected.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type Protocol = 'wrsr' | 'cufed5';
export const PROTOCOLS: readonly Protocol[] = ['wrsr', 'cufed5'];

export interface EvalPair {
  readonly name: string;
  readonly hr: string;
  readonly ref: string;
}

export class DatasetError extends Error {
  constructor(message: string) { super(message); this.name = 'DatasetError'; }
}

const IMAGE = /\.(png|jpe?g|webp|tiff?|bmp)$/i;

export function listPairs(dir: string, protocol: Protocol, opts: { refLevel?: number } = {}): EvalPair[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`dataset folder not found: ${dir}`);
  const pairs = protocol === 'wrsr' ? listWrsr(dir) : listCufed5(dir, opts.refLevel ?? 1);
  if (pairs.length === 0) throw new DatasetError(`${dir}: no ${protocol} pairs found (${LAYOUT_HELP[protocol]})`);
  return pairs;
}

const LAYOUT_HELP: Record<Protocol, string> = {
  wrsr: 'expected input/NNN.png and ref/NNN_ref.png',
  cufed5: 'expected NNN_0.png with references NNN_1.png .. NNN_5.png',
};

function listWrsr(dir: string): EvalPair[] {
  const inDir = join(dir, 'input');
  const refDir = join(dir, 'ref');
  if (!existsSync(inDir) || !existsSync(refDir)) throw new DatasetError(`${dir}: not a WR-SR folder (${LAYOUT_HELP.wrsr})`);
  const refs = new Map(readdirSync(refDir).filter((f) => IMAGE.test(f)).map((f) => [f.replace(/_ref\.[^.]+$/i, ''), f]));
  const pairs: EvalPair[] = [];
  const missing: string[] = [];
  for (const f of readdirSync(inDir).filter((f) => IMAGE.test(f)).sort()) {
    const stem = f.replace(/\.[^.]+$/, '');
    const ref = refs.get(stem);
    if (!ref) { missing.push(f); continue; }
    pairs.push({ name: stem, hr: join(inDir, f), ref: join(refDir, ref) });
  }
  if (missing.length) throw new DatasetError(`${dir}: no reference in ref/ for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  return pairs;
}

function listCufed5(dir: string, level: number): EvalPair[] {
  if (!Number.isInteger(level) || level < 1 || level > 5) throw new DatasetError(`CUFED5 reference level must be 1..5, got ${level}`);
  const files = readdirSync(dir).filter((f) => IMAGE.test(f));
  const byName = new Map(files.map((f) => [f.replace(/\.[^.]+$/, ''), f]));
  const pairs: EvalPair[] = [];
  for (const f of files.sort()) {
    const m = /^(.+)_0\.[^.]+$/.exec(f);
    if (!m) continue;
    const ref = byName.get(`${m[1]}_${level}`);
    if (!ref) throw new DatasetError(`${dir}: ${f} has no level-${level} reference ${m[1]}_${level}.png`);
    pairs.push({ name: m[1]!, hr: join(dir, f), ref: join(dir, ref) });
  }
  return pairs;
}
