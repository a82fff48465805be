// Owns seeded initial weights for a parameter spec: the official SRNTT-style init (conv weights N(0, 0.02), biases
// 0, conv_offset_mask zeroed), and ImageNet buffers for the extractor. Used by
// tests (random models with official key names) and as the starting point of training.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './vgg-features.ts';
import { Rng } from '../random/rng.ts';

export interface InitOptions {
  readonly seed: number;
  readonly std?: number;
  /** Std of the conv_offset_mask weights (0 = the official zero init). */
  readonly offsetStd?: number;
}

export function initWeights(spec: Map<string, number[]>, opts: InitOptions): Map<string, Float32Tensor> {
  const rng = new Rng(opts.seed);
  const std = opts.std ?? 0.02;
  const out = new Map<string, Float32Tensor>();
  for (const [name, shape] of spec) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith('.mean') || name.endsWith('.std')) data.set(name.endsWith('.mean') ? IMAGENET_MEAN : IMAGENET_STD);
    else if (name.endsWith('.weight')) {
      const s = name.includes('conv_offset_mask') ? (opts.offsetStd ?? 0) : std;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * s;
    }
    out.set(name, { shape: [...shape], data });
  }
  return out;
}
