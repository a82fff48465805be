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

/** Visits every sample slot with its bilinear corners (flat indices into one channel plane, -1 outside). */
function forEachSlot(s: Im2colShapes, offset: Float32Array, visit: (n: number, g: number, t: number, p: number, ly: number, lx: number, i00: number, i01: number, i10: number, i11: number) => void): void {
  const { n, hx, wx, h, w, groups } = s;
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      for (let t = 0; t < 9; t++) {
        const ti = Math.floor(t / 3);
        const tj = t % 3;
        const k = (b * groups + g) * 9 + t;
        const oy = 2 * k * hw;
        const ox = (2 * k + 1) * hw;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const p = y * w + x;
            const py = y - 1 + ti + offset[oy + p]!;
            const px = x - 1 + tj + offset[ox + p]!;
            const y0 = Math.floor(py);
            const x0 = Math.floor(px);
            const iny0 = y0 >= 0 && y0 < hx;
            const iny1 = y0 + 1 >= 0 && y0 + 1 < hx;
            const inx0 = x0 >= 0 && x0 < wx;
            const inx1 = x0 + 1 >= 0 && x0 + 1 < wx;
            const r0 = y0 * wx;
            const r1 = r0 + wx;
            visit(b, g, t, p, py - y0, px - x0,
              iny0 && inx0 ? r0 + x0 : -1, iny0 && inx1 ? r0 + x0 + 1 : -1, iny1 && inx0 ? r1 + x0 : -1, iny1 && inx1 ? r1 + x0 + 1 : -1);
          }
        }
      }
    }
  }
}

/** cols [N, C*9, H, W]. */
export function deformIm2col(s: Im2colShapes, x: Float32Array, offset: Float32Array, mask: Float32Array): Float32Array {
  const { c, hx, wx, h, w, groups } = s;
  const cg = c / groups;
  const hw = h * w;
  const plane = hx * wx;
  const cols = new Float32Array(s.n * c * 9 * hw);
  forEachSlot(s, offset, (b, g, t, p, ly, lx, i00, i01, i10, i11) => {
    const m = mask[((b * groups + g) * 9 + t) * hw + p]!;
    const w00 = (1 - ly) * (1 - lx) * m;
    const w01 = (1 - ly) * lx * m;
    const w10 = ly * (1 - lx) * m;
    const w11 = ly * lx * m;
    for (let cc = 0; cc < cg; cc++) {
      const ch = g * cg + cc;
      const base = (b * c + ch) * plane;
      let v = 0;
      if (i00 >= 0) v += w00 * x[base + i00]!;
      if (i01 >= 0) v += w01 * x[base + i01]!;
      if (i10 >= 0) v += w10 * x[base + i10]!;
      if (i11 >= 0) v += w11 * x[base + i11]!;
      cols[((b * c + ch) * 9 + t) * hw + p] = v;
    }
  });
  return cols;
}

export interface Im2colGrads {
  readonly offset: Float32Array;
  readonly mask: Float32Array;
  readonly x?: Float32Array;
}

export function deformIm2colBackward(s: Im2colShapes, x: Float32Array, offset: Float32Array, mask: Float32Array, dcols: Float32Array, needX: boolean): Im2colGrads {
  const { c, hx, wx, h, w, groups } = s;
  const cg = c / groups;
  const hw = h * w;
  const plane = hx * wx;
  const dOffset = new Float32Array(offset.length);
  const dMask = new Float32Array(mask.length);
  const dx = needX ? new Float32Array(x.length) : undefined;
  forEachSlot(s, offset, (b, g, t, p, ly, lx, i00, i01, i10, i11) => {
    const k = (b * groups + g) * 9 + t;
    const m = mask[k * hw + p]!;
    let dm = 0;
    let dly = 0;
    let dlx = 0;
    for (let cc = 0; cc < cg; cc++) {
      const ch = g * cg + cc;
      const base = (b * c + ch) * plane;
      const dc = dcols[((b * c + ch) * 9 + t) * hw + p]!;
      if (dc === 0) continue;
      const v00 = i00 >= 0 ? x[base + i00]! : 0;
      const v01 = i01 >= 0 ? x[base + i01]! : 0;
      const v10 = i10 >= 0 ? x[base + i10]! : 0;
      const v11 = i11 >= 0 ? x[base + i11]! : 0;
      dm += dc * ((1 - ly) * ((1 - lx) * v00 + lx * v01) + ly * ((1 - lx) * v10 + lx * v11));
      dly += dc * ((1 - lx) * (v10 - v00) + lx * (v11 - v01));
      dlx += dc * ((1 - ly) * (v01 - v00) + ly * (v11 - v10));
      if (dx) {
        const dv = dc * m;
        if (i00 >= 0) dx[base + i00] += dv * (1 - ly) * (1 - lx);
        if (i01 >= 0) dx[base + i01] += dv * (1 - ly) * lx;
        if (i10 >= 0) dx[base + i10] += dv * ly * (1 - lx);
        if (i11 >= 0) dx[base + i11] += dv * ly * lx;
      }
    }
    dMask[k * hw + p] = dm;
    dOffset[2 * k * hw + p] = m * dly;
    dOffset[(2 * k + 1) * hw + p] = m * dlx;
  });
  return { offset: dOffset, mask: dMask, x: dx };
}
