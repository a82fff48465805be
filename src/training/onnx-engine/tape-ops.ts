// Owns the recording interpreter of the `Ops` interface for the ONNX training engine: every op call emits its
// forward ONNX nodes (as OnnxOps does, but with learned parameters as graph INPUTS, so one session serves every
// step) and appends an entry to the tape the backward pass walks in reverse. It tracks which values depend on a
// trainable parameter (only those get gradients).
//
// Host ops: the deformable conv's im2col (deform-im2col.ts) and the flow warp (flow-warp-host.ts) run on the host,
// so the forward is cut into segments, one ONNX graph each: segment 0, host op 0, segment 1, ... A value a later
// segment (or a host op) reads becomes an output of the segment that made it and an input of the one that reads it,
// under the same name; parameters and batch inputs are inputs of every segment that reads them; constants are
// copied into each segment that reads them (a host op reads them from the tape).

import type { ConvOptions, Ops } from '../../graph/ops.ts';
import { GraphBuilder, type Sym } from './graph-builder.ts';
import { convAttrs, convOutputShape } from '../../graph/onnx-ops.ts';
import { im2colShapes } from './deform-im2col.ts';
import { flowWarpShapes } from './flow-warp-host.ts';

export type TapeEntry = { readonly seg: number } & (
  | { readonly op: 'conv2d'; readonly x: Sym; readonly w: Sym; readonly b?: Sym; readonly opts: ConvOptions; readonly y: Sym }
  | { readonly op: 'relu' | 'sigmoid'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'leakyRelu'; readonly x: Sym; readonly slope: number; readonly y: Sym }
  | { readonly op: 'add' | 'sub' | 'mul' | 'div'; readonly a: Sym; readonly b: Sym; readonly y: Sym }
  | { readonly op: 'concat'; readonly xs: readonly Sym[]; readonly axis: number; readonly y: Sym }
  | { readonly op: 'sliceChannels'; readonly x: Sym; readonly start: number; readonly end: number; readonly y: Sym }
  | { readonly op: 'reshape'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'pixelShuffle'; readonly x: Sym; readonly r: number; readonly y: Sym }
  | { readonly op: 'maxPool2x2'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'upsampleBilinear'; readonly x: Sym; readonly scale: number; readonly y: Sym }
  | { readonly op: 'avgPool2x2'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'resizeBilinear'; readonly x: Sym; readonly alignCorners: boolean; readonly y: Sym }
  | { readonly op: 'softmaxChannels'; readonly x: Sym; readonly y: Sym }
  | { readonly op: 'padReflect'; readonly x: Sym; readonly bottom: number; readonly right: number; readonly y: Sym }
  | { readonly op: 'cropTopLeft'; readonly x: Sym; readonly y: Sym });

/** A host op between segment `after` and segment `after + 1`: the deformable im2col or the flow warp. */
export type HostEntry = { readonly after: number } & (
  /** y: cols [N, C*9, H, W]. */
  | { readonly op: 'deformIm2col'; readonly x: Sym; readonly offset: Sym; readonly mask: Sym; readonly groups: number; readonly y: Sym }
  /** y: x warped by flow [N, 2, H, W]. */
  | { readonly op: 'flowWarp'; readonly x: Sym; readonly flow: Sym; readonly padding: 'zeros' | 'border'; readonly y: Sym });

/** The values a host op reads. */
export function hostInputs(h: HostEntry): Sym[] {
  return h.op === 'deformIm2col' ? [h.x, h.offset, h.mask] : [h.x, h.flow];
}

/** Producer of a value: a segment index, 'global' (batch input / parameter) or 'host'. */
type Producer = number | 'global' | 'host';

export class TapeOps implements Ops<Sym> {
  readonly segments: GraphBuilder[] = [new GraphBuilder('f0_')];
  readonly tape: TapeEntry[] = [];
  readonly host: HostEntry[] = [];
  /** Names of values that depend on a trainable parameter. */
  readonly needsGrad = new Set<string>();
  /** Parameters by official name. */
  readonly params = new Map<string, Sym>();
  readonly globals = new Map<string, Sym>();
  readonly producer = new Map<string, Producer>();
  /** Every constant of every segment, by name (a later segment or the backward graph copies it). */
  readonly constants = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  private hostCount = 0;

  /** @param trainable whether a parameter gets a gradient (default: all). */
  constructor(private readonly trainable: (name: string) => boolean = () => true) {}

  get seg(): number { return this.segments.length - 1; }
  get f(): GraphBuilder { return this.segments[this.seg]!; }

  input(name: string, shape: readonly number[]): Sym {
    const s = { name, shape };
    this.globals.set(name, s);
    this.producer.set(name, 'global');
    return s;
  }

