// Owns the modulated deformable convolution of the ONNX training engine, forward and backward, through its
// bilinear-sampling form (the same DCNv2 rule as TfjsOps.deformConv and torchvision: sample point
// (y - 1 + i + dy, x - 1 + j + dx) in x's own grid, corners outside x count 0):
//   forward  V = GridSample(x, p) (zero padding, align_corners = 1 is exactly that rule), cols = V * mask,
//            y = W . cols (a 1x1 conv over C*9 channels) + b;
//   backward dW = sum_n dY cols^T, db = sum dY, dcols = W^T dY, dmask = sum_c dcols * V,
//            doffset_y = sum_c dcols * mask * dV/dpy with dV/dpy = V(floor(py) + 1, px) - V(floor(py), px)
//            (the bilinear derivative; both samples again by GridSample), likewise for x.
// The gradient w.r.t. the sampled map x is not implemented (refsr's DCNs sample frozen reference features): a graph
// that needs it gets a clear error.

import type { GraphBuilder, Sym } from './graph-builder.ts';

const TAPS = 9;

/** Forward values the backward pass reads (through `saved`). */
export interface DeformSaved {
  /** Absolute sample rows / columns [N*G, 9, H, W] in x's pixel grid. */
  readonly py: Sym;
  readonly px: Sym;
  /** Bilinear samples [N*G, C/G, 9H, W]. */
  readonly v: Sym;
  /** Mask [N*G, 1, 9H, W]. */
  readonly m: Sym;
  /** Modulated samples as im2col [N, C*9, H, W], channel (g, c', tap). */
  readonly cols: Sym;
}

function dims(x: Sym, offset: Sym, mask: Sym, groups: number) {
  const [n, c, hx, wx] = x.shape as [number, number, number, number];
  const [no, oc, h, w] = offset.shape as [number, number, number, number];
  if (no !== n || mask.shape[0] !== n) throw new Error(`deformConv: offset/mask batch ${no}/${mask.shape[0]} != input batch ${n}`);
  if (oc !== 2 * groups * TAPS || mask.shape[1] !== groups * TAPS) throw new Error(`deformConv: offset/mask channels ${oc}/${mask.shape[1]} do not match ${groups} groups`);
  if (c % groups !== 0) throw new Error(`deformConv: ${c} channels not divisible by ${groups} groups`);
  if (hx < 2 || wx < 2) throw new Error(`deformConv: sampled map ${hx}x${wx} is too small (needs at least 2x2)`);
  return { n, c, hx, wx, h, w, g: groups, cg: c / groups, ng: n * groups };
}

/** GridSample of xs [NG, C/G, Hx, Wx] at absolute positions py, px [NG, 9, H, W] -> [NG, C/G, 9H, W]. */
function sampleAt(b: GraphBuilder, xs: Sym, py: Sym, px: Sym, hx: number, wx: number): Sym {
  const [ng, cg] = xs.shape as [number, number];
  const [, , h, w] = py.shape as [number, number, number, number];
  const col = (p: Sym, size: number) => b.reshape(b.sub(b.mul(p, b.scalar(2 / (size - 1))), b.scalar(1)), [ng, TAPS * h, w, 1]);
  const grid = b.concat([col(px, wx), col(py, hx)], 3);
  return b.node('GridSample', [xs, grid], [ng, cg, TAPS * h, w], { mode: 'bilinear', padding_mode: 'zeros', align_corners: 1 });
}

