// Owns starting a run from another model's weights whose architecture differs in places (`init.from` with
// `init.widen` and `init.reseed`). A tensor of the expected shape is taken as it is. A tensor named in `widen`
// (name -> k) is a convolution over cat[x, new inputs] whose first k input channels are x: those weights are copied
// and every other input channel starts at zero, so the widened network computes exactly what the old one did and
// learns to use the new inputs from there. Names under a `reseed` prefix, and any other tensor whose shape differs,
// take the seeded initialisation instead.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { shapesEqual } from '../tensor/host-tensor.ts';
import type { WeightMap } from '../weights/weight-map.ts';

export interface WarmStart {
  readonly widen: Readonly<Record<string, number>>;
  readonly reseed: readonly string[];
}

/** An OIHW `t` placed in a zero tensor of `shape`: output channels and kernel equal, input channels [0, keep) copied. */
export function widenedConv(t: Float32Tensor, shape: readonly number[], keep: number): Float32Tensor | undefined {
  const [o, i, kh, kw] = shape as [number, number, number, number];
  const [to, ti, tkh, tkw] = t.shape as [number, number, number, number];
  if (shape.length !== 4 || t.shape.length !== 4 || to !== o || tkh !== kh || tkw !== kw || keep > ti || keep > i) return undefined;
  const k = kh * kw;
  const out = new Float32Array(o * i * k);
  for (let oc = 0; oc < o; oc++) out.set(t.data.subarray(oc * ti * k, (oc * ti + keep) * k), oc * i * k);
  return { shape: [...shape], data: out };
}

/** The `init.from` weight for `name` at the expected `shape` (undefined: use the seeded initialisation). */
export function warmStartWeight(from: WeightMap | undefined, w: WarmStart, name: string, shape: readonly number[] | undefined): Float32Tensor | undefined {
  if (!from || w.reseed.some((p) => name.startsWith(p))) return undefined;
  const t = from.get(name);
  if (!t || !shape || shapesEqual(t.shape, shape)) return t;
  const keep = w.widen[name];
  return keep !== undefined ? widenedConv(t, shape, keep) : undefined;
}
