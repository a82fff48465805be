// Owns seeded initial weights for a parameter spec: the official SRNTT-style init (conv weights N(0, 0.02), biases
// 0, conv_offset_mask zeroed), ImageNet buffers for the extractor, and a deterministic Gaussian generator. Used by
// tests (random models with official key names) and as the starting point of training.

import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './vgg-features.ts';

/** Mulberry32 uniform generator with Box-Muller normals: small, fast and reproducible across platforms. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) { this.state = seed >>> 0; }

  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== undefined) { const s = this.spare; this.spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  int(n: number): number { return Math.floor(this.uniform() * n); }
}

export interface InitOptions {
  readonly seed: number;
  readonly std?: number;
  /** Std of the conv_offset_mask weights (0 = the official zero init). */
  readonly offsetStd?: number;
}

export function initWeights(spec: Map<string, number[]>, opts: InitOptions): Map<string, Float32Tensor> {
  const rng = new SeededRandom(opts.seed);
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
