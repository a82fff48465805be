// Owns the eager tfjs interpreter of the network op interface (training): every op runs at once on the active tfjs
// backend and is differentiable, parameters are tf.Variables from a ParamStore.
//
// Layout: the interface speaks NCHW, but a rank-4 value is STORED channels-last (physically NHWC) so that convs,
// pooling and resizes run on tfjs's native layout without a transpose around every op. The rule is uniform for
// every rank-4 tensor: logical [a, b, c, d] is stored as [a, c, d, b]. So an OIHW conv weight is stored as
// [O, kh, kw, I], a [1, 3, 1, 1] normalisation constant as [1, 1, 1, 3], and element-wise broadcasting between
// rank-4 values stays correct. `shape()` reports the logical (NCHW) shape; use `fromNCHW` / `toNCHW` to cross
// the boundary. Tensors of other ranks are stored as they are.

import * as tf from '@tensorflow/tfjs-core';
import type { ConvOptions } from '../graph/ops.ts';
import type { TrainOps } from './train-ops.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import { ParamStore } from './param-store.ts';

const TO_STORED = [0, 2, 3, 1];
const TO_LOGICAL = [0, 3, 1, 2];
/** Logical NCHW axis -> stored axis. */
const STORED_AXIS = [0, 3, 1, 2];

/** A host NCHW tensor as a stored (channels-last) tf.Tensor. */
export function fromNCHW(t: Float32Tensor): tf.Tensor {
  const x = tf.tensor(t.data, [...t.shape], 'float32');
  if (t.shape.length !== 4) return x;
  const s = tf.transpose(x, TO_STORED);
  x.dispose();
  return s;
}

/** A stored tf.Tensor back to host NCHW. */
export function toNCHW(x: tf.Tensor): Float32Tensor {
  if (x.rank !== 4) return { shape: [...x.shape], data: x.dataSync() as Float32Array };
  const t = tf.transpose(x, TO_LOGICAL);
  const out = { shape: [...t.shape], data: t.dataSync() as Float32Array };
  t.dispose();
  return out;
}

