// Owns parsing of the shared command-line option values (numbers, matching mode) with clear errors, and the help
// text of options several commands share.

import { InvalidArgumentError } from 'commander';
import type { MatchingMode } from '../pipeline/super-resolve.ts';

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
