// Owns checking a loaded set of weights against a network's expected parameters (official key -> shape), and the
// human-readable report of missing, unexpected and wrongly shaped entries.

export type ParamSpec = Map<string, number[]>;

export interface WrongShape {
  readonly key: string;
  readonly expected: readonly number[];
  readonly got: readonly number[];
}

export interface SpecReport {
  readonly missing: string[];
  readonly unexpected: string[];
  readonly wrongShape: WrongShape[];
}

export interface SpecCheckOptions {
  /** Keys present in the file but not in the spec that are acceptable (e.g. BatchNorm `num_batches_tracked`). */
  readonly ignoreUnexpected?: (key: string) => boolean;
}

/** Compares tensors (anything with a shape) against the spec. Order follows the spec, then the file. */
export function checkAgainstSpec(
  spec: ParamSpec | ReadonlyMap<string, readonly number[]>,
  tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  opts: SpecCheckOptions = {},
): SpecReport {
  const missing: string[] = [];
  const wrongShape: WrongShape[] = [];
  for (const [key, expected] of spec) {
    const t = tensors.get(key);
    if (!t) missing.push(key);
    else if (!sameShape(expected, t.shape)) wrongShape.push({ key, expected: [...expected], got: [...t.shape] });
  }
  const unexpected: string[] = [];
  for (const key of tensors.keys()) {
    if (!spec.has(key) && !(opts.ignoreUnexpected?.(key) ?? false)) unexpected.push(key);
  }
  return { missing, unexpected, wrongShape };
}

export function specMatches(r: SpecReport): boolean {
  return r.missing.length === 0 && r.unexpected.length === 0 && r.wrongShape.length === 0;
}

export interface FormatSpecOptions {
  /** Name of the weights file or network, for the first line. */
  readonly source?: string;
  /** Entries listed per category before eliding (default 20). */
  readonly maxItems?: number;
}

/** A multi-line report; a single "matches" line when everything agrees. */
export function formatSpecReport(r: SpecReport, opts: FormatSpecOptions = {}): string {
  const src = opts.source ? `${opts.source}: ` : '';
  if (specMatches(r)) return `${src}all weights match the expected keys and shapes`;
  const max = opts.maxItems ?? 20;
  const lines: string[] = [
    `${src}weights do not match the network (${r.missing.length} missing, ${r.unexpected.length} unexpected, ${r.wrongShape.length} with the wrong shape)`,
  ];
  const section = <T>(title: string, items: readonly T[], fmt: (x: T) => string) => {
    if (!items.length) return;
    lines.push(`  ${title}:`);
    for (const it of items.slice(0, max)) lines.push(`    ${fmt(it)}`);
    if (items.length > max) lines.push(`    ... and ${items.length - max} more`);
  };
  section('missing', r.missing, (k) => k);
  section('unexpected', r.unexpected, (k) => k);
  section('wrong shape', r.wrongShape, (w) => `${w.key}: expected [${w.expected.join(', ')}], got [${w.got.join(', ')}]`);
  const hint = prefixHint(r);
  if (hint) lines.push(`  hint: ${hint}`);
  return lines.join('\n');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Detects the common case of every unexpected key being a missing key with an extra (or without a) prefix. */
function prefixHint(r: SpecReport): string | undefined {
  if (!r.missing.length || !r.unexpected.length) return undefined;
  const m = r.missing[0]!;
  const u = r.unexpected.find((k) => k.endsWith(`.${m}`) || m.endsWith(`.${k}`));
  if (!u) return undefined;
  if (u.endsWith(`.${m}`)) return `the file's keys carry an extra prefix "${u.slice(0, u.length - m.length)}"`;
  return `the file's keys lack the prefix "${m.slice(0, m.length - u.length)}"`;
}
