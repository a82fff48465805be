// Measures tfjs training speed of one 3x3, 64 -> 64 channel convolution on a 64x64 map (batch 1, NHWC) on the
// backend refsr trains with: forward, input gradient (Conv2DBackpropInput), filter gradient (refsr's
// Conv2DBackpropFilter kernel on wasm) and a whole forward+backward step (both gradients, 3 passes). Prints JSON (GFLOP/s, median of runs).
// Usage: npx tsx bench/train-conv.ts [--backend wasm|cpu] [--reps N] [--size S] [--batch B]

import * as tf from '@tensorflow/tfjs-core';
import { initTfjs, useBackend, type TrainBackend } from '../src/training/tfjs-backend.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const backend = arg('backend', 'wasm') as TrainBackend;
const reps = Number(arg('reps', '10'));
const size = Number(arg('size', '64'));
const batch = Number(arg('batch', '1'));
const channels = 64;

await initTfjs();
await useBackend(backend);

const x = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
const w = tf.variable(tf.randomNormal([3, 3, channels, channels], 0, 0.05)) as tf.Variable<tf.Rank.R4>;
const dy = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
const flop = 2 * batch * size * size * channels * channels * 9;

function median(fn: () => tf.Tensor | tf.Tensor[]): number {
  const times: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    const t0 = performance.now();
    tf.tidy(() => {
      const out = fn();
      for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    });
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const ms = {
  forward: median(() => tf.conv2d(x, w, 1, 1)),
  backwardInput: median(() => tf.conv2dTranspose(dy, w, x.shape, 1, 1)),
  backwardFilter: median(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, channels, channels] }) as tf.Tensor),
  step: median(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 1), dy)) as tf.Scalar)([x, w])),
};
const gflops = (m: number, f: number) => Number((f / (m * 1e6)).toFixed(2));
console.log(JSON.stringify({
  backend: tf.getBackend(),
  threads: 1,
  shape: { batch, height: size, width: size, channels, kernel: 3 },
  mflop_per_pass: Number((flop / 1e6).toFixed(1)),
  ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Number(v.toFixed(2))])),
  gflops: {
    forward: gflops(ms.forward, flop),
    backwardInput: gflops(ms.backwardInput, flop),
    backwardFilter: gflops(ms.backwardFilter, flop),
    step: gflops(ms.step, 3 * flop),
  },
}));
