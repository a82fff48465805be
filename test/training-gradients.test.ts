// Gradient checks of the training engine against central finite differences (float32, small shapes, directional
// derivatives along random directions, relative tolerance 1e-2): deformable conv w.r.t. every input, PixelShuffle,
// the other TfjsOps ops, the kernels refsr registers on the wasm backend, and the leaky ReLU formulation including
// a second-order gradient (the gradient of a function of the input-gradient norm, as WGAN-GP needs).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { TfjsOps, inScope } from '../src/training/tfjs-ops.ts';
import { ParamStore } from '../src/training/param-store.ts';
import { Rng } from '../src/random/rng.ts';
import { conv2dBackpropFilterFromOps } from '../src/training/wasm-kernels/conv2d-backprop-filter.ts';
import { unsortedSegmentSumFromOps } from '../src/training/wasm-kernels/unsorted-segment-sum.ts';

const ops = new TfjsOps(new ParamStore());

function randn(rng: Rng, shape: number[], scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.normals(n, scale), shape);
}

/**
 * Checks d f / d args[which] along `dirs` random unit directions: analytic <grad, v> against
 * (f(x + h v) - f(x - h v)) / 2h. `f` returns either a scalar, or a tensor that is reduced against fixed random
 * weights R: the analytic side differentiates sum(R * out) in tfjs, the finite difference sums R * out in float64
 * on the host (so float32 summation noise does not swamp the difference). Returns the worst relative error.
 */
function directionalCheck(f: (...xs: tf.Tensor[]) => tf.Tensor, args: tf.Tensor[], which: number, rng: Rng, h = 1e-2, dirs = 3): number {
  return inScope(() => {
    const probe = f(...args);
    const r = probe.rank === 0 ? undefined : randn(new Rng(rng.randint(0, 1 << 30)), [...probe.shape]);
    const rv = r?.dataSync();
    const scalarOf = (...xs: tf.Tensor[]) => (r ? tf.sum(tf.mul(f(...xs), r)) : f(...xs)) as tf.Scalar;
    const host = (out: tf.Tensor) => {
      const o = out.dataSync();
      if (!rv) return o[0]!;
      let acc = 0;
      for (let i = 0; i < o.length; i++) acc += o[i]! * rv[i]!;
      return acc;
    };
    const g = tf.grads(scalarOf)(args)[which]!;
    let worst = 0;
    for (let d = 0; d < dirs; d++) {
      let v = randn(rng, [...args[which]!.shape]);
      v = tf.div(v, tf.norm(v));
      const at = (s: number) => host(f(...args.map((a, i) => (i === which ? tf.add(a, tf.mul(v, s)) : a))));
      const fd = (at(h) - at(-h)) / (2 * h);
      const an = tf.sum(tf.mul(g, v)).dataSync()[0]!;
      const scale = Math.max(Math.abs(an), Math.abs(fd), 1e-3 * tf.norm(g).dataSync()[0]!, 1e-6);
      worst = Math.max(worst, Math.abs(an - fd) / scale);
    }
    return worst;
  });
}

