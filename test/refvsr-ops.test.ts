// The ops added for the Ref-VSR network (avgPool2x2, resizeBilinear, flowWarp) and SPyNet built on them: the tfjs
// interpreter (training) against the ONNX interpreter (inference) on the same seeded values, plus exact
// hand-computed cases of flowWarp's two padding modes on ONNX Runtime (the golden `refvsr` case checks the rest).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type * as tf from '@tensorflow/tfjs-core';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { TfjsOps, fromNCHW, toNCHW, inScope } from '../src/training/tfjs-ops.ts';
import { ParamStore } from '../src/training/param-store.ts';
import { OnnxOps, type Sym } from '../src/graph/onnx-ops.ts';
import { OrtGraph } from '../src/graph/ort-session.ts';
import type { Ops } from '../src/graph/ops.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';
import { spynetFlow } from '../src/models/spynet-arch.ts';
import { Rng } from '../src/random/rng.ts';
import { randomTensor } from './support/random.ts';

type Build = <T>(ops: Ops<T>, ins: Record<string, T>) => Record<string, T>;

async function onnxRun(lookup: (n: string) => Float32Tensor | undefined, inputs: Record<string, Float32Tensor>, build: Build): Promise<Record<string, Float32Tensor>> {
  const ops = new OnnxOps(lookup);
  const syms: Record<string, Sym> = {};
  for (const [k, v] of Object.entries(inputs)) syms[k] = ops.input(k, v.shape);
  for (const [k, v] of Object.entries(build(ops, syms))) ops.output(v, k);
  const g = await OrtGraph.create(ops.encode(), { threads: 1 });
  try {
    return await g.run(inputs);
  } finally {
    await g.release();
  }
}

async function bothWays(store: ParamStore, inputs: Record<string, Float32Tensor>, build: Build) {
  const ops = new TfjsOps(store);
  const tfjs = inScope(() => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ins[k] = fromNCHW(v);
    return Object.fromEntries(Object.entries(build(ops, ins)).map(([k, v]) => [k, toNCHW(v)]));
  });
  return { tfjs, onnx: await onnxRun(store.lookup, inputs, build) };
}

function assertClose(name: string, a: Float32Tensor, b: Float32Tensor, rel = 1e-5): string {
  assert.deepEqual([...a.shape], [...b.shape], `${name}: shape`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < a.data.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a.data[i]! - b.data[i]!));
    maxRef = Math.max(maxRef, Math.abs(b.data[i]!));
  }
  assert.ok(maxRef > 0, `${name}: all zero`);
  assert.ok(maxAbs <= rel * maxRef, `${name}: max abs diff ${maxAbs} > ${rel} * ${maxRef}`);
  return `${name}: max abs diff ${maxAbs.toExponential(2)} (max |onnx| ${maxRef.toPrecision(3)})`;
}

describe('Ref-VSR ops: tfjs interpreter vs ONNX interpreter', () => {
  before(async () => { await initTfjs(); });

  test('avgPool2x2 (odd size floors), resizeBilinear up / down / align_corners, flowWarp zeros and border', async (t) => {
    const rng = new Rng(5);
    const inputs = {
      x: randomTensor(rng, [1, 5, 13, 17]),
      // Flows of about 4 px: many samples fall outside the 13x17 map, so both padding rules matter.
      flow: randomTensor(rng, [1, 2, 13, 17], { scale: 4 }),
    };
    const build: Build = (ops, s) => ({
      pool: ops.avgPool2x2(s.x!),
      upHalfPixel: ops.resizeBilinear(s.x!, 32, 48, false),
      downHalfPixel: ops.resizeBilinear(s.x!, 7, 10, false),
      upCorners: ops.resizeBilinear(s.x!, 26, 34, true),
      warpZeros: ops.flowWarp(s.x!, s.flow!, 'zeros'),
      warpBorder: ops.flowWarp(s.x!, s.flow!, 'border'),
    });
    const store = new ParamStore({ init: { seed: 1 } });
    const { tfjs, onnx } = await bothWays(store, inputs, build);
    for (const k of Object.keys(onnx)) t.diagnostic(assertClose(k, tfjs[k]!, onnx[k]!));
    store.dispose();
  });

  test('spynetFlow (resize to multiples of 32, 6 levels, border warps) on seeded weights', async (t) => {
    const rng = new Rng(9);
    const inputs = { a: randomTensor(rng, [1, 3, 40, 52], { scale: 0.2, offset: 0.5 }), b: randomTensor(rng, [1, 3, 40, 52], { scale: 0.2, offset: 0.5 }) };
    const store = new ParamStore({ init: { seed: 3, std: 0.05, biasStd: 0.05 } });
    const { tfjs, onnx } = await bothWays(store, inputs, (ops, s) => ({ flow: spynetFlow(ops, s.a!, s.b!) }));
    assert.deepEqual(onnx.flow!.shape, [1, 2, 40, 52]);
    t.diagnostic(assertClose('flow', tfjs.flow!, onnx.flow!, 1e-4));
    store.dispose();
  });
});

test('flowWarp on ONNX Runtime: a shift of +1.5 px in x, zeros vs border padding, by hand', async () => {
  const [h, w] = [2, 4];
  const x = { shape: [1, 1, h, w], data: Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]) };
  const flow = { shape: [1, 2, h, w], data: Float32Array.from([1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 0, 0, 0, 0, 0, 0, 0, 0]) };
  const out = await onnxRun(() => undefined, { x, flow }, (ops, s) => ({ zeros: ops.flowWarp(s.x!, s.flow!, 'zeros'), border: ops.flowWarp(s.x!, s.flow!, 'border') }));
  const near = (a: Float32Array, b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 1e-5);
  // Sample x + 1.5: column 2 samples 3.5 -> half of column 3 and half of the zero outside; column 3 samples 4.5 ->
  // both corners outside. Border clamps the position to 3.
  assert.ok(near(out.zeros!.data, [1.5, 2.5, 1.5, 0, 11.5, 12.5, 6.5, 0]), `zeros: ${[...out.zeros!.data]}`);
  assert.ok(near(out.border!.data, [1.5, 2.5, 3, 3, 11.5, 12.5, 13, 13]), `border: ${[...out.border!.data]}`);
});
