// Owns checking a set of checkpoint tensors against a network's expected keys and shapes (the spec every import
// builds from the network definition): which tensors fit, which keys are missing, which have the wrong shape, which
// are not part of the network; and the one error message format every `refsr convert` import uses. A normalisation
// buffer (`*.mean`, `*.std`) of 3 values fits whatever its stored shape.

import { formatShape, shapesEqual } from '../tensor/host-tensor.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

export interface SpecCheck {
  /** Every key of the spec that fits, at the spec's shape. */
  readonly tensors: Map<string, Float32Tensor>;
  readonly missing: string[];
  /** `key: stored shape, expected shape` lines. */
  readonly wrong: string[];
  /** Keys of the checkpoints that the network does not have, sorted. */
  readonly unexpected: string[];
}

export function checkAgainstSpec(spec: ReadonlyMap<string, readonly number[]>, merged: ReadonlyMap<string, Float32Tensor>): SpecCheck {
  const missing: string[] = [];
  const wrong: string[] = [];
  const tensors = new Map<string, Float32Tensor>();
  for (const [key, shape] of spec) {
    const t = merged.get(key);
    if (!t) { missing.push(key); continue; }
    const buffer = /(^|\.)(mean|std)$/.test(key) && t.data.length === 3;
    if (!shapesEqual(t.shape, shape) && !buffer) wrong.push(`${key}: ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
    else tensors.set(key, { shape: [...shape], data: t.data });
  }
  const unexpected = [...merged.keys()].filter((k) => !spec.has(k)).sort();
  return { tensors, missing, wrong, unexpected };
}

/**
 * The lines of a failed check, or undefined when it passed: the title, missing keys summarised by part
 * (`summarize`), wrong shapes, and unexpected keys (an error when `unexpectedIsError`, else listed as ignored
 * alongside other problems).
 */
export function specProblems(title: string, c: SpecCheck, summarize: (missing: string[]) => string, unexpectedIsError = false): string | undefined {
  if (!c.missing.length && !c.wrong.length && !(unexpectedIsError && c.unexpected.length)) return undefined;
  const u = c.unexpected;
  const list = `${u.slice(0, 8).join(', ')}${u.length > 8 ? ` and ${u.length - 8} more` : ''}`;
  return [
    title,
    ...(c.missing.length ? [`  missing ${c.missing.length} keys: ${summarize(c.missing)}`] : []),
    ...c.wrong.map((w) => `  wrong shape ${w}`),
    ...(u.length ? [unexpectedIsError ? `  unexpected keys: ${list}` : `  unexpected keys (ignored): ${list}`] : []),
  ].join('\n');
}
