// Owns the learned parameters of a network during training: one tf.Variable per official state_dict key, created
// on first use from a weight file (WeightMap) or from a seeded initialisation, and read back as host tensors for
// checkpoints and for the ONNX interpreter.

import * as tf from '@tensorflow/tfjs-core';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { formatShape, shapesEqual } from '../tensor/host-tensor.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../models/vgg-features.ts';
import { Rng } from '../random/rng.ts';

/** Weights by name; `shape` is the shape the network expects (a source may adapt a stored tensor to it). */
export type WeightSource = (name: string, shape?: readonly number[]) => Float32Tensor | undefined;

/** Seeded initialisation (SRNTT-style: conv weights N(0, std), biases 0; BN weight 1). */
export interface SeededInit {
  readonly seed: number;
  /**
   * Std of conv / linear weights (default 0.02, the official init), or 'he' for sqrt(2 / fan_in) (networks trained
   * from scratch here, whose ReLU trunks would otherwise start with vanishing activations).
   */
  readonly std?: number | 'he';
  /** Std of `conv_offset_mask` weights (default 0, the official zero init). */
  readonly offsetStd?: number;
  /** The name whose seeded value a parameter takes (default itself): ties two parameters to the same start. */
  readonly seedName?: (name: string) => string;
  /** Parameters that start at zero (e.g. the last conv, so a residual network starts as its bilinear base). */
  readonly zero?: readonly string[];
  /** Std of biases (default 0). */
  readonly biasStd?: number;
}

export interface ParamStoreOptions {
  /** Weights to start from; a name missing here falls back to `init` (or is an error without it). */
  readonly source?: WeightSource;
  readonly init?: SeededInit;
  /** Variables are trainable (default true); frozen networks (VGG of the perceptual loss) use false. */
  readonly trainable?: boolean;
}

function hashName(name: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seeded initial value of one parameter; depends only on (seed, name, shape), not on creation order. */
export function seededValue(name: string, shape: readonly number[], init: SeededInit): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(hashName(init.seedName?.(name) ?? name, init.seed));
  if (name.endsWith('.mean') && n === 3) return Float32Array.from(IMAGENET_MEAN);
  if (name.endsWith('.std') && n === 3) return Float32Array.from(IMAGENET_STD);
  if (init.zero?.includes(name)) return new Float32Array(n);
  if (name.endsWith('.weight') && shape.length >= 2) {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    // As the official ResidualBlockNoBN (default_init_weights(scale=0.1)): residual branches start at a tenth of He,
    // so a deep residual stack starts near identity instead of doubling its variance per block.
    const residual = /\.body(_\w+)?\.\d+\.conv[12]\.weight$/.test(name) ? 0.1 : 1;
    const std = init.std === 'he' ? residual * Math.sqrt(2 / fanIn) : (init.std ?? 0.02);
    return rng.normals(n, name.includes('conv_offset_mask') ? (init.offsetStd ?? 0) : std);
  }
  if (name.endsWith('.weight')) return new Float32Array(n).fill(1);
  if (name.endsWith('.bias')) return rng.normals(n, init.biasStd ?? 0);
  return new Float32Array(n);
}

export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly opts: ParamStoreOptions = {}) {}

  /** Wraps existing variables (keys are official state_dict names). */
  static fromVariables(vars: Map<string, tf.Variable>, opts: ParamStoreOptions = {}): ParamStore {
    const s = new ParamStore(opts);
    for (const [k, v] of vars) s.vars.set(k, v);
    return s;
  }

  get trainable(): boolean { return this.opts.trainable ?? true; }

  /** The variable for `name`, created on first use; its shape must be `shape` (official layout, e.g. OIHW). */
  variable(name: string, shape: readonly number[]): tf.Variable {
    const have = this.vars.get(name);
    if (have) {
      if (!shapesEqual(have.shape, shape)) throw new Error(`parameter "${name}" has shape ${formatShape(have.shape)}, expected ${formatShape(shape)}`);
      return have;
    }
    let data: Float32Array;
    const w = this.opts.source?.(name, shape);
    if (w) {
      if (!shapesEqual(w.shape, shape)) throw new Error(`weight "${name}" has shape ${formatShape(w.shape)}, expected ${formatShape(shape)}`);
      data = w.data;
    } else if (this.opts.init) {
      data = seededValue(name, shape, this.opts.init);
    } else {
      throw new Error(`weight "${name}" ${formatShape(shape)} is missing and no initialisation was given`);
    }
    // Unnamed: tfjs variable names are process-global, and two stores may hold the same keys.
    const v = tf.variable(tf.tensor(data, [...shape], 'float32'), this.trainable);
    this.vars.set(name, v);
    return v;
  }

  /** Current values as host tensors (official names and layouts). */
  snapshot(): Map<string, Float32Tensor> {
    const out = new Map<string, Float32Tensor>();
    for (const [k, v] of this.vars) out.set(k, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    return out;
  }

  /** Looks a parameter up by name for a graph builder (OnnxOps) that should see the current values. */
  lookup = (name: string): Float32Tensor | undefined => {
    const v = this.vars.get(name);
    return v ? { shape: [...v.shape], data: v.dataSync() as Float32Array } : this.opts.source?.(name);
  };

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
