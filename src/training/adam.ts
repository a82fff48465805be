// Owns the optimiser: Adam with PyTorch's exact update (bias-corrected moments, eps added to the corrected
// second-moment root, no weight decay) and per-group learning rates (the official restoration schedule trains the
// offset convolutions of each stage at its own rate). State is keyed by parameter name, so it round-trips through
// a checkpoint whatever order variables were created in.

import * as tf from '@tensorflow/tfjs-core';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

export interface AdamOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
}

export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Updates applied so far (PyTorch's per-parameter `step`, shared here since every parameter steps together). */
  steps = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;

  constructor(opts: AdamOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
  }

  /**
   * One update of every variable that has a gradient. `lrOf(name)` gives each parameter's learning rate (0 skips
   * it, as a frozen group).
   */
  apply(vars: ReadonlyMap<string, tf.Variable>, grads: Readonly<Record<string, tf.Tensor>>, lrOf: (name: string) => number): void {
    this.steps++;
    const bc1 = 1 - this.beta1 ** this.steps;
    const bc2 = 1 - this.beta2 ** this.steps;
    tf.tidy(() => {
      for (const [name, variable] of vars) {
        const g = grads[name];
        const lr = lrOf(name);
        if (!g || lr === 0) continue;
        const m = this.moment(this.m, name, variable);
        const v = this.moment(this.v, name, variable);
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        variable.assign(tf.sub(variable, tf.mul(lr / bc1, tf.div(m, denom))));
      }
    });
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      store.set(name, s);
    }
    return s;
  }

  /** The moments as host tensors under `adam.m.<name>` / `adam.v.<name>` (for checkpoints). */
  state(): Map<string, Float32Tensor> {
    const out = new Map<string, Float32Tensor>();
    for (const [kind, store] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, t] of store) out.set(`adam.${kind}.${name}`, { shape: [...t.shape], data: t.dataSync() as Float32Array });
    }
    return out;
  }

  /** Restores moments written by `state()` and the step count. */
  load(tensors: ReadonlyMap<string, Float32Tensor>, steps: number): void {
    this.dispose();
    this.steps = steps;
    for (const [key, t] of tensors) {
      const match = /^adam\.([mv])\.(.+)$/.exec(key);
      if (!match) continue;
      (match[1] === 'm' ? this.m : this.v).set(match[2]!, tf.variable(tf.tensor(t.data, [...t.shape], 'float32'), false));
    }
  }

  dispose(): void {
    for (const s of [this.m, this.v]) {
      for (const t of s.values()) t.dispose();
      s.clear();
    }
  }
}
