// Owns the small host-side helpers every stage's data preparation shares: the per-step seed (data of step s depends
// only on the run seed and s, which is what makes a resumed run identical) and stacking samples along the batch axis.

import type { Float32Tensor } from '../../tensor/host-tensor.ts';

/** A 32-bit seed for step `step` of a run seeded `seed` (negative steps: fixed validation draws). */
export function stepSeed(seed: number, step: number): number {
  let h = (0x9e3779b9 ^ seed) >>> 0;
  h = Math.imul(h ^ (step + 0x632be5ab), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** [1, ...] tensors of equal shape stacked to [N, ...]. */
export function concatBatch(items: readonly Float32Tensor[]): Float32Tensor {
  const first = items[0]!;
  const per = first.data.length;
  const data = new Float32Array(per * items.length);
  items.forEach((t, i) => {
    if (t.data.length !== per) throw new Error(`batch items differ in shape: [${t.shape}] vs [${first.shape}]`);
    data.set(t.data, i * per);
  });
  return { shape: [items.length, ...first.shape.slice(1)], data };
}