export function deformConvForward(f: GraphBuilder, x: Sym, offset: Sym, mask: Sym, weight: Sym, bias: Sym | undefined, groups: number): { y: Sym; saved: DeformSaved } {
  const d = dims(x, offset, mask, groups);
  const o = weight.shape[0]!;
  if (weight.shape.join() !== [o, d.c, 3, 3].join()) throw new Error(`deformConv: weight [${weight.shape}] is not [O, ${d.c}, 3, 3]`);
  const off = f.reshape(offset, [d.ng, TAPS, 2, d.h, d.w]);
  const baseY = new Float32Array(TAPS * d.h * d.w);
  const baseX = new Float32Array(TAPS * d.h * d.w);
  for (let t = 0; t < TAPS; t++) {
    for (let y = 0; y < d.h; y++) for (let xx = 0; xx < d.w; xx++) {
      baseY[(t * d.h + y) * d.w + xx] = y - 1 + Math.floor(t / 3);
      baseX[(t * d.h + y) * d.w + xx] = xx - 1 + (t % 3);
    }
  }
  const part = (k: number) => f.reshape(f.slice(off, [2], [k], [k + 1]), [d.ng, TAPS, d.h, d.w]);
  const py = f.add(part(0), f.constant('dcn_base_y', [1, TAPS, d.h, d.w], baseY));
  const px = f.add(part(1), f.constant('dcn_base_x', [1, TAPS, d.h, d.w], baseX));
  const xs = f.reshape(x, [d.ng, d.cg, d.hx, d.wx]);
  const v = sampleAt(f, xs, py, px, d.hx, d.wx);
  const m = f.reshape(mask, [d.ng, 1, TAPS * d.h, d.w]);
  const cols = f.reshape(f.mul(v, m), [d.n, d.c * TAPS, d.h, d.w]);
  const w1 = f.reshape(weight, [o, d.c * TAPS, 1, 1]);
  const y = f.node('Conv', bias ? [cols, w1, bias] : [cols, w1], [d.n, o, d.h, d.w], { kernel_shape: [1, 1] });
  return { y, saved: { py, px, v, m, cols } };
}

export interface DeformGradRequest {
  readonly x: Sym; readonly offset: Sym; readonly mask: Sym; readonly w: Sym; readonly b?: Sym; readonly groups: number;
  readonly saved: DeformSaved;
}

/** Gradients of a deformable conv (see the file comment) for the inputs `need` asks for. */
export function deformConvBackward(b: GraphBuilder, e: DeformGradRequest, dY: Sym, saved: (s: Sym) => Sym, need: (s: Sym) => boolean): [Sym, Sym][] {
  const d = dims(e.x, e.offset, e.mask, e.groups);
  if (need(e.x)) throw new Error('onnx engine: the gradient of a deformable conv w.r.t. its sampled feature map is not implemented (refsr samples frozen reference features); use engine: tfjs');
  const o = e.w.shape[0]!;
  const c9 = d.c * TAPS;
  const hw = d.h * d.w;
  const out: [Sym, Sym][] = [];
  const dY3 = b.reshape(dY, [d.n, o, hw]);
  if (e.b && need(e.b)) out.push([e.b, b.reduceSum(dY, [0, 2, 3], false)]);
  if (need(e.w)) {
    const colsT = b.transpose(b.reshape(saved(e.saved.cols), [d.n, c9, hw]), [0, 2, 1]);
    const dw = b.reduceSum(b.node('MatMul', [dY3, colsT], [d.n, o, c9]), [0], false);
    out.push([e.w, b.reshape(dw, e.w.shape)]);
  }
  if (!need(e.offset) && !need(e.mask)) return out;
  const wT = b.transpose(b.reshape(saved(e.w), [o, c9]), [1, 0]);
  const dcols = b.reshape(b.node('MatMul', [wT, dY3], [d.n, c9, hw]), [d.ng, d.cg, TAPS * d.h, d.w]);
  if (need(e.mask)) {
    const dm = b.reduceSum(b.mul(dcols, saved(e.saved.v)), [1], true);
    out.push([e.mask, b.reshape(dm, e.mask.shape)]);
  }
  if (need(e.offset)) {
    const dv = b.mul(dcols, saved(e.saved.m));
    const xs = b.reshape(saved(e.x), [d.ng, d.cg, d.hx, d.wx]);
    const py = saved(e.saved.py);
    const px = saved(e.saved.px);
    const y0 = b.node('Floor', [py], py.shape);
    const x0 = b.node('Floor', [px], px.shape);
    const one = b.scalar(1);
    const dVdy = b.sub(sampleAt(b, xs, b.add(y0, one), px, d.hx, d.wx), sampleAt(b, xs, y0, px, d.hx, d.wx));
    const dVdx = b.sub(sampleAt(b, xs, py, b.add(x0, one), d.hx, d.wx), sampleAt(b, xs, py, x0, d.hx, d.wx));
    const part = (dVdp: Sym) => b.reshape(b.reduceSum(b.mul(dv, dVdp), [1], true), [d.ng, TAPS, 1, d.h, d.w]);
    const doff = b.concat([part(dVdy), part(dVdx)], 2);
    out.push([e.offset, b.reshape(doff, e.offset.shape)]);
  }
  return out;
}