describe('gradients against finite differences', () => {
  let backend = '';
  before(async () => { backend = await initTfjs(); });

  test('deformConv w.r.t. x, offset, mask, weight and bias (input grid differs from output grid, batch 2)', (t) => {
    const rng = new Rng(1);
    const [n, c, g, hx, wx, h, w, o] = [2, 4, 2, 5, 6, 4, 5, 3];
    const x = randn(rng, [n, hx, wx, c]);
    // Offsets: integer part in [-3, 3] plus a fraction in [0.25, 0.75], so a step of 1e-2 never crosses a cell.
    const off = new Float32Array(n * h * w * 2 * g * 9);
    for (let i = 0; i < off.length; i++) off[i] = rng.randint(-3, 4) + 0.25 + 0.5 * rng.uniform();
    const offset = tf.tensor(off, [n, h, w, 2 * g * 9]);
    const mask = tf.add(tf.mul(randn(rng, [n, h, w, g * 9]), 0.3), 0.5);
    const weight = randn(rng, [o, 3, 3, c], 0.5); // stored layout of OIHW
    const bias = randn(rng, [o]);
    const f = (xx: tf.Tensor, of: tf.Tensor, m: tf.Tensor, wt: tf.Tensor, b: tf.Tensor) => ops.deformConv(xx, of, m, wt, b, g);
    const args = [x, offset, mask, weight, bias];
    // Linear in x, mask, weight and bias; bilinear (quadratic) in the offsets within a cell: central differences
    // are exact up to rounding, so the steps can be large (an offset step of 0.1 never leaves the cell).
    ['x', 'offset', 'mask', 'weight', 'bias'].forEach((name, i) => {
      const err = directionalCheck(f, args, i, new Rng(100 + i), name === 'offset' ? 0.1 : 0.5);
      t.diagnostic(`${name}: worst relative error ${err.toExponential(2)}`);
      assert.ok(err < 1e-2, `deformConv d/d${name}: relative error ${err}`);
    });
  });

  test('pixelShuffle matches torch CRD order and passes gradients', () => {
    const x = tf.reshape(tf.range(0, 2 * 2 * 3 * 8, 1, 'float32'), [2, 2, 3, 8]); // stored [N, H, W, C*r*r], C = 2
    const y = ops.pixelShuffle(x, 2);
    assert.deepEqual(y.shape, [2, 4, 6, 2]);
    const xs = x.dataSync();
    const ys = y.dataSync();
    for (let nn = 0; nn < 2; nn++) for (let c = 0; c < 2; c++) for (let yy = 0; yy < 4; yy++) for (let xx = 0; xx < 6; xx++) {
      const src = xs[((nn * 2 + (yy >> 1)) * 3 + (xx >> 1)) * 8 + c * 4 + (yy & 1) * 2 + (xx & 1)]!;
      assert.equal(ys[((nn * 4 + yy) * 6 + xx) * 2 + c]!, src);
    }
    const err = directionalCheck((a) => ops.pixelShuffle(a, 2), [randn(new Rng(2), [1, 3, 2, 12])], 0, new Rng(4), 0.5);
    assert.ok(err < 1e-2, `pixelShuffle: ${err}`);
  });

  test('other TfjsOps ops: conv2d (stride 1 and 2), upsampleBilinear, maxPool2x2, sigmoid, concat, sliceChannels, batchNormTrain', (t) => {
    const rng = new Rng(7);
    // Distinct values 0.1 apart (a shuffled grid), so no max-pool window is near a tie.
    const size = 2 * 6 * 7 * 4;
    const values = Array.from({ length: size }, (_, i) => (i - size / 2) * 0.1);
    for (let i = size - 1; i > 0; i--) { const j = rng.randint(0, i + 1); [values[i], values[j]] = [values[j]!, values[i]!]; }
    const x = tf.tensor(values, [2, 6, 7, 4]);
    // Linear or quadratic ops: exact central differences with a large step; sigmoid and BN with a small one.
    const cases: [string, (a: tf.Tensor) => tf.Tensor, number][] = [
      ['conv2d', (a) => ops.conv2d(a, randn(new Rng(8), [5, 3, 3, 4]), randn(new Rng(9), [5]), { pad: 1 }), 0.5],
      ['conv2d stride 2', (a) => ops.conv2d(a, randn(new Rng(8), [5, 3, 3, 4]), undefined, { pad: 1, stride: 2 }), 0.5],
      ['upsampleBilinear', (a) => ops.upsampleBilinear(a, 4), 0.5],
      ['maxPool2x2', (a) => ops.maxPool2x2(a), 1e-2],
      ['sigmoid', (a) => ops.sigmoid(ops.mul(a, tf.scalar(0.3))), 1e-2],
      ['concat+slice', (a) => ops.sliceChannels(ops.concat([a, ops.mul(a, a)], 1), 2, 7), 0.5],
    ];
    for (const [name, fn, step] of cases) {
      const err = directionalCheck(fn, [x], 0, new Rng(12), step);
      t.diagnostic(`${name}: ${err.toExponential(2)}`);
      assert.ok(err < 1e-2, `${name}: ${err}`);
    }
    const bnOps = new TfjsOps(new ParamStore({ init: { seed: 1, biasStd: 0.1 } }));
    const err = directionalCheck((a) => bnOps.batchNormTrain(a, 'bn', 4, 1e-5), [x], 0, new Rng(14));
    t.diagnostic(`batchNormTrain: ${err.toExponential(2)}`);
    assert.ok(err < 1e-2, `batchNormTrain: ${err}`);
  });

  test('wasm kernel Conv2DBackpropFilter: filter gradients of conv2d', (t) => {
    if (backend !== 'wasm') return t.skip('wasm backend not active');
    const rng = new Rng(21);
    for (const [stride, pad] of [[1, 1], [2, 1], [1, 'valid'], [2, 'same'], [1, 0]] as const) {
      const x = randn(rng, [2, 7, 6, 3]);
      const w = randn(rng, [3, 3, 3, 4]);
      const f = (ww: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, stride, pad);
      const err = directionalCheck(f, [w], 0, new Rng(23), 0.5);
      t.diagnostic(`stride ${stride} pad ${pad}: ${err.toExponential(2)}`);
      assert.ok(err < 1e-2, `stride ${stride} pad ${pad}: ${err}`);
      // Direct call, also in NCHW form.
      const dy = randn(rng, [...tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad).shape]);
      const a = conv2dBackpropFilterFromOps(x as tf.Tensor4D, dy as tf.Tensor4D, { strides: stride, pad, dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] });
      const b = conv2dBackpropFilterFromOps(tf.transpose(x, [0, 3, 1, 2]) as tf.Tensor4D, tf.transpose(dy, [0, 3, 1, 2]) as tf.Tensor4D, { strides: stride, pad, dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] });
      assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5);
    }
  });

  test('wasm kernel Conv2DBackpropInput (replaced): input gradients of conv2d, strides and paddings, odd sizes', (t) => {
    if (backend !== 'wasm') return t.skip('wasm backend not active');
    const rng = new Rng(24);
    for (const [stride, pad] of [[1, 1], [2, 1], [1, 'valid'], [2, 'same'], [2, 'valid'], [1, 0], [3, 2]] as const) {
      const x = randn(rng, [2, 7, 8, 3]);
      const w = randn(rng, [3, 3, 3, 4]);
      const err = directionalCheck((xx) => tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, stride, pad), [x], 0, new Rng(25), 0.5);
      t.diagnostic(`stride ${stride} pad ${pad}: ${err.toExponential(2)}`);
      assert.ok(err < 1e-2, `stride ${stride} pad ${pad}: ${err}`);
    }
  });

  test('wasm kernel UnsortedSegmentSum: gather gradients and negative ids', (t) => {
    if (backend !== 'wasm') return t.skip('wasm backend not active');
    const rng = new Rng(31);
    const src = randn(rng, [6, 3]);
    const idx = tf.tensor1d([0, 2, 2, 5, 0, 1, 5, 5], 'int32');
    const err = directionalCheck((s) => tf.gather(s, idx), [src], 0, new Rng(33), 0.5);
    assert.ok(err < 1e-2, `gather: ${err}`);
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const out = unsortedSegmentSumFromOps(x, tf.tensor1d([2, -1, 0, 2], 'int32'), 3);
    assert.deepEqual([...out.dataSync()], [5, 6, 0, 0, 8, 10]);
  });

  test('ResizeBilinearGrad (replaced on wasm and cpu): non-square images, all coordinate modes', (t) => {
    const rng = new Rng(51);
    const x = randn(rng, [2, 3, 5, 2]);
    for (const [alignCorners, halfPixel] of [[false, true], [false, false], [true, false]] as const) {
      const f = (a: tf.Tensor) => tf.image.resizeBilinear(a as tf.Tensor4D, [7, 20], alignCorners, halfPixel);
      const err = directionalCheck(f, [x], 0, new Rng(53), 0.5);
      t.diagnostic(`alignCorners ${alignCorners} halfPixelCenters ${halfPixel}: ${err.toExponential(2)}`);
      assert.ok(err < 1e-2, `resize grad: ${err}`);
    }
  });

  test('wasm kernel MaxPoolGrad (replaced): several channels and odd sizes, against a direct reference', (t) => {
    if (backend !== 'wasm') return t.skip('wasm backend not active');
    const rng = new Rng(61);
    const [n, h, w, c] = [2, 7, 6, 3];
    const x = randn(rng, [n, h, w, c]);
    const oh = 3;
    const ow = 3;
    const r = randn(rng, [n, oh, ow, c]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), r)))(x).dataSync();
    const xv = x.dataSync();
    const rv = r.dataSync();
    const ref = new Float32Array(xv.length);
    for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let ch = 0; ch < c; ch++) {
      let best = -Infinity;
      let at = -1;
      for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) {
        const k = ((b * h + 2 * i + a) * w + 2 * j + bb) * c + ch;
        if (xv[k]! > best) { best = xv[k]!; at = k; }
      }
      ref[at] += rv[((b * oh + i) * ow + j) * c + ch]!;
    }
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - g[i]!));
    assert.equal(worst, 0);
  });

  test('leaky ReLU as relu(x) - a relu(-x): values, first- and second-order gradients', (t) => {
    const rng = new Rng(41);
    // Inputs at least 0.1 away from the kink.
    const x = tf.tensor(Array.from({ length: 150 }, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.1 + rng.uniform())), [2, 5, 5, 3]);
    const ref = tf.leakyRelu(x, 0.2);
    assert.ok(tf.max(tf.abs(tf.sub(ops.leakyRelu(x, 0.2), ref))).dataSync()[0]! === 0);
    const e1 = directionalCheck((a) => ops.leakyRelu(a, 0.2), [x], 0, new Rng(43));
    assert.ok(e1 < 1e-2, `first order: ${e1}`);
    // f(W) = (|| d/dx sum(R * lrelu(conv(x, W))) || - 1)^2: gradient w.r.t. W needs the second derivative path.
    const w = randn(rng, [3, 3, 3, 4], 0.5);
    const r = randn(rng, [2, 5, 5, 4]);
    const penalty = (ww: tf.Tensor) => {
      const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(r, ops.leakyRelu(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 1), 0.2))))(x);
      return tf.square(tf.sub(tf.norm(gx), 1));
    };
    const e2 = directionalCheck(penalty, [w], 0, new Rng(44), 1e-3);
    t.diagnostic(`second order through leaky ReLU: ${e2.toExponential(2)}`);
    assert.ok(e2 < 1e-2, `second order: ${e2}`);
  });
});
