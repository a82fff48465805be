// Owns the ONNX interpreter of the `Ops` interface: each op call emits ONNX nodes into an OnnxModel and tracks the
// static shape of every value. Parameters come from a weight source keyed by official state_dict names.

import type { ConvOptions, Ops } from './ops.ts';
import { OnnxModel } from './onnx-model.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { formatShape, shapesEqual } from '../tensor/host-tensor.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export interface Sym {
  readonly name: string;
  readonly shape: readonly number[];
}

export type WeightLookup = (name: string, shape: readonly number[]) => Float32Tensor | undefined;

export class MissingWeightError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'MissingWeightError'; }
}

export interface OnnxOpsOptions {
  /**
   * How deformable convolution is lowered: ONNX DeformConv (default, any input/output grids through the stride
   * trick below) or GridSample + 1x1 Conv ('gridsample', kept as an independent cross-check).
   */
  readonly deformConv?: 'auto' | 'gridsample' | 'deformconv';
}

export class OnnxOps implements Ops<Sym> {
  readonly model = new OnnxModel();

  constructor(private readonly weights: WeightLookup, private readonly options: OnnxOpsOptions = {}) {}

  input(name: string, shape: readonly number[]): Sym {
    this.model.addInput(name, shape);
    return { name, shape };
  }

  output(x: Sym, name: string): void {
    this.model.addNode({ op: 'Identity', inputs: [x.name], outputs: [name] });
    this.model.addOutput(name, x.shape);
  }

  encode(): Uint8Array { return this.model.encode(); }

  shape(x: Sym): readonly number[] { return x.shape; }

  param(name: string, shape: readonly number[]): Sym {
    if (!this.model.hasInitializer(name)) {
      const w = this.weights(name, shape);
      if (!w) throw new MissingWeightError(`weight "${name}" ${formatShape(shape)} is missing from the model file`);
      if (!shapesEqual(w.shape, shape)) throw new MissingWeightError(`weight "${name}" has shape ${formatShape(w.shape)}, expected ${formatShape(shape)}`);
      this.model.addFloatInitializer(name, shape, w.data);
    }
    return { name, shape };
  }

  constant(name: string, shape: readonly number[], data: Float32Array): Sym {
    const unique = this.model.hasInitializer(name) ? this.model.fresh(name) : name;
    this.model.addFloatInitializer(unique, shape, data);
    return { name: unique, shape };
  }

  private ints(values: readonly number[]): string {
    const name = this.model.fresh('i64');
    this.model.addInt64Initializer(name, values);
    return name;
  }