  /** Makes a forward value available outside its segment (runtime env), e.g. for a host op, a head, or the backward. */
  expose(x: Sym): void {
    const p = this.producer.get(x.name);
    if (typeof p === 'number') this.segments[p]!.output(x);
  }

  /** Makes `x` readable by the current segment. */
  private use(x: Sym): Sym {
    const f = this.f;
    if (f.inputs.has(x.name) || f.constants.has(x.name)) return x;
    const c = this.constants.get(x.name);
    if (c) {
      f.model.addFloatInitializer(x.name, c.shape, c.data);
      f.constants.set(x.name, c);
      return x;
    }
    const p = this.producer.get(x.name);
    if (p === undefined) throw new Error(`onnx engine: value ${x.name} was not made by this tape`);
    if (p === this.seg) return x;
    this.expose(x);
    return f.input(x.name, x.shape);
  }

  shape(x: Sym): readonly number[] { return x.shape; }

  param(name: string, shape: readonly number[]): Sym {
    const have = this.params.get(name);
    if (have) {
      if (have.shape.join() !== shape.join()) throw new Error(`parameter "${name}" used with shapes [${have.shape}] and [${shape}]`);
      return have;
    }
    const s = this.input(name, shape);
    this.params.set(name, s);
    if (this.trainable(name)) this.needsGrad.add(name);
    return s;
  }

  /** Becomes an initializer of each segment that reads it (`use`): one only a host op reads is in no graph. */
  constant(name: string, shape: readonly number[], data: Float32Array): Sym {
    const s = { name: this.f.fresh(name), shape };
    this.constants.set(s.name, { shape, data });
    this.producer.set(s.name, this.seg);
    return s;
  }

  /** Emits through `emit` (after making the inputs readable here) and records the entry. */
  private op<E extends TapeEntry>(ins: readonly (Sym | undefined)[], emit: () => Omit<E, 'seg'>): Sym {
    for (const s of ins) if (s) this.use(s);
    const e = { ...emit(), seg: this.seg } as E;
    this.tape.push(e);
    this.producer.set(e.y.name, this.seg);
    if (ins.some((s) => s && this.needsGrad.has(s.name))) this.needsGrad.add(e.y.name);
    return e.y;
  }

  conv2d(x: Sym, w: Sym, b: Sym | undefined, opts: ConvOptions): Sym {
    const shape = convOutputShape(x, w, opts);
    return this.op([x, w, b], () => ({
      op: 'conv2d' as const, x, w, b, opts,
      y: this.f.node('Conv', b ? [x, w, b] : [x, w], shape, convAttrs(w, opts)),
    }));
  }

  /** Records a host op after the current segment (its inputs become outputs of their segments) and opens the next. */
  private hostOp(name: string, shape: readonly number[], entry: (y: Sym) => HostEntry): Sym {
    const y = { name: `host${this.hostCount++}_${name}`, shape };
    const h = entry(y);
    const ins = hostInputs(h);
    for (const v of ins) if (!this.constants.has(v.name)) this.expose(v); // constants it reads from `constants`
    this.host.push(h);
    this.producer.set(y.name, 'host');
    if (ins.some((v) => this.needsGrad.has(v.name))) this.needsGrad.add(y.name);
    this.segments.push(new GraphBuilder(`f${this.segments.length}_`));
    return y;
  }

  /** Deformable im2col on the host, then the weight as a 1x1 conv in the next segment. */
  deformConv(x: Sym, offset: Sym, mask: Sym, w: Sym, b: Sym | undefined, groups: number): Sym {
    const s = im2colShapes(x.shape, offset.shape, mask.shape, groups);
    const o = w.shape[0]!;
    if (w.shape.join() !== [o, s.c, 3, 3].join()) throw new Error(`deformConv: weight [${w.shape}] is not [O, ${s.c}, 3, 3]`);
    const y = this.hostOp('deform_cols', [s.n, s.c * 9, s.h, s.w], (y) => ({ op: 'deformIm2col', after: this.seg, x, offset, mask, groups, y }));
    const w1 = this.op([w], () => ({ op: 'reshape' as const, x: w, y: this.f.reshape(w, [o, s.c * 9, 1, 1]) }));
    return this.conv2d(y, w1, b, { pad: 0 });
  }

