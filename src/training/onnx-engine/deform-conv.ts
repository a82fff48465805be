// Owns the modulated deformable convolution of the ONNX training engine, forward and backward, in its
// bilinear-sampling form (the DCNv2 rule of TfjsOps.deformConv and torchvision: sample point
// (y - 1 + i + dy, x - 1 + j + dx) in x's own grid, a corner outside x counts 0), laid out as tfjs does it: slots
// (n, y, x, g, tap), x viewed as rows [N*G*Hx*Wx, C/G], one Gather of the four corner rows per slot.
//   forward  V = sum_corners w_corner(ly, lx) * inside * x[corner], cols = V * mask [N, H*W, (g, tap, c')],
//            y = cols . W2 + b (W2 = the weight as [(g, tap, c'), O]);
//   backward dW2 = cols^T dY, db = sum dY, dcols = dY W2^T, dmask = sum_c dcols * V,
//            d ly = sum_c dcols * mask * ((1 - lx)(v10 - v00) + lx (v11 - v01)), likewise lx (the bilinear
//            derivative; the corners are gathered again from x in the backward graph instead of being saved).
// The gradient w.r.t. the sampled map x is not implemented (refsr's DCNs sample frozen reference features): a graph
// that needs it gets a clear error. (GridSample, the first lowering tried, measured ~5x slower than this Gather.)

import type { GraphBuilder, Sym } from './graph-builder.ts';

const TAPS = 9;

/** Forward values the backward pass reads (through `saved`). */
export interface DeformSaved {
  /** Absolute sample rows / columns [N, H, W, G, 9] in x's pixel grid. */
  readonly py: Sym;
  readonly px: Sym;
  /** Mask [N, H, W, G, 9]. */
  readonly m: Sym;
  /** Modulated samples [N, H*W, G*9*C/G], columns (g, tap, c'). */
  readonly cols: Sym;
}

interface Dims { n: number; c: number; hx: number; wx: number; h: number; w: number; g: number; cg: number; k: number }

function dims(x: Sym, offset: Sym, mask: Sym, groups: number): Dims {
  const [n, c, hx, wx] = x.shape as [number, number, number, number];
  const [no, oc, h, w] = offset.shape as [number, number, number, number];
  if (no !== n || mask.shape[0] !== n) throw new Error(`deformConv: offset/mask batch ${no}/${mask.shape[0]} != input batch ${n}`);
  if (oc !== 2 * groups * TAPS || mask.shape[1] !== groups * TAPS) throw new Error(`deformConv: offset/mask channels ${oc}/${mask.shape[1]} do not match ${groups} groups`);
  if (c % groups !== 0) throw new Error(`deformConv: ${c} channels not divisible by ${groups} groups`);
  if (n * c * hx * wx >= 1 << 24) throw new Error('deformConv: sampled map too large for float32 row indices');
  return { n, c, hx, wx, h, w, g: groups, cg: c / groups, k: c * TAPS };
}

/** x [N, C, Hx, Wx] as rows [N*G*Hx*Wx, C/G]. */
function rowsOf(b: GraphBuilder, x: Sym, d: Dims): Sym {
  return b.reshape(b.transpose(b.reshape(x, [d.n, d.g, d.cg, d.hx, d.wx]), [0, 1, 3, 4, 2]), [d.n * d.g * d.hx * d.wx, d.cg]);
}

interface Corners {
  /** Gathered corner rows times inside, [4, N, H, W, G, 9, C/G], corner order (0,0), (0,1), (1,0), (1,1). */
  readonly v: Sym;
  /** Bilinear weights [4, N, H, W, G, 9] (inside not included: v already carries it). */
  readonly wts: Sym;
  readonly ly: Sym;
  readonly lx: Sym;
}