  private node(op: string, inputs: readonly (Sym | string)[], shape: readonly number[], attrs?: Record<string, import('./onnx-model.ts').AttrValue>): Sym {
    const out = this.model.fresh(op.toLowerCase());
    this.model.addNode({ op, inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)), outputs: [out], attrs });
    return { name: out, shape };
  }

  conv2d(x: Sym, weight: Sym, bias: Sym | undefined, opts: ConvOptions): Sym {
    return this.node('Conv', bias ? [x, weight, bias] : [x, weight], convOutputShape(x, weight, opts), convAttrs(weight, opts));
  }

  deformConv(x: Sym, offset: Sym, mask: Sym, weight: Sym, bias: Sym | undefined, groups: number): Sym {
    const mode = this.options.deformConv ?? 'auto';
    if (mode === 'gridsample') return this.deformConvByGridSample(x, offset, mask, weight, bias, groups);
    return this.deformConvOnAnyGrid(x, offset, mask, weight, bias, groups);
  }

  /**
   * ONNX DeformConv samples at (oy * stride - pad_top + i + dy). Its output grid is tied to the input size, so to
   * put a tile-sized output over an input of any size we pick the stride and bottom/right padding that give the
   * wanted output size and fold the difference of base positions into the offsets:
   * dy_fed = dy - oy * (stride - 1) with pad_top = 1 (likewise for x). With equal grids this is the plain
   * DeformConv (stride 1, pads 1). Its cost follows the output size, not the size of the sampled map.
   */
  private deformConvOnAnyGrid(x: Sym, offset: Sym, mask: Sym, weight: Sym, bias: Sym | undefined, groups: number): Sym {
    const [, , hx, wx] = x.shape as [number, number, number, number];
    const [, oc, h, w] = offset.shape as [number, number, number, number];
    const strideFor = (inSize: number, outSize: number) => (outSize <= 1 ? Math.max(1, inSize) : Math.max(1, Math.ceil((inSize - 2) / (outSize - 1))));
    const sh = strideFor(hx, h);
    const sw = strideFor(wx, w);
    const padBottom = (h - 1) * sh + 2 - hx;
    const padRight = (w - 1) * sw + 2 - wx;
    let fed = offset;
    if (sh !== 1 || sw !== 1) {
      const corr = new Float32Array(oc * h * w);
      for (let k = 0; k < oc / 2; k++) {
        for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
          corr[((2 * k) * h + y) * w + xx] = -y * (sh - 1);
          corr[((2 * k + 1) * h + y) * w + xx] = -xx * (sw - 1);
        }
      }
      fed = this.add(offset, this.constant('dcn_stride_correction', [1, oc, h, w], corr));
    }
    const o = weight.shape[0]!;
    return this.node('DeformConv', bias ? [x, weight, fed, bias, mask] : [x, weight, fed, '', mask], [1, o, h, w], {
      kernel_shape: [3, 3], pads: [1, 1, padBottom, padRight], strides: [sh, sw], dilations: [1, 1], group: 1, offset_group: groups,
    });
  }

  /**
   * DCNv2 as GridSample + 1x1 Conv. Per (group, tap) the absolute sample position (y - 1 + i + dy, x - 1 + j + dx)
   * is mapped to GridSample's align_corners=1 coordinates; GridSample with zero padding gives exactly DCNv2's
   * bilinear rule (corners outside the map count 0). The sampled [G, C/G, 9H, W] volume times the mask is the
   * im2col matrix of the deformable conv, so the weight applies as a 1x1 conv over C*9 channels.
   */
  private deformConvByGridSample(x: Sym, offset: Sym, mask: Sym, weight: Sym, bias: Sym | undefined, groups: number): Sym {
    const [n, c, hx, wx] = x.shape as [number, number, number, number];
    const [, , h, w] = offset.shape as [number, number, number, number];
    if (n !== 1) throw new Error('deformConv lowering supports batch 1');
    if (hx < 2 || wx < 2) throw new Error(`deformable conv input ${hx}x${wx} is too small (needs at least 2x2)`);
    const g = groups;
    const off = this.reshape(offset, [g, 9, 2, h, w]);
    const dy = this.node('Slice', [off, this.ints([0]), this.ints([1]), this.ints([2])], [g, 9, 1, h, w]);
    const dx = this.node('Slice', [off, this.ints([1]), this.ints([2]), this.ints([2])], [g, 9, 1, h, w]);
    const baseY = new Float32Array(9 * h * w);
    const baseX = new Float32Array(9 * h * w);
    for (let t = 0; t < 9; t++) {
      const i = Math.floor(t / 3);
      const j = t % 3;
      for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
        baseY[(t * h + y) * w + xx] = y - 1 + i;
        baseX[(t * h + y) * w + xx] = xx - 1 + j;
      }
    }
    const scaleY = 2 / (hx - 1);
    const scaleX = 2 / (wx - 1);
    const gy = this.affine(this.add(dy, this.constant('dcn_base_y', [1, 9, 1, h, w], baseY)), scaleY, -1);
    const gx = this.affine(this.add(dx, this.constant('dcn_base_x', [1, 9, 1, h, w], baseX)), scaleX, -1);
    const grid5 = this.concat([gx, gy], 2); // [g, 9, 2, h, w]
    const gridT = this.node('Transpose', [grid5], [g, 9, h, w, 2], { perm: [0, 1, 3, 4, 2] });
    const grid = this.reshape(gridT, [g, 9 * h, w, 2]);
    const xs = this.reshape(x, [g, c / g, hx, wx]);
    const sampled = this.node('GridSample', [xs, grid], [g, c / g, 9 * h, w], { mode: 'bilinear', padding_mode: 'zeros', align_corners: 1 });
    const m = this.reshape(mask, [g, 1, 9 * h, w]);
    const cols = this.reshape(this.mul(sampled, m), [1, c * 9, h, w]);
    const o = weight.shape[0]!;
    const w1 = this.reshape(weight, [o, c * 9, 1, 1]);
    return this.node('Conv', bias ? [cols, w1, bias] : [cols, w1], [1, o, h, w], { kernel_shape: [1, 1] });
  }

  reshape(x: Sym, shape: readonly number[]): Sym {
    return this.node('Reshape', [x, this.ints(shape)], shape);
  }

  /** x * scale + shift with scalar constants. */
  affine(x: Sym, scale: number, shift: number): Sym {
    const s = this.constant('scale', [], Float32Array.of(scale));
    const b = this.constant('shift', [], Float32Array.of(shift));
    return this.add(this.mul(x, s), b);
  }

  relu(x: Sym): Sym { return this.node('Relu', [x], x.shape); }
  leakyRelu(x: Sym, slope: number): Sym { return this.node('LeakyRelu', [x], x.shape, { alpha: { float: slope } }); }
  sigmoid(x: Sym): Sym { return this.node('Sigmoid', [x], x.shape); }
  add(a: Sym, b: Sym): Sym { return this.node('Add', [a, b], broadcastShape(a.shape, b.shape)); }
  sub(a: Sym, b: Sym): Sym { return this.node('Sub', [a, b], broadcastShape(a.shape, b.shape)); }
  mul(a: Sym, b: Sym): Sym { return this.node('Mul', [a, b], broadcastShape(a.shape, b.shape)); }
  div(a: Sym, b: Sym): Sym { return this.node('Div', [a, b], broadcastShape(a.shape, b.shape)); }

  concat(xs: readonly Sym[], axis: number): Sym {
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
    return this.node('Concat', xs, shape, { axis });
  }

  sliceChannels(x: Sym, start: number, end: number): Sym {
    const shape = [...x.shape];
    shape[1] = end - start;
    return this.node('Slice', [x, this.ints([start]), this.ints([end]), this.ints([1])], shape);
  }

  pixelShuffle(x: Sym, r: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.node('DepthToSpace', [x], [n, c / (r * r), h * r, w * r], { blocksize: r, mode: 'CRD' });
  }

  maxPool2x2(x: Sym): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.node('MaxPool', [x], [n, c, Math.floor(h / 2), Math.floor(w / 2)], { kernel_shape: [2, 2], strides: [2, 2] });
  }

  upsampleBilinear(x: Sym, scale: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const scales = this.constant('resize_scales', [4], Float32Array.of(1, 1, scale, scale));
    return this.node('Resize', [x, '', scales], [n, c, h * scale, w * scale], {
      mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel',
    });
  }

  // Ops added for the Ref-VSR network (see ops.ts).

  avgPool2x2(x: Sym): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.node('AveragePool', [x], [n, c, Math.floor(h / 2), Math.floor(w / 2)], { kernel_shape: [2, 2], strides: [2, 2] });
  }

  /** Resize by `sizes`: align_corners maps corner to corner, otherwise torch's half-pixel rule (scale in/out). */
  resizeBilinear(x: Sym, h: number, w: number, alignCorners: boolean): Sym {
    const [n, c] = x.shape as [number, number];
    return this.node('Resize', [x, '', '', this.ints([n, c, h, w])], [n, c, h, w], {
      mode: 'linear', coordinate_transformation_mode: alignCorners ? 'align_corners' : 'pytorch_half_pixel',
    });
  }

  /** GridSample (align_corners=1) on base grid + flow, normalised as mmedit's flow_warp does: 2 g / max(size-1, 1) - 1. */
  flowWarp(x: Sym, flow: Sym, padding: 'zeros' | 'border'): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const [, fc, fh, fw] = flow.shape as [number, number, number, number];
    if (fc !== 2 || fh !== h || fw !== w) throw new Error(`flowWarp: flow ${formatShape(flow.shape)} does not fit ${formatShape(x.shape)}`);
    const base = new Float32Array(2 * h * w);
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      base[y * w + xx] = xx;
      base[h * w + y * w + xx] = y;
    }
    const abs = this.add(flow, this.constant('warp_base_grid', [1, 2, h, w], base));
    const scale = this.constant('warp_grid_scale', [1, 2, 1, 1], Float32Array.of(2 / Math.max(w - 1, 1), 2 / Math.max(h - 1, 1)));
    const norm = this.sub(this.mul(abs, scale), this.constant('warp_one', [], Float32Array.of(1)));
    const grid = this.node('Transpose', [norm], [n, h, w, 2], { perm: [0, 2, 3, 1] });
    return this.node('GridSample', [x, grid], [n, c, h, w], { mode: 'bilinear', padding_mode: padding, align_corners: 1 });
  }

  // Ops added for the multi-reference network (see ops.ts).

  softmaxChannels(x: Sym): Sym { return this.node('Softmax', [x], x.shape, { axis: 1 }); }

  padReflectBottomRight(x: Sym, bottom: number, right: number): Sym {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (bottom === 0 && right === 0) return x;
    if (bottom >= h || right >= w) throw new Error(`reflect padding by ${bottom}x${right} needs a map larger than ${h}x${w}`);
    return this.node('Pad', [x, this.ints([0, 0, 0, 0, 0, 0, bottom, right])], [n, c, h + bottom, w + right], { mode: 'reflect' });
  }

  cropTopLeft(x: Sym, h: number, w: number): Sym {
    const [n, c, hx, wx] = x.shape as [number, number, number, number];
    if (h === hx && w === wx) return x;
    return this.node('Slice', [x, this.ints([0, 0]), this.ints([h, w]), this.ints([2, 3])], [n, c, h, w]);
  }
}

/** Output shape [n, o, oh, ow] of a conv of `x` with `weight` (checks the channel count). */
export function convOutputShape(x: Sym, weight: Sym, opts: ConvOptions): number[] {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [o, ci, kh, kw] = weight.shape as [number, number, number, number];
  if (ci !== c) throw new Error(`conv ${weight.name}: input has ${c} channels, weight expects ${ci}`);
  const s = opts.stride ?? 1;
  return [n, o, Math.floor((h + 2 * opts.pad - kh) / s) + 1, Math.floor((w + 2 * opts.pad - kw) / s) + 1];
}

/** The ONNX Conv attributes of a square-padded conv. */
export function convAttrs(weight: Sym, opts: ConvOptions): { kernel_shape: number[]; pads: number[]; strides: number[] } {
  const s = opts.stride ?? 1;
  return { kernel_shape: [weight.shape[2]!, weight.shape[3]!], pads: [opts.pad, opts.pad, opts.pad, opts.pad], strides: [s, s] };
}

/** numpy-style broadcast of two static shapes (the ONNX elementwise rule). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast ${formatShape(a)} with ${formatShape(b)}`);
    out.push(Math.max(da, db));
  }
  return out;
}
