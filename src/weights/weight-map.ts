// Owns a set of named float32 weights as the networks consume them (official key names), decoded lazily from a
// stored container (safetensors or a safely read .pth), with the file's metadata.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { toFloat32, type StoredTensor } from './safetensors.ts';

export class WeightMap {
  private readonly decoded = new Map<string, Float32Tensor>();

  constructor(private readonly stored: Map<string, StoredTensor | Float32Tensor>, readonly metadata: Record<string, string> = {}) {}

  static fromTensors(tensors: Map<string, Float32Tensor> | Record<string, Float32Tensor>, metadata: Record<string, string> = {}): WeightMap {
    return new WeightMap(tensors instanceof Map ? new Map(tensors) : new Map(Object.entries(tensors)), metadata);
  }

  has(name: string): boolean { return this.stored.has(name); }
  keys(): string[] { return [...this.stored.keys()]; }

  get(name: string): Float32Tensor | undefined {
    let t = this.decoded.get(name);
    if (t) return t;
    const s = this.stored.get(name);
    if (!s) return undefined;
    t = 'dtype' in s ? toFloat32(s, name) : s;
    this.decoded.set(name, t);
    return t;
  }

  /** A view with every key prefixed by `prefix` stripped (keys without it are dropped). */
  withPrefix(prefix: string): WeightMap {
    const m = new Map<string, StoredTensor | Float32Tensor>();
    for (const [k, v] of this.stored) if (k.startsWith(prefix)) m.set(k.slice(prefix.length), v);
    return new WeightMap(m, this.metadata);
  }

  /** Lookup function for graph builders. */
  lookup = (name: string): Float32Tensor | undefined => this.get(name);
}