/** Runs `fn` in a tfjs scope that disposes every tensor it made; for functions that return host data. */
export function inScope<R>(fn: () => R): R {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

/** Logical (NCHW) shape of a stored tensor. */
export function logicalShape(x: tf.Tensor): number[] {
  const s = x.shape;
  return s.length === 4 ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

export class TfjsOps implements TrainOps<tf.Tensor> {
  readonly params: ParamStore;

  constructor(params: ParamStore | Map<string, tf.Variable>) {
    this.params = params instanceof ParamStore ? params : ParamStore.fromVariables(params);
  }

  shape(x: tf.Tensor): readonly number[] { return logicalShape(x); }

  param(name: string, shape: readonly number[]): tf.Tensor {
    const v = this.params.variable(name, shape);
    return shape.length === 4 ? tf.transpose(v, TO_STORED) : v;
  }

  constant(_name: string, shape: readonly number[], data: Float32Array): tf.Tensor {
    return fromNCHW({ shape, data });
  }

  conv2d(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, opts: ConvOptions): tf.Tensor {
    const w = tf.transpose(weight, [1, 2, 3, 0]) as tf.Tensor4D; // [O, kh, kw, I] -> HWIO
    const s = opts.stride ?? 1;
    const y = tf.conv2d(x as tf.Tensor4D, w, s, opts.pad === 0 ? 'valid' : opts.pad);
    return bias ? tf.add(y, bias) : y;
  }

  /**
   * Modulated deformable convolution (DCNv2, kernel 3, stride 1, pad 1) from one gather: for each output position,
   * group g and tap t = 3i + j, the sample point is (y - 1 + i + dy, x - 1 + j + dx) in x's own grid. The integer
   * cell and the inside test of the four bilinear corners are computed on the host from the offset values (they
   * carry no gradient, and keeping them off the tape keeps integer indices out of backprop); the corner weights
   * (1 - ly or ly) x (1 - lx or lx) x mask stay on the graph. A corner outside x contributes 0. The weighted sum is
   * the im2col matrix of the conv, and one matmul with the weight finishes it. Differentiable w.r.t. x (gather),
   * the offsets (bilinear weights), the mask and the weight.
   */
  deformConv(x: tf.Tensor, offset: tf.Tensor, mask: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, groups: number): tf.Tensor {
    const [n, hx, wx, c] = x.shape as [number, number, number, number];
    const [no, h, w, oc] = offset.shape as [number, number, number, number];
    const g = groups;
    const k = 9;
    if (no !== n) throw new Error(`deformConv: offset batch ${no} != input batch ${n}`);
    if (oc !== 2 * g * k || mask.shape[3] !== g * k) throw new Error(`deformConv: offset/mask channels ${oc}/${mask.shape[3]} do not match ${g} groups`);
    if (c % g !== 0) throw new Error(`deformConv: ${c} channels not divisible by ${g} groups`);
    const cg = c / g;
    const o = weight.shape[0]!;
    const slots = n * h * w * g * k;

    // (n, y, x, g, t, yx) -> [2, slots] by a transpose, then two contiguous rows: splitting the last axis of size 2
    // directly (tf.split) runs ~30x slower on wasm.
    const off = tf.transpose(tf.reshape(offset, [slots, 2]));
    const dy = tf.reshape(tf.slice(off, [0, 0], [1, slots]), [slots]);
    const dx = tf.reshape(tf.slice(off, [1, 0], [1, slots]), [slots]);
    const cells = deformCells(dy.dataSync() as Float32Array, dx.dataSync() as Float32Array, n, h, w, g, hx, wx);
    const ly = tf.sub(dy, tf.tensor1d(cells.fracBaseY));
    const lx = tf.sub(dx, tf.tensor1d(cells.fracBaseX));
    const oneMinusLy = tf.sub(1, ly);
    const oneMinusLx = tf.sub(1, lx);
    // Corner weights [4, slots] in corner order (0,0), (0,1), (1,0), (1,1), times inside, times the mask.
    const bilinear = tf.stack([tf.mul(oneMinusLy, oneMinusLx), tf.mul(oneMinusLy, lx), tf.mul(ly, oneMinusLx), tf.mul(ly, lx)]);
    const weights = tf.mul(tf.mul(bilinear, tf.tensor2d(cells.inside, [4, slots])), tf.reshape(mask, [1, slots]));
    const rows = tf.reshape(x, [n * hx * wx * g, cg]);
    const sampled = tf.reshape(tf.gather(rows, tf.tensor1d(cells.index, 'int32')), [4, slots, cg]);
    const cols = tf.sum(tf.mul(sampled, tf.reshape(weights, [4, slots, 1])), 0);
    // cols rows: (n, y, x, g, t), columns c' -> im2col [n*h*w, (g, t, c')]. Weight stored [O, 3, 3, C] with
    // C = (g, c') -> [(g, t, c'), O].
    const im2col = tf.reshape(cols, [n * h * w, g * k * cg]);
    const w2 = tf.reshape(tf.transpose(tf.reshape(weight, [o, k, g, cg]), [2, 1, 3, 0]), [g * k * cg, o]);
    let y = tf.matMul(im2col, w2);
    if (bias) y = tf.add(y, bias);
    return tf.reshape(y, [n, h, w, o]);
  }

  relu(x: tf.Tensor): tf.Tensor { return tf.relu(x); }

  /** relu(x) - slope * relu(-x): twice differentiable on tfjs (tf.leakyRelu's gradient is not). */
  leakyRelu(x: tf.Tensor, slope: number): tf.Tensor {
    return tf.sub(tf.relu(x), tf.mul(slope, tf.relu(tf.neg(x))));
  }

  sigmoid(x: tf.Tensor): tf.Tensor { return tf.sigmoid(x); }
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor { return tf.add(a, this.aligned(b, a)); }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor { return tf.sub(a, this.aligned(b, a)); }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor { return tf.mul(a, this.aligned(b, a)); }
  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor { return tf.div(a, this.aligned(b, a)); }

  /** Broadcasting is only defined between equal ranks (both stored alike) or against a scalar. */
  private aligned(b: tf.Tensor, a: tf.Tensor): tf.Tensor {
    if (b.rank !== a.rank && b.size !== 1 && a.size !== 1) {
      throw new Error(`TfjsOps: cannot broadcast rank ${a.rank} with rank ${b.rank} (channels-last storage)`);
    }
    return b.rank !== a.rank && b.size === 1 ? tf.reshape(b, []) : b;
  }

  concat(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
    const stored = xs[0]!.rank === 4 ? STORED_AXIS[axis]! : axis;
    return tf.concat(xs as tf.Tensor[], stored);
  }

  sliceChannels(x: tf.Tensor, start: number, end: number): tf.Tensor {
    return tf.slice(x, [0, 0, 0, start], [-1, -1, -1, end - start]);
  }

  /** torch PixelShuffle (CRD): stored [N, H, W, C*r*r] -> [N, H*r, W*r, C] by reshape/transpose (rank 5 at most). */
  pixelShuffle(x: tf.Tensor, r: number): tf.Tensor {
    const [n, h, w, crr] = x.shape as [number, number, number, number];
    const c = crr / (r * r);
    const t = tf.transpose(tf.reshape(x, [n * h, w, c, r, r]), [0, 3, 1, 4, 2]); // [NH, r_i, W, r_j, C]
    return tf.reshape(t, [n, h * r, w * r, c]);
  }

  maxPool2x2(x: tf.Tensor): tf.Tensor { return tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'); }

  /** F.interpolate(bilinear, align_corners=False) = tf resizeBilinear with half-pixel centres (integer scale). */
  upsampleBilinear(x: tf.Tensor, scale: number): tf.Tensor {
    const [, h, w] = x.shape as [number, number, number, number];
    return tf.image.resizeBilinear(x as tf.Tensor4D, [h * scale, w * scale], false, true);
  }

  // Ops added for the Ref-VSR network (see ops.ts).

  avgPool2x2(x: tf.Tensor): tf.Tensor { return tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'); }

  /** tfjs's align_corners and half-pixel rules are torch's (negative half-pixel positions clamp to the edge alike). */
  resizeBilinear(x: tf.Tensor, h: number, w: number, alignCorners: boolean): tf.Tensor {
    return tf.image.resizeBilinear(x as tf.Tensor4D, [h, w], alignCorners, !alignCorners);
  }

  /**
   * Bilinear warp by a pixel flow, built like deformConv above: sample positions (x + fx, y + fy) stay on the tape
   * ('border' clamps them to the map first, so a clamped coordinate has no gradient, as in torch), the integer cells
   * and the inside test of the four corners come from the host, and a corner outside the map counts 0.
   */
  flowWarp(x: tf.Tensor, flow: tf.Tensor, padding: 'zeros' | 'border'): tf.Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const slots = n * h * w;
    if (flow.shape[0] !== n || flow.shape[1] !== h || flow.shape[2] !== w || flow.shape[3] !== 2) {
      throw new Error(`flowWarp: flow ${logicalShape(flow).join('x')} does not fit ${logicalShape(x).join('x')}`);
    }
    const baseX = new Float32Array(slots);
    const baseY = new Float32Array(slots);
    for (let s = 0; s < slots; s++) {
      baseX[s] = s % w;
      baseY[s] = Math.floor(s / w) % h;
    }
    const f = tf.transpose(tf.reshape(flow, [slots, 2]));
    let px = tf.add(tf.tensor1d(baseX), tf.reshape(tf.slice(f, [0, 0], [1, slots]), [slots]));
    let py = tf.add(tf.tensor1d(baseY), tf.reshape(tf.slice(f, [1, 0], [1, slots]), [slots]));
    if (padding === 'border') {
      px = tf.clipByValue(px, 0, w - 1);
      py = tf.clipByValue(py, 0, h - 1);
    }
    const pxs = px.dataSync() as Float32Array;
    const pys = py.dataSync() as Float32Array;
    const x0 = new Float32Array(slots);
    const y0 = new Float32Array(slots);
    const index = new Int32Array(4 * slots);
    const inside = new Float32Array(4 * slots);
    for (let s = 0; s < slots; s++) {
      x0[s] = Math.floor(pxs[s]!);
      y0[s] = Math.floor(pys[s]!);
      const b = Math.floor(s / (h * w));
      for (let corner = 0; corner < 4; corner++) {
        const yi = y0[s]! + (corner >> 1);
        const xi = x0[s]! + (corner & 1);
        if (yi >= 0 && yi < h && xi >= 0 && xi < w) {
          index[corner * slots + s] = (b * h + yi) * w + xi;
          inside[corner * slots + s] = 1;
        }
      }
    }
    const lx = tf.sub(px, tf.tensor1d(x0));
    const ly = tf.sub(py, tf.tensor1d(y0));
    const oneMinusLx = tf.sub(1, lx);
    const oneMinusLy = tf.sub(1, ly);
    const bilinear = tf.stack([tf.mul(oneMinusLy, oneMinusLx), tf.mul(oneMinusLy, lx), tf.mul(ly, oneMinusLx), tf.mul(ly, lx)]);
    const weights = tf.mul(bilinear, tf.tensor2d(inside, [4, slots]));
    const sampled = tf.reshape(tf.gather(tf.reshape(x, [slots, c]), tf.tensor1d(index, 'int32')), [4, slots, c]);
    return tf.reshape(tf.sum(tf.mul(sampled, tf.reshape(weights, [4, slots, 1])), 0), [n, h, w, c]);
  }

  /** Channels are the stored last axis. */
  softmaxChannels(x: tf.Tensor): tf.Tensor { return tf.softmax(x); }

  padReflectBottomRight(x: tf.Tensor, bottom: number, right: number): tf.Tensor {
    if (bottom === 0 && right === 0) return x;
    // Built from slices, reverse and concat rather than tf.mirrorPad, whose gradient (tfjs-core MirrorPad_grad)
    // only slices dy and drops the margins' contribution to the rows / columns they mirror.
    const mirror = (v: tf.Tensor, axis: 1 | 2, m: number): tf.Tensor => {
      if (m === 0) return v;
      const size = v.shape[axis]!;
      if (m >= size) throw new Error(`reflect padding by ${m} needs a map larger than ${size}`);
      const begin = [0, 0, 0, 0];
      const extent = [-1, -1, -1, -1];
      begin[axis] = size - 1 - m;
      extent[axis] = m;
      return tf.concat([v, tf.reverse(tf.slice(v, begin, extent), axis)], axis);
    };
    return mirror(mirror(x, 2, right), 1, bottom);
  }

  cropTopLeft(x: tf.Tensor, h: number, w: number): tf.Tensor { return tf.slice(x, [0, 0, 0, 0], [-1, h, w, -1]); }

  batchNormTrain(x: tf.Tensor, name: string, channels: number, eps: number): tf.Tensor {
    const gamma = this.param(`${name}.weight`, [channels]);
    const beta = this.param(`${name}.bias`, [channels]);
    const mean = tf.mean(x, [0, 1, 2]);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), [0, 1, 2]);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  }

  globalAvgPool(x: tf.Tensor): tf.Tensor { return tf.mean(x, [1, 2], true); }
}

interface DeformCells {
  /** Per slot: the sample cell's row (resp. column) minus the tap's base position, so `offset - fracBase` is the fraction. */
  readonly fracBaseY: Float32Array;
  readonly fracBaseX: Float32Array;
  /** [4, slots] row index into x viewed as [N*Hx*Wx*G, C/G] (0 where the corner is outside). */
  readonly index: Int32Array;
  /** [4, slots] 1 where the corner is inside x, else 0. */
  readonly inside: Float32Array;
}

/** Integer sample cells of every (n, y, x, g, t) slot of a deformable conv, from the offset values. */
function deformCells(dy: Float32Array, dx: Float32Array, n: number, h: number, w: number, g: number, hx: number, wx: number): DeformCells {
  const slots = dy.length;
  const fracBaseY = new Float32Array(slots);
  const fracBaseX = new Float32Array(slots);
  const index = new Int32Array(4 * slots);
  const inside = new Float32Array(4 * slots);
  let s = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let gg = 0; gg < g; gg++) {
          for (let t = 0; t < 9; t++, s++) {
            const by = y - 1 + Math.floor(t / 3);
            const bx = x - 1 + (t % 3);
            const y0 = Math.floor(by + dy[s]!);
            const x0 = Math.floor(bx + dx[s]!);
            fracBaseY[s] = y0 - by;
            fracBaseX[s] = x0 - bx;
            for (let corner = 0; corner < 4; corner++) {
              const yi = y0 + (corner >> 1);
              const xi = x0 + (corner & 1);
              if (yi >= 0 && yi < hx && xi >= 0 && xi < wx) {
                index[corner * slots + s] = ((b * hx + yi) * wx + xi) * g + gg;
                inside[corner * slots + s] = 1;
              }
            }
          }
        }
      }
    }
  }
  return { fracBaseY, fracBaseX, index, inside };
}
