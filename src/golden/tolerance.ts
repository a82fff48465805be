// Owns the golden comparison rules (../shared/golden/README.md "Tolerances"): how one computed tensor or scalar is
// judged against its reference value, and the result record every golden case reports.

export type Tolerance =
  | { kind: 'exact' }
  | { kind: 'max_abs'; value: number }
  | { kind: 'max_abs_rel_to_maxabs'; value: number }
  | { kind: 'u8_levels'; max_level_diff: number; max_fraction_differing: number };

export interface CheckResult {
  readonly case: string;
  readonly name: string;
  /** The measured error in the tolerance's own unit (absolute, relative, or level difference). */
  readonly error: number;
  /** The bound the error is held to. */
  readonly bound: number;
  readonly pass: boolean;
  readonly detail?: string;
}

type Numeric = ArrayLike<number>;

/** Compares `ours` against `golden`; `ignore` marks elements excluded from the comparison (near ties). */
export function checkTensor(caseName: string, name: string, ours: Numeric, golden: Numeric, tol: Tolerance, ignore?: (i: number) => boolean): CheckResult {
  if (ours.length !== golden.length) {
    return { case: caseName, name, error: Infinity, bound: 0, pass: false, detail: `size ${ours.length} != golden ${golden.length}` };
  }
  let maxAbs = 0;
  let maxGolden = 0;
  let differing = 0;
  let ignored = 0;
  for (let i = 0; i < golden.length; i++) {
    if (ignore?.(i)) { ignored++; continue; }
    const d = Math.abs(ours[i]! - golden[i]!);
    const bad = Number.isNaN(d) ? Infinity : d;
    if (bad > maxAbs) maxAbs = bad;
    if (bad !== 0) differing++;
    const g = Math.abs(golden[i]!);
    if (g > maxGolden) maxGolden = g;
  }
  const note = ignored ? `${ignored} near-tie elements ignored` : undefined;
  switch (tol.kind) {
    case 'exact':
      return { case: caseName, name, error: maxAbs, bound: 0, pass: maxAbs === 0, detail: joinDetail(differing ? `${differing} differ` : undefined, note) };
    case 'max_abs':
      return { case: caseName, name, error: maxAbs, bound: tol.value, pass: maxAbs <= tol.value, detail: note };
    case 'max_abs_rel_to_maxabs': {
      const rel = maxGolden === 0 ? maxAbs : maxAbs / maxGolden;
      return { case: caseName, name, error: rel, bound: tol.value, pass: rel <= tol.value, detail: joinDetail(`max|golden| ${maxGolden.toPrecision(4)}`, note) };
    }
    case 'u8_levels': {
      const fraction = differing / golden.length;
      const pass = maxAbs <= tol.max_level_diff && fraction <= tol.max_fraction_differing;
      return { case: caseName, name, error: maxAbs, bound: tol.max_level_diff, pass, detail: `${differing} values differ (${(fraction * 100).toFixed(4)}%, limit ${tol.max_fraction_differing * 100}%)` };
    }
  }
}

export function checkScalar(caseName: string, name: string, ours: number, golden: number, tol: Tolerance): CheckResult {
  return checkTensor(caseName, name, [ours], [golden], tol);
}

function joinDetail(...parts: (string | undefined)[]): string | undefined {
  const s = parts.filter(Boolean).join('; ');
  return s || undefined;
}
