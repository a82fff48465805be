// The one random-tensor helper of the tests: seeded normal values, optionally scaled, shifted or made non-negative.
import { Rng } from '../../src/random/rng.ts';
import type { Float32Tensor } from '../../src/tensor/host-tensor.ts';

export interface RandomTensorOptions {
  readonly scale?: number;
  readonly offset?: number;
  /** abs() of every normal draw (before scale and offset). */
  readonly abs?: boolean;
}

/** A [shape] tensor of `offset + scale * N(0, 1)` draws from `rng` (or a fresh Rng(seed)), in row-major order. */
export function randomTensor(rng: Rng | number, shape: readonly number[], opts: RandomTensorOptions = {}): Float32Tensor {
  const r = typeof rng === 'number' ? new Rng(rng) : rng;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const { scale = 1, offset = 0, abs = false } = opts;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    data[i] = offset + scale * (abs ? Math.abs(v) : v);
  }
  return { shape: [...shape], data };
}
