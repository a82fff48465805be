// Owns the deformable im2col of the ONNX training engine, computed on the host (plain loops over Float32Arrays):
// the one part of the modulated deformable conv ONNX Runtime has no fast kernel for (GridSample and a Gather
// lowering both measured ~5-10x slower than these loops). The weight part of the DCN stays a 1x1 conv in the graph.
//   cols[n, (g*C/G + c') * 9 + t, y, x] = mask[n, g*9 + t, y, x] * bilinear(x[n, g*C/G + c'], sample point)
// with sample point (y - 1 + i + dy, x - 1 + j + dx), t = 3i + j, dy / dx = offset channels 2(g*9+t) / +1, and a
// corner outside x counting 0 (DCNv2 / torchvision / TfjsOps.deformConv). Backward: d mask = sum_c' dcols * V,
// d dy = mask * sum_c' dcols * ((1 - lx)(v10 - v00) + lx (v11 - v01)) (likewise dx), d x = corners scattered.

export interface Im2colShapes {
  readonly n: number; readonly c: number; readonly hx: number; readonly wx: number;
  readonly h: number; readonly w: number; readonly groups: number;
}

export function im2colShapes(x: readonly number[], offset: readonly number[], mask: readonly number[], groups: number): Im2colShapes {
  const [n, c, hx, wx] = x as [number, number, number, number];
  const [no, oc, h, w] = offset as [number, number, number, number];
  if (no !== n || mask[0] !== n) throw new Error(`deformConv: offset/mask batch ${no}/${mask[0]} != input batch ${n}`);
  if (oc !== 18 * groups || mask[1] !== 9 * groups || mask[2] !== h || mask[3] !== w) throw new Error(`deformConv: offset [${offset}] / mask [${mask}] do not match ${groups} groups`);
  if (c % groups !== 0) throw new Error(`deformConv: ${c} channels not divisible by ${groups} groups`);
  return { n, c, hx, wx, h, w, groups };
}

/** cols [N, C*9, H, W]. */
export function deformIm2col(s: Im2colShapes, x: Float32Array, offset: Float32Array, mask: Float32Array): Float32Array {
  const { n, c, hx, wx, h, w, groups } = s;
  const cg = c / groups;
  const hw = h * w;
  const plane = hx * wx;
  const cols = new Float32Array(n * c * 9 * hw);
  // The slot loop is written out in both directions (no shared visitor): V8 does not inline a callback that sees
  // two different closures, and these loops are most of the DCN's cost.
  for (let b = 0; b < n; b++) for (let g = 0; g < groups; g++) for (let t = 0; t < 9; t++) {
    const k = (b * groups + g) * 9 + t;
    const oy = 2 * k * hw;
    const ox = oy + hw;
    const ti = Math.floor(t / 3) - 1;
    const tj = (t % 3) - 1;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const p = y * w + xx;
      const py = y + ti + offset[oy + p]!;
      const px = xx + tj + offset[ox + p]!;
      const y0 = Math.floor(py);
      const x0 = Math.floor(px);
      const ly = py - y0;
      const lx = px - x0;
      const m = mask[k * hw + p]!;
      const iny0 = y0 >= 0 && y0 < hx;
      const iny1 = y0 + 1 >= 0 && y0 + 1 < hx;
      const inx0 = x0 >= 0 && x0 < wx;
      const inx1 = x0 + 1 >= 0 && x0 + 1 < wx;
      const w00 = iny0 && inx0 ? (1 - ly) * (1 - lx) * m : 0;
      const w01 = iny0 && inx1 ? (1 - ly) * lx * m : 0;
      const w10 = iny1 && inx0 ? ly * (1 - lx) * m : 0;
      const w11 = iny1 && inx1 ? ly * lx * m : 0;
      const i00 = y0 * wx + x0;
      for (let cc = 0; cc < cg; cc++) {
        const ch = g * cg + cc;
        const base = (b * c + ch) * plane + i00;
        let v = 0;
        if (w00 !== 0) v += w00 * x[base]!;
        if (w01 !== 0) v += w01 * x[base + 1]!;
        if (w10 !== 0) v += w10 * x[base + wx]!;
        if (w11 !== 0) v += w11 * x[base + wx + 1]!;
        cols[((b * c + ch) * 9 + t) * hw + p] = v;
      }
    }
  }
  return cols;
}

export interface Im2colGrads {
  readonly offset: Float32Array;
  readonly mask: Float32Array;
  readonly x?: Float32Array;
}

export function deformIm2colBackward(s: Im2colShapes, x: Float32Array, offset: Float32Array, mask: Float32Array, dcols: Float32Array, needX: boolean): Im2colGrads {
  const { n, c, hx, wx, h, w, groups } = s;
  const cg = c / groups;
  const hw = h * w;
  const plane = hx * wx;
  const dOffset = new Float32Array(offset.length);
  const dMask = new Float32Array(mask.length);
  const dx = needX ? new Float32Array(x.length) : undefined;
  for (let b = 0; b < n; b++) for (let g = 0; g < groups; g++) for (let t = 0; t < 9; t++) {
    const k = (b * groups + g) * 9 + t;
    const oy = 2 * k * hw;
    const ox = oy + hw;
    const ti = Math.floor(t / 3) - 1;
    const tj = (t % 3) - 1;
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
      const p = y * w + xx;
      const py = y + ti + offset[oy + p]!;
      const px = xx + tj + offset[ox + p]!;
      const y0 = Math.floor(py);
      const x0 = Math.floor(px);
      const ly = py - y0;
      const lx = px - x0;
      const m = mask[k * hw + p]!;
      const in00 = y0 >= 0 && y0 < hx && x0 >= 0 && x0 < wx;
      const in01 = y0 >= 0 && y0 < hx && x0 + 1 >= 0 && x0 + 1 < wx;
      const in10 = y0 + 1 >= 0 && y0 + 1 < hx && x0 >= 0 && x0 < wx;
      const in11 = y0 + 1 >= 0 && y0 + 1 < hx && x0 + 1 >= 0 && x0 + 1 < wx;
      const i00 = y0 * wx + x0;
      let dm = 0;
      let dly = 0;
      let dlx = 0;
      for (let cc = 0; cc < cg; cc++) {
        const ch = g * cg + cc;
        const dc = dcols[((b * c + ch) * 9 + t) * hw + p]!;
        if (dc === 0) continue;
        const base = (b * c + ch) * plane + i00;
        const v00 = in00 ? x[base]! : 0;
        const v01 = in01 ? x[base + 1]! : 0;
        const v10 = in10 ? x[base + wx]! : 0;
        const v11 = in11 ? x[base + wx + 1]! : 0;
        dm += dc * ((1 - ly) * ((1 - lx) * v00 + lx * v01) + ly * ((1 - lx) * v10 + lx * v11));
        dly += dc * ((1 - lx) * (v10 - v00) + lx * (v11 - v01));
        dlx += dc * ((1 - ly) * (v01 - v00) + ly * (v11 - v10));
        if (dx) {
          const dv = dc * m;
          if (in00) dx[base] += dv * (1 - ly) * (1 - lx);
          if (in01) dx[base + 1] += dv * (1 - ly) * lx;
          if (in10) dx[base + wx] += dv * ly * (1 - lx);
          if (in11) dx[base + wx + 1] += dv * ly * lx;
        }
      }
      dMask[k * hw + p] = dm;
      dOffset[oy + p] = m * dly;
      dOffset[ox + p] = m * dlx;
    }
  }
  return { offset: dOffset, mask: dMask, x: dx };
}
