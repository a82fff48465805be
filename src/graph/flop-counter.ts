// Owns counting the floating-point work of a network definition: an Ops wrapper that forwards every call and adds
// the multiply-adds of convolutions (2 FLOPs each) and deformable convolutions (their conv part; the bilinear
// sampling is not counted). Benchmarks divide by time to report achieved GFLOP/s.

import type { ConvOptions, Ops } from './ops.ts';
import { OnnxOps, type Sym } from './onnx-ops.ts';

export class FlopCounter<T> implements Ops<T> {
  flops = 0;
  constructor(private readonly inner: Ops<T>) {}

  shape(x: T) { return this.inner.shape(x); }
  param(name: string, shape: readonly number[]) { return this.inner.param(name, shape); }
  constant(name: string, shape: readonly number[], data: Float32Array) { return this.inner.constant(name, shape, data); }

  conv2d(x: T, weight: T, bias: T | undefined, opts: ConvOptions): T {
    const y = this.inner.conv2d(x, weight, bias, opts);
    const [, cin, kh, kw] = this.inner.shape(weight) as [number, number, number, number];
    const [n, cout, h, w] = this.inner.shape(y) as [number, number, number, number];
    this.flops += 2 * n * cout * h * w * cin * kh * kw;
    return y;
  }

  deformConv(x: T, offset: T, mask: T, weight: T, bias: T | undefined, groups: number): T {
    const y = this.inner.deformConv(x, offset, mask, weight, bias, groups);
    const [, cin] = this.inner.shape(weight) as [number, number];
    const [n, cout, h, w] = this.inner.shape(y) as [number, number, number, number];
    this.flops += 2 * n * cout * h * w * cin * 9;
    return y;
  }

  relu(x: T) { return this.inner.relu(x); }
  leakyRelu(x: T, slope: number) { return this.inner.leakyRelu(x, slope); }
  sigmoid(x: T) { return this.inner.sigmoid(x); }
  add(a: T, b: T) { return this.inner.add(a, b); }
  sub(a: T, b: T) { return this.inner.sub(a, b); }
  mul(a: T, b: T) { return this.inner.mul(a, b); }
  div(a: T, b: T) { return this.inner.div(a, b); }
  concat(xs: readonly T[], axis: number) { return this.inner.concat(xs, axis); }
  sliceChannels(x: T, start: number, end: number) { return this.inner.sliceChannels(x, start, end); }
  pixelShuffle(x: T, r: number) { return this.inner.pixelShuffle(x, r); }
  maxPool2x2(x: T) { return this.inner.maxPool2x2(x); }
  upsampleBilinear(x: T, scale: number) { return this.inner.upsampleBilinear(x, scale); }
  avgPool2x2(x: T) { return this.inner.avgPool2x2(x); }
  resizeBilinear(x: T, h: number, w: number, alignCorners: boolean) { return this.inner.resizeBilinear(x, h, w, alignCorners); }
  flowWarp(x: T, flow: T, padding: 'zeros' | 'border') { return this.inner.flowWarp(x, flow, padding); }
  softmaxChannels(x: T) { return this.inner.softmaxChannels(x); }
  padReflectBottomRight(x: T, bottom: number, right: number) { return this.inner.padReflectBottomRight(x, bottom, right); }
  cropTopLeft(x: T, h: number, w: number) { return this.inner.cropTopLeft(x, h, w); }
}

/** Counts a network definition's work from shapes alone: a FlopCounter over a graph builder holding no weights. */
export function shapeOnlyCounter(): { ops: FlopCounter<Sym>; input: (name: string, shape: readonly number[]) => Sym } {
  const inner = new OnnxOps((_name, shape) => ({ shape, data: new Float32Array(0) }));
  return { ops: new FlopCounter(inner), input: (name, shape) => inner.input(name, shape) };
}
