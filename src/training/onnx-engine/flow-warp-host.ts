// Owns the flow warp (Ops.flowWarp, mmedit `flow_warp`) of the ONNX training engine, computed on the host (plain
// loops over Float32Arrays) like the deformable im2col (deform-im2col.ts), and its backward:
//   y[n, c, i, j] = bilinear(x[n, c], (px, py)),  px = j + flow[n, 0, i, j],  py = i + flow[n, 1, i, j]
// which is GridSample(align_corners=1) on the grid normalised by max(W-1, 1) / max(H-1, 1) (onnx-ops.ts): on a map
// one pixel wide (or high) every position along that axis maps to 0. Padding 'zeros': a corner outside x counts 0;
// 'border': the position is clamped to [0, W-1] x [0, H-1] first, and a clamped coordinate has no gradient (torch
// grid_sample; the gradient passes on the closed interval, as tfjs's clipByValue does, see TfjsOps.flowWarp).
// Backward: d x = dY times the four corner weights scattered onto the corners; d px = sum_c dY ((1 - ly)(v01 - v00)
// + ly (v11 - v10)), d py = sum_c dY ((1 - lx)(v10 - v00) + lx (v11 - v01)) (v = 0 for a corner outside).
// Why the host: the loops below are faster than ONNX Runtime's GridSample already for the forward (measured, one
// thread, [1, 64, 96, 160], flows ~3 px: GridSample 50 / 25 ms zeros / border, host 16 / 7 ms; host backward for x
// and flow 23 / 18 ms), and a graph-only adjoint would be a scatter-add (ScatterElements with reduction add over
// [N, C, 4HW] int64 indices) plus four GatherElements and the floor / clamp / mask arithmetic, each node writing
// an [N, C, H, W]-sized tensor. Values agree with GridSample to float32 rounding (its grid normalisation round
// trip moves positions by ~1e-7 of their size: 1e-5 relative at 160 px).

export interface WarpShapes {
  readonly n: number; readonly c: number; readonly h: number; readonly w: number;
  readonly padding: 'zeros' | 'border';
}

export function flowWarpShapes(x: readonly number[], flow: readonly number[], padding: 'zeros' | 'border'): WarpShapes {
  const [n, c, h, w] = x as [number, number, number, number];
  if (flow.length !== 4 || flow[0] !== n || flow[1] !== 2 || flow[2] !== h || flow[3] !== w) throw new Error(`flowWarp: flow [${flow}] does not fit [${x}]`);
  return { n, c, h, w, padding };
}

/** One output pixel's sample: corner cell, fractions, which corners are inside, and d position / d flow (0 or 1). */
interface Sample { x0: number; y0: number; lx: number; ly: number; in00: boolean; in01: boolean; in10: boolean; in11: boolean; gx: number; gy: number }

function sample(s: WarpShapes, i: number, j: number, fx: number, fy: number, out: Sample): void {
  const { h, w } = s;
  let px = w > 1 ? j + fx : 0;
  let py = h > 1 ? i + fy : 0;
  let gx = w > 1 ? 1 : 0;
  let gy = h > 1 ? 1 : 0;
  if (s.padding === 'border') {
    if (px < 0 || px > w - 1) { px = Math.min(Math.max(px, 0), w - 1); gx = 0; }
    if (py < 0 || py > h - 1) { py = Math.min(Math.max(py, 0), h - 1); gy = 0; }
  }
  const x0 = Math.floor(px);
  const y0 = Math.floor(py);
  const inx0 = x0 >= 0 && x0 < w;
  const inx1 = x0 + 1 >= 0 && x0 + 1 < w;
  const iny0 = y0 >= 0 && y0 < h;
  const iny1 = y0 + 1 >= 0 && y0 + 1 < h;
  out.x0 = x0; out.y0 = y0; out.lx = px - x0; out.ly = py - y0;
  out.in00 = iny0 && inx0; out.in01 = iny0 && inx1; out.in10 = iny1 && inx0; out.in11 = iny1 && inx1;
  out.gx = gx; out.gy = gy;
}

const blank = (): Sample => ({ x0: 0, y0: 0, lx: 0, ly: 0, in00: false, in01: false, in10: false, in11: false, gx: 0, gy: 0 });

/** y [N, C, H, W]. */
export function flowWarp(s: WarpShapes, x: Float32Array, flow: Float32Array): Float32Array {
  const { n, c, h, w } = s;
  const hw = h * w;
  const y = new Float32Array(n * c * hw);
  const p = blank();
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const q = i * w + j;
    sample(s, i, j, flow[2 * b * hw + q]!, flow[(2 * b + 1) * hw + q]!, p);
    const w00 = p.in00 ? (1 - p.ly) * (1 - p.lx) : 0;
    const w01 = p.in01 ? (1 - p.ly) * p.lx : 0;
    const w10 = p.in10 ? p.ly * (1 - p.lx) : 0;
    const w11 = p.in11 ? p.ly * p.lx : 0;
    const i00 = p.y0 * w + p.x0;
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * hw;
      let v = 0;
      if (w00 !== 0) v += w00 * x[base + i00]!;
      if (w01 !== 0) v += w01 * x[base + i00 + 1]!;
      if (w10 !== 0) v += w10 * x[base + i00 + w]!;
      if (w11 !== 0) v += w11 * x[base + i00 + w + 1]!;
      y[base + q] = v;
    }
  }
  return y;
}

export interface WarpGrads {
  readonly x?: Float32Array;
  readonly flow?: Float32Array;
}

export function flowWarpBackward(s: WarpShapes, x: Float32Array, flow: Float32Array, dy: Float32Array, needX: boolean, needFlow: boolean): WarpGrads {
  const { n, c, h, w } = s;
  const hw = h * w;
  const dx = needX ? new Float32Array(x.length) : undefined;
  const dflow = needFlow ? new Float32Array(flow.length) : undefined;
  const p = blank();
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const q = i * w + j;
    sample(s, i, j, flow[2 * b * hw + q]!, flow[(2 * b + 1) * hw + q]!, p);
    const { lx, ly, in00, in01, in10, in11 } = p;
    const i00 = p.y0 * w + p.x0;
    let dlx = 0;
    let dly = 0;
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * hw;
      const d = dy[base + q]!;
      if (d === 0) continue;
      if (dflow) {
        const v00 = in00 ? x[base + i00]! : 0;
        const v01 = in01 ? x[base + i00 + 1]! : 0;
        const v10 = in10 ? x[base + i00 + w]! : 0;
        const v11 = in11 ? x[base + i00 + w + 1]! : 0;
        dlx += d * ((1 - ly) * (v01 - v00) + ly * (v11 - v10));
        dly += d * ((1 - lx) * (v10 - v00) + lx * (v11 - v01));
      }
      if (dx) {
        if (in00) dx[base + i00] += d * (1 - ly) * (1 - lx);
        if (in01) dx[base + i00 + 1] += d * (1 - ly) * lx;
        if (in10) dx[base + i00 + w] += d * ly * (1 - lx);
        if (in11) dx[base + i00 + w + 1] += d * ly * lx;
      }
    }
    if (dflow) {
      dflow[2 * b * hw + q] = p.gx * dlx;
      dflow[(2 * b + 1) * hw + q] = p.gy * dly;
    }
  }
  return { x: dx, flow: dflow };
}