  relu(x: Sym): Sym { return this.op([x], () => ({ op: 'relu' as const, x, y: this.f.node('Relu', [x], x.shape) })); }
  leakyRelu(x: Sym, slope: number): Sym {
    if (!(slope > 0)) throw new Error('onnx engine: leakyRelu needs a positive slope');
    return this.op([x], () => ({ op: 'leakyRelu' as const, x, slope, y: this.f.node('LeakyRelu', [x], x.shape, { alpha: { float: slope } }) }));
  }
  sigmoid(x: Sym): Sym { return this.op([x], () => ({ op: 'sigmoid' as const, x, y: this.f.node('Sigmoid', [x], x.shape) })); }
  add(a: Sym, b: Sym): Sym { return this.op([a, b], () => ({ op: 'add' as const, a, b, y: this.f.add(a, b) })); }
  sub(a: Sym, b: Sym): Sym { return this.op([a, b], () => ({ op: 'sub' as const, a, b, y: this.f.sub(a, b) })); }
  mul(a: Sym, b: Sym): Sym { return this.op([a, b], () => ({ op: 'mul' as const, a, b, y: this.f.mul(a, b) })); }
  div(a: Sym, b: Sym): Sym { return this.op([a, b], () => ({ op: 'div' as const, a, b, y: this.f.div(a, b) })); }

  concat(xs: readonly Sym[], axis: number): Sym {
    return this.op(xs, () => ({ op: 'concat' as const, xs, axis, y: this.f.concat(xs, axis) }));
  }

  sliceChannels(x: Sym, start: number, end: number): Sym {
    return this.op([x], () => ({ op: 'sliceChannels' as const, x, start, end, y: this.f.slice(x, [1], [start], [end]) }));
  }

  pixelShuffle(x: Sym, r: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.op([x], () => ({ op: 'pixelShuffle' as const, x, r, y: this.f.node('DepthToSpace', [x], [n, c / (r * r), h * r, w * r], { blocksize: r, mode: 'CRD' }) }));
  }

  maxPool2x2(x: Sym): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.op([x], () => ({ op: 'maxPool2x2' as const, x, y: this.f.node('MaxPool', [x], [n, c, Math.floor(h / 2), Math.floor(w / 2)], { kernel_shape: [2, 2], strides: [2, 2] }) }));
  }

  // The multi-reference fusion's ops (MRAPAFusion, models/mref-arch.ts).
  softmaxChannels(x: Sym): Sym {
    return this.op([x], () => ({ op: 'softmaxChannels' as const, x, y: this.f.node('Softmax', [x], x.shape, { axis: 1 }) }));
  }

  padReflectBottomRight(x: Sym, bottom: number, right: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (bottom === 0 && right === 0) return x;
    if (bottom >= h || right >= w) throw new Error(`reflect padding by ${bottom}x${right} needs a map larger than ${h}x${w}`);
    return this.op([x], () => ({ op: 'padReflect' as const, x, bottom, right, y: this.f.node('Pad', [x, this.f.ints([0, 0, 0, 0, 0, 0, bottom, right])], [n, c, h + bottom, w + right], { mode: 'reflect' }) }));
  }

  cropTopLeft(x: Sym, h: number, w: number): Sym {
    const [n, c, hx, wx] = x.shape as [number, number, number, number];
    if (h === hx && w === wx) return x;
    return this.op([x], () => ({ op: 'cropTopLeft' as const, x, y: this.f.slice(x, [2, 3], [0, 0], [h, w]) }));
  }

  // The video network's ops (SPyNet, Ref-VSR propagation).
  avgPool2x2(x: Sym): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.op([x], () => ({ op: 'avgPool2x2' as const, x, y: this.f.node('AveragePool', [x], [n, c, Math.floor(h / 2), Math.floor(w / 2)], { kernel_shape: [2, 2], strides: [2, 2] }) }));
  }

  resizeBilinear(x: Sym, h: number, w: number, alignCorners: boolean): Sym {
    const [n, c] = x.shape as [number, number];
    return this.op([x], () => ({
      op: 'resizeBilinear' as const, x, alignCorners,
      y: this.f.node('Resize', [x, '', '', this.f.ints([n, c, h, w])], [n, c, h, w], { mode: 'linear', coordinate_transformation_mode: alignCorners ? 'align_corners' : 'pytorch_half_pixel' }),
    }));
  }

  /** On the host (flow-warp-host.ts), between this segment and the next. */
  flowWarp(x: Sym, flow: Sym, padding: 'zeros' | 'border'): Sym {
    const s = flowWarpShapes(x.shape, flow.shape, padding);
    return this.hostOp('flow_warp', [s.n, s.c, s.h, s.w], (y) => ({ op: 'flowWarp', after: this.seg, x, flow, padding, y }));
  }

  upsampleBilinear(x: Sym, scale: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (!Number.isInteger(scale) || scale < 1) throw new Error('onnx engine: upsampleBilinear needs an integer scale');
    return this.op([x], () => {
      const scales = this.f.constant('resize_scales', [4], Float32Array.of(1, 1, scale, scale));
      return { op: 'upsampleBilinear' as const, x, scale, y: this.f.node('Resize', [x, '', scales], [n, c, h * scale, w * scale], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }) };
    });
  }
}