function corners(b: GraphBuilder, rows: Sym, py: Sym, px: Sym, d: Dims): Corners {
  const slot = [d.n, d.h, d.w, d.g, TAPS];
  const four = [4, ...slot];
  const y0 = b.node('Floor', [py], slot);
  const x0 = b.node('Floor', [px], slot);
  const ly = b.sub(py, y0);
  const lx = b.sub(px, x0);
  const cy = b.constant('dcn_corner_y', [4, 1, 1, 1, 1, 1], Float32Array.of(0, 0, 1, 1));
  const cx = b.constant('dcn_corner_x', [4, 1, 1, 1, 1, 1], Float32Array.of(0, 1, 0, 1));
  const yi = b.add(y0, cy);
  const xi = b.add(x0, cx);
  const within = (v: Sym, size: number) => b.node('And', [
    b.node('GreaterOrEqual', [v, b.scalar(0)], four),
    b.node('LessOrEqual', [v, b.scalar(size - 1)], four),
  ], four);
  const inside = b.node('Cast', [b.node('And', [within(yi, d.hx), within(xi, d.wx)], four)], four, { to: 1 });
  const clip = (v: Sym, size: number) => b.node('Clip', [v, b.scalar(0), b.scalar(size - 1)], four);
  const base = new Float32Array(d.n * d.g);
  for (let i = 0; i < base.length; i++) base[i] = i * d.hx * d.wx;
  const rowBase = b.constant('dcn_row_base', [1, d.n, 1, 1, d.g, 1], base);
  const flat = b.add(b.add(rowBase, b.mul(clip(yi, d.hx), b.scalar(d.wx))), clip(xi, d.wx));
  const idx = b.node('Cast', [flat], four, { to: 7 });
  const gathered = b.node('Gather', [rows, idx], [...four, d.cg], { axis: 0 });
  const v = b.mul(gathered, b.node('Unsqueeze', [inside, b.ints([6])], [...four, 1]));
  const oneMinus = (l: Sym) => b.sub(b.scalar(1), l);
  const u = (s: Sym) => b.node('Unsqueeze', [s, b.ints([0])], [1, ...slot]);
  const wy = b.concat([u(oneMinus(ly)), u(oneMinus(ly)), u(ly), u(ly)], 0);
  const wx = b.concat([u(oneMinus(lx)), u(lx), u(oneMinus(lx)), u(lx)], 0);
  return { v, wts: b.mul(wy, wx), ly, lx };
}

/** Weight [O, C, 3, 3] (C = (g, c')) as [(g, tap, c'), O]. */
function weightColumns(b: GraphBuilder, weight: Sym, d: Dims): Sym {
  const o = weight.shape[0]!;
  return b.reshape(b.transpose(b.reshape(weight, [o, d.g, d.cg, TAPS]), [1, 3, 2, 0]), [d.k, o]);
}

