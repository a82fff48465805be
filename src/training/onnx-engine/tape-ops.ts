// Owns the recording interpreter of the `Ops` interface for the ONNX training engine: every op call emits its
// forward ONNX nodes into the forward graph (as OnnxOps does, but with learned parameters as graph INPUTS, so one
// session serves every step) and appends an entry to the tape the backward pass walks in reverse. It also tracks
// which values depend on a trainable parameter (only those get gradients).

import type { ConvOptions, Ops } from '../../graph/ops.ts';
import { GraphBuilder, type Sym } from './graph-builder.ts';
import { deformConvForward, type DeformSaved } from './deform-conv.ts';

export type TapeEntry =
  | { readonly op: 'conv2d'; readonly x: Sym; readonly w: Sym; readonly b?: Sym; readonly opts: ConvOptions; readonly y: Sym }
  | { readonly op: 'deformConv'; readonly x: Sym; readonly offset: Sym; readonly mask: Sym; readonly w: Sym; readonly b?: Sym; readonly groups: number; readonly saved: DeformSaved; readonly y: Sym }
  | { readonly op: 'relu' | 'sigmoid'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'leakyRelu'; readonly x: Sym; readonly slope: number; readonly y: Sym }
  | { readonly op: 'add' | 'sub' | 'mul' | 'div'; readonly a: Sym; readonly b: Sym; readonly y: Sym }
  | { readonly op: 'concat'; readonly xs: readonly Sym[]; readonly axis: number; readonly y: Sym }
  | { readonly op: 'sliceChannels'; readonly x: Sym; readonly start: number; readonly end: number; readonly y: Sym }
  | { readonly op: 'pixelShuffle'; readonly x: Sym; readonly r: number; readonly y: Sym }
  | { readonly op: 'maxPool2x2'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'upsampleBilinear'; readonly x: Sym; readonly scale: number; readonly y: Sym };

export class TapeOps implements Ops<Sym> {
  readonly f = new GraphBuilder('f_');
  readonly tape: TapeEntry[] = [];
  /** Names of values that depend on a trainable parameter. */
  readonly needsGrad = new Set<string>();
  /** Parameters by official name (graph inputs of the same name). */
  readonly params = new Map<string, Sym>();

  /** @param trainable whether a parameter gets a gradient (default: all). */
  constructor(private readonly trainable: (name: string) => boolean = () => true) {}

  input(name: string, shape: readonly number[]): Sym { return this.f.input(name, shape); }

  shape(x: Sym): readonly number[] { return x.shape; }

  param(name: string, shape: readonly number[]): Sym {
    const have = this.params.get(name);
    if (have) {
      if (have.shape.join() !== shape.join()) throw new Error(`parameter "${name}" used with shapes [${have.shape}] and [${shape}]`);
      return have;
    }
    const s = this.f.input(name, shape);
    this.params.set(name, s);
    if (this.trainable(name)) this.needsGrad.add(name);
    return s;
  }

  constant(name: string, shape: readonly number[], data: Float32Array): Sym { return this.f.constant(name, shape, data); }

  private record<E extends TapeEntry>(e: E, ins: readonly (Sym | undefined)[]): Sym {
    this.tape.push(e);
    if (ins.some((s) => s && this.needsGrad.has(s.name))) this.needsGrad.add(e.y.name);
    return e.y;
  }

  conv2d(x: Sym, w: Sym, b: Sym | undefined, opts: ConvOptions): Sym {
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [o, ci, kh, kw] = w.shape as [number, number, number, number];
    if (ci !== c) throw new Error(`conv ${w.name}: input has ${c} channels, weight expects ${ci}`);
    const s = opts.stride ?? 1;
    const oh = Math.floor((h + 2 * opts.pad - kh) / s) + 1;
    const ow = Math.floor((wd + 2 * opts.pad - kw) / s) + 1;
    const y = this.f.node('Conv', b ? [x, w, b] : [x, w], [n, o, oh, ow], {
      kernel_shape: [kh, kw], pads: [opts.pad, opts.pad, opts.pad, opts.pad], strides: [s, s],
    });
    return this.record({ op: 'conv2d', x, w, b, opts, y }, [x, w, b]);
  }

  deformConv(x: Sym, offset: Sym, mask: Sym, w: Sym, b: Sym | undefined, groups: number): Sym {
    const { y, saved } = deformConvForward(this.f, x, offset, mask, w, b, groups);
    return this.record({ op: 'deformConv', x, offset, mask, w, b, groups, saved, y }, [x, offset, mask, w, b]);
  }

  relu(x: Sym): Sym { return this.record({ op: 'relu', x, y: this.f.node('Relu', [x], x.shape) }, [x]); }
  leakyRelu(x: Sym, slope: number): Sym {
    if (!(slope > 0)) throw new Error('onnx engine: leakyRelu needs a positive slope');
    return this.record({ op: 'leakyRelu', x, slope, y: this.f.node('LeakyRelu', [x], x.shape, { alpha: { float: slope } }) }, [x]);
  }
  sigmoid(x: Sym): Sym { return this.record({ op: 'sigmoid', x, y: this.f.node('Sigmoid', [x], x.shape) }, [x]); }
  add(a: Sym, b: Sym): Sym { return this.record({ op: 'add', a, b, y: this.f.add(a, b) }, [a, b]); }
  sub(a: Sym, b: Sym): Sym { return this.record({ op: 'sub', a, b, y: this.f.sub(a, b) }, [a, b]); }
  mul(a: Sym, b: Sym): Sym { return this.record({ op: 'mul', a, b, y: this.f.mul(a, b) }, [a, b]); }
  div(a: Sym, b: Sym): Sym { return this.record({ op: 'div', a, b, y: this.f.div(a, b) }, [a, b]); }

  concat(xs: readonly Sym[], axis: number): Sym {
    return this.record({ op: 'concat', xs, axis, y: this.f.concat(xs, axis) }, xs);
  }

  sliceChannels(x: Sym, start: number, end: number): Sym {
    return this.record({ op: 'sliceChannels', x, start, end, y: this.f.slice(x, [1], [start], [end]) }, [x]);
  }

  pixelShuffle(x: Sym, r: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const y = this.f.node('DepthToSpace', [x], [n, c / (r * r), h * r, w * r], { blocksize: r, mode: 'CRD' });
    return this.record({ op: 'pixelShuffle', x, r, y }, [x]);
  }

  maxPool2x2(x: Sym): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const y = this.f.node('MaxPool', [x], [n, c, Math.floor(h / 2), Math.floor(w / 2)], { kernel_shape: [2, 2], strides: [2, 2] });
    return this.record({ op: 'maxPool2x2', x, y }, [x]);
  }

  upsampleBilinear(x: Sym, scale: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (!Number.isInteger(scale) || scale < 1) throw new Error('onnx engine: upsampleBilinear needs an integer scale');
    const scales = this.f.constant('resize_scales', [4], Float32Array.of(1, 1, scale, scale));
    const y = this.f.node('Resize', [x, '', scales], [n, c, h * scale, w * scale], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' });
    return this.record({ op: 'upsampleBilinear', x, scale, y }, [x]);
  }
}
