// Owns parsing of the shared command-line option values (numbers, matching mode, quality) with clear errors, the
// help text of options several commands share, and the check of an output path before any work. Light on purpose
// (no image or ONNX library behind it): every command's options load at start-up.

import { InvalidArgumentError } from 'commander';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { MatchingMode } from '../pipeline/super-resolve.ts';
import { bundledModels } from '../pipeline/model-registry.ts';
import { OutputWriteError } from '../io/atomic-write.ts';
import { outputFormatFor } from '../image/output-format.ts';

export function intOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  return n;
}

export function matchingOption(v: string): MatchingMode {
  if (v !== 'auto' && v !== 'exact' && v !== 'fast') throw new InvalidArgumentError('choose auto, exact or fast');
  return v;
}

export const LOW_MEMORY_HELP = 'no ONNX Runtime memory arenas: much lower peak memory on large or many images, ~25% slower';

export function positiveIntOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

export function qualityOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError(`"${value}" is not a quality from 1 to 100`);
  return n;
}

/** Help of every --model option: what it takes and the bundled model names. */
export function modelHelp(multi = false): string {
  const names = bundledModels();
  const dflt = multi && names.includes('multi-reference') ? 'default; multi-reference with several references' : 'default';
  return `bundled model name (${names.length ? names.join(', ') : 'none installed'}; default: ${dflt}) or a model file (.safetensors, .pth)`;
}

/**
 * Refuses, before any work, an output path that cannot be written: its folder missing or not a folder, the path an
 * existing folder, or (images: `image: true`) an extension no encoder writes.
 */
export function checkOutputPath(path: string, opts: { image?: boolean } = {}): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new OutputWriteError(path, `the folder ${dirname(path)} does not exist; create it first or choose another output`);
  if (!statSync(dir).isDirectory()) throw new OutputWriteError(path, `${dirname(path)} is not a folder`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new OutputWriteError(path, 'is a folder; give a file name');
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputWriteError(path, `the folder ${dirname(path)} is not writable`);
  }
  if (opts.image) outputFormatFor(path);
}

/** "the maxInputPixels option" -> "--max-input-pixels": library messages name API options, the CLI its flags. */
export function optionNamesToFlags(message: string): string {
  return message.replace(/\bthe (\w+) option\b/g, (_m, name: string) => `--${FLAG_NAMES[name] ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** API options whose flag is not their kebab-case name. */
const FLAG_NAMES: Readonly<Record<string, string>> = { pairsFile: 'pairs' };