export function deformConvForward(f: GraphBuilder, x: Sym, offset: Sym, mask: Sym, weight: Sym, bias: Sym | undefined, groups: number): { y: Sym; saved: DeformSaved } {
  const d = dims(x, offset, mask, groups);
  const o = weight.shape[0]!;
  if (weight.shape.join() !== [o, d.c, 3, 3].join()) throw new Error(`deformConv: weight [${weight.shape}] is not [O, ${d.c}, 3, 3]`);
  const slot = [d.n, d.h, d.w, d.g, TAPS];
  // offset [N, (g, t, yx), H, W] -> [N, H, W, (g, t), yx]
  const off = f.transpose(f.reshape(offset, [d.n, d.g * TAPS, 2, d.h, d.w]), [0, 3, 4, 1, 2]);
  const part = (k: number) => f.reshape(f.slice(off, [4], [k], [k + 1]), slot);
  const baseY = new Float32Array(d.h * d.w * TAPS);
  const baseX = new Float32Array(d.h * d.w * TAPS);
  for (let y = 0; y < d.h; y++) for (let xx = 0; xx < d.w; xx++) for (let t = 0; t < TAPS; t++) {
    baseY[(y * d.w + xx) * TAPS + t] = y - 1 + Math.floor(t / 3);
    baseX[(y * d.w + xx) * TAPS + t] = xx - 1 + (t % 3);
  }
  const py = f.add(part(0), f.constant('dcn_base_y', [1, d.h, d.w, 1, TAPS], baseY));
  const px = f.add(part(1), f.constant('dcn_base_x', [1, d.h, d.w, 1, TAPS], baseX));
  const m = f.reshape(f.transpose(mask, [0, 2, 3, 1]), slot);
  const cr = corners(f, rowsOf(f, x, d), py, px, d);
  const wm = f.mul(cr.wts, m);
  const sampled = f.reduceSum(f.mul(cr.v, f.node('Unsqueeze', [wm, f.ints([6])], [4, ...slot, 1])), [0], false);
  const cols = f.reshape(sampled, [d.n, d.h * d.w, d.k]);
  let y = f.node('MatMul', [cols, weightColumns(f, weight, d)], [d.n, d.h * d.w, o]);
  if (bias) y = f.add(y, bias);
  const out = f.transpose(f.reshape(y, [d.n, d.h, d.w, o]), [0, 3, 1, 2]);
  return { y: out, saved: { py, px, m, cols } };
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
  const hw = d.h * d.w;
  const slot = [d.n, d.h, d.w, d.g, TAPS];
  const out: [Sym, Sym][] = [];
  const dYt = b.reshape(b.transpose(dY, [0, 2, 3, 1]), [d.n * hw, o]);
  if (e.b && need(e.b)) out.push([e.b, b.reduceSum(dY, [0, 2, 3], false)]);
  if (need(e.w)) {
    const cols = b.reshape(saved(e.saved.cols), [d.n * hw, d.k]);
    const dw2 = b.node('MatMul', [b.transpose(cols, [1, 0]), dYt], [d.k, o]); // [(g, t, c'), O]
    const dw = b.reshape(b.transpose(b.reshape(dw2, [d.g, TAPS, d.cg, o]), [3, 0, 2, 1]), e.w.shape);
    out.push([e.w, dw]);
  }
  if (!need(e.offset) && !need(e.mask)) return out;
  const w2T = b.transpose(weightColumns(b, saved(e.w), d), [1, 0]);
  const dcols = b.reshape(b.node('MatMul', [dYt, w2T], [d.n * hw, d.k]), [...slot, d.cg]);
  const cr = corners(b, rowsOf(b, saved(e.x), d), saved(e.saved.py), saved(e.saved.px), d);
  const corner = (i: number) => b.reshape(b.slice(cr.v, [0], [i], [i + 1]), [...slot, d.cg]);
  const [v00, v01, v10, v11] = [0, 1, 2, 3].map(corner) as [Sym, Sym, Sym, Sym];
  const lastAxis = (s: Sym) => b.node('Unsqueeze', [s, b.ints([5])], [...slot, 1]);
  if (need(e.mask)) {
    const v = b.reduceSum(b.mul(cr.v, b.node('Unsqueeze', [cr.wts, b.ints([6])], [4, ...slot, 1])), [0], false);
    const dm = b.reduceSum(b.mul(dcols, v), [5], false); // [N, H, W, G, 9]
    out.push([e.mask, b.transpose(b.reshape(dm, [d.n, d.h, d.w, d.g * TAPS]), [0, 3, 1, 2])]);
  }
  if (need(e.offset)) {
    const dv = b.mul(dcols, lastAxis(saved(e.saved.m)));
    const one = b.scalar(1);
    const lx = lastAxis(cr.lx);
    const ly = lastAxis(cr.ly);
    const dVdy = b.add(b.mul(b.sub(one, lx), b.sub(v10, v00)), b.mul(lx, b.sub(v11, v01)));
    const dVdx = b.add(b.mul(b.sub(one, ly), b.sub(v01, v00)), b.mul(ly, b.sub(v11, v10)));
    const dpy = b.reduceSum(b.mul(dv, dVdy), [5], true); // [N, H, W, G, 9, 1]
    const dpx = b.reduceSum(b.mul(dv, dVdx), [5], true);
    const both = b.reshape(b.concat([dpy, dpx], 5), [d.n, d.h, d.w, d.g * TAPS, 2]);
    out.push([e.offset, b.reshape(b.transpose(both, [0, 3, 4, 1, 2]), e.offset.shape)]);
  }
  return out;
}
