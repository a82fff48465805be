// Owns the teacher's loss head on the ONNX engine: the official triplet margin loss with the hardest negative (the
// same definition as losses/contrastive.ts without distillation) and its gradient w.r.t. the two feature maps.
// The similarity of image-2 descriptors against every image-1 descriptor is one batched MatMul on ONNX Runtime; the
// other matrix (valid image-1 descriptors against image-2 descriptors) is its transpose at the valid columns, gathered
// on the host instead of a second MatMul. Row minima (float32 as the tfjs loss forms them), the routing of the
// gradient to the minimising columns (every tied column gets it, as tf.min's gradient) and the normalisation's
// backward run on the host. tfjs needed ~0.7 s of the teacher's step for this head.

import * as ort from 'onnxruntime-node';
import { OnnxModel } from '../../graph/onnx-model.ts';
import { OrtGraph } from '../../graph/ort-session.ts';
import { spinEnabled } from './step-engine.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { validCorrespondences, type CorrespondenceOptions, type ValidCorrespondences } from '../losses/correspondence-targets.ts';

export interface TripletOptions extends CorrespondenceOptions {
  readonly margin?: number;
  readonly minCorrespondences?: number;
}

export interface TripletResult {
  readonly loss: number;
  readonly posDist: number;
  readonly negDist: number;
  readonly dFeat1: Float32Tensor;
  readonly dFeat2: Float32Tensor;
}

/** Rows [h*w, C] of item b of an NCHW map. */
function rowsOf(t: Float32Tensor, b: number): Float32Array {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(hw * c);
  const base = b * c * hw;
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < hw; p++) out[p * c + ch] = t.data[base + ch * hw + p]!;
  return out;
}

/** Normalised rows (x / max(|x|, 1e-12)) and the norms used. */
function normalize(rows: Float32Array, c: number): { u: Float32Array; norm: Float64Array } {
  const n = rows.length / c;
  const u = new Float32Array(rows.length);
  const norm = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += rows[r * c + k]! ** 2;
    const d = Math.max(Math.sqrt(s), 1e-12);
    norm[r] = d;
    for (let k = 0; k < c; k++) u[r * c + k] = rows[r * c + k]! / d;
  }
  return { u, norm };
}

/** Backward of the row normalisation: da = (du - u (u . du)) / |a|. */
function normalizeBackward(u: Float32Array, norm: Float64Array, du: Float64Array, c: number): Float64Array {
  const da = new Float64Array(du.length);
  for (let r = 0; r < norm.length; r++) {
    let dot = 0;
    for (let k = 0; k < c; k++) dot += u[r * c + k]! * du[r * c + k]!;
    for (let k = 0; k < c; k++) da[r * c + k] = (du[r * c + k]! - u[r * c + k]! * dot) / norm[r]!;
  }
  return da;
}

/**
 * Row minima of the negatives' distances as the tfjs loss forms them in float32: 2 - 2 s, then + 10 where the
 * column is within the safe radius (Chebyshev, in feature cells) of the row's point. The masks are tested inline
 * instead of being materialised (`correspondenceTargets`' outsideRadius arrays). Each writes every value into `vals`
 * (for the routing to tied columns) and returns the minimum.
 */
function hardestOnGrid(sim: Float32Array, h: number, w: number, cy: number, cx: number, safe: number, vals: Float32Array): number {
  const fround = Math.fround;
  let min = Infinity;
  for (let y = 0; y < h; y++) {
    const rowNear = Math.abs(y - cy) <= safe;
    for (let x = 0, j = y * w; x < w; x++, j++) {
      const base = fround(2 - 2 * sim[j]!);
      const v = rowNear && Math.abs(x - cx) <= safe ? fround(base + 10) : base;
      vals[j] = v;
      if (v < min) min = v;
    }
  }
  return min;
}

function hardestAtPoints(sim: Float32Array, pos: Int32Array, k: number, cy: number, cx: number, safe: number, vals: Float32Array): number {
  const fround = Math.fround;
  let min = Infinity;
  for (let j = 0; j < k; j++) {
    const base = fround(2 - 2 * sim[j]!);
    const v = Math.abs(pos[2 * j]! - cy) <= safe && Math.abs(pos[2 * j + 1]! - cx) <= safe ? fround(base + 10) : base;
    vals[j] = v;
    if (v < min) min = v;
  }
  return min;
}

export class TripletHead {
  private sessions = new Map<string, Promise<OrtGraph>>();

  constructor(private readonly threads: number) {}

  /** S21 = A B^T, batched: A [N, P, C], B [N, Q, C]. */
  private similarity(n: number, p: number, q: number, c: number): Promise<OrtGraph> {
    const key = `${n},${p},${q},${c}`;
    let s = this.sessions.get(key);
    if (!s) {
      const m = new OnnxModel();
      m.addInput('a', [n, p, c]);
      m.addInput('b', [n, q, c]);
      m.addNode({ op: 'Transpose', inputs: ['b'], outputs: ['bt'], attrs: { perm: [0, 2, 1] } });
      m.addNode({ op: 'MatMul', inputs: ['a', 'bt'], outputs: ['s21'] });
      m.addOutput('s21', [n, p, q]);
      s = OrtGraph.create(m.encode('triplet_similarity'), { threads: this.threads, spin: spinEnabled() });
      this.sessions.set(key, s);
    }
    return s;
  }

  async lossAndGrads(feat1: Float32Tensor, feat2: Float32Tensor, coords: readonly { readonly data: ArrayLike<number>; readonly width: number }[], opts: TripletOptions = {}): Promise<TripletResult> {
    const [n, c, h1, w1] = feat1.shape as [number, number, number, number];
    const [, , h2, w2] = feat2.shape as [number, number, number, number];
    const margin = opts.margin ?? 1;
    const minCorr = opts.minCorrespondences ?? 128;
    const safe = opts.safeRadius ?? 4;
    const q = h1 * w1;
    const p = q; // at most every image-1 grid point is valid
    const items: { b: number; t: ValidCorrespondences; u1: Float32Array; n1: Float64Array; raw2: Float32Array; d2: Float32Array; n2: Float64Array }[] = [];
    const a = new Float32Array(n * p * c);
    const bm = new Float32Array(n * q * c);
    for (let b = 0; b < n; b++) {
      const t = validCorrespondences(coords[b]!.data, coords[b]!.width, h1, w1, opts);
      if (t.ids.length < minCorr) continue;
      const k = t.ids.length;
      const { u: u1, norm: n1 } = normalize(rowsOf(feat1, b), c);
      const all2 = rowsOf(feat2, b);
      const raw2 = new Float32Array(k * c);
      for (let i = 0; i < k; i++) {
        const y = t.fmapPos2[2 * i]!;
        const x = t.fmapPos2[2 * i + 1]!;
        if (y < 0 || y >= h2 || x < 0 || x >= w2) throw new Error(`contrastive loss: ground-truth position (${y}, ${x}) outside the ${h2}x${w2} feature map`);
        raw2.set(all2.subarray((y * w2 + x) * c, (y * w2 + x + 1) * c), i * c);
      }
      const { u: d2, norm: n2 } = normalize(raw2, c);
      a.set(d2, b * p * c);
      bm.set(u1, b * q * c);
      items.push({ b, t, u1, n1, raw2, d2, n2 });
    }
    if (items.length === 0) throw new Error(`contrastive loss: no batch item has ${minCorr} or more ground-truth correspondences`);
    const session = await this.similarity(n, p, q, c);
    const r = await session.runRawTensors({
      a: new ort.Tensor('float32', a, [n, p, c]), b: new ort.Tensor('float32', bm, [n, q, c]),
    });
    const s21 = r.s21!.data as Float32Array;
    const s12 = new Float32Array(p * p);

    const vals1 = new Float32Array(q);
    const vals2 = new Float32Array(p);
    const dFeat1 = new Float32Array(feat1.data.length);
    const dFeat2 = new Float32Array(feat2.data.length);
    let loss = 0;
    let posSum = 0;
    let negSum = 0;
    for (const it of items) {
      const { b, t, u1, d2 } = it;
      const k = t.ids.length;
      const ids = t.ids;
      // S12[i][j] = d1_ids[i] . d2_j = S21[j][ids[i]]: the image-1 rows against image-2 descriptors, gathered from S21.
      for (let j = 0; j < k; j++) {
        const row = s21.subarray((b * p + j) * q, (b * p + j + 1) * q);
        for (let i = 0; i < k; i++) s12[i * k + j] = row[ids[i]!]!;
      }
      const pos2 = t.fmapPos2;
      const cw = 1 / (k * items.length);
      const gu1 = new Float64Array(q * c);
      const gd2 = new Float64Array(k * c);
      let itemLoss = 0;
      let itemPos = 0;
      let itemNeg = 0;
      for (let i = 0; i < k; i++) {
        const d1Row = t.ids[i]! * c;
        let dot = 0;
        for (let ch = 0; ch < c; ch++) dot += u1[d1Row + ch]! * d2[i * c + ch]!;
        const pos = 2 - 2 * dot;
        // Hardest negatives, float32 values as the tfjs loss forms them: 2 - 2 s, then + 10 inside the safe radius.
        const row1 = s21.subarray((b * p + i) * q, (b * p + i + 1) * q);
        const row2 = s12.subarray(i * k, (i + 1) * k);
        const neg1 = hardestOnGrid(row1, h1, w1, Math.floor(t.ids[i]! / w1), t.ids[i]! % w1, safe, vals1);
        const neg2 = hardestAtPoints(row2, pos2, k, pos2[2 * i]!, pos2[2 * i + 1]!, safe, vals2);
        const hardest = Math.min(neg1, neg2);
        const li = margin + pos - hardest;
        itemLoss += Math.max(li, 0);
        itemPos += pos;
        itemNeg += hardest;
        if (!(li > 0)) continue;
        // d pos = cw: d d1 -= 2 cw d2, d d2 -= 2 cw d1.
        for (let ch = 0; ch < c; ch++) {
          gu1[d1Row + ch] += -2 * cw * d2[i * c + ch]!;
          gd2[i * c + ch] += -2 * cw * u1[d1Row + ch]!;
        }
        // d hardest = -cw, to neg1 when neg1 <= neg2 (tf.minimum), then to every column at the row minimum.
        if (neg1 <= neg2) {
          for (let j = 0; j < q; j++) {
            if (vals1[j] !== neg1) continue;
            for (let ch = 0; ch < c; ch++) {
              gd2[i * c + ch] += 2 * cw * u1[j * c + ch]!;
              gu1[j * c + ch] += 2 * cw * d2[i * c + ch]!;
            }
          }
        } else {
          for (let j = 0; j < k; j++) {
            if (vals2[j] !== neg2) continue;
            for (let ch = 0; ch < c; ch++) {
              gu1[d1Row + ch] += 2 * cw * d2[j * c + ch]!;
              gd2[j * c + ch] += 2 * cw * u1[d1Row + ch]!;
            }
          }
        }
      }
      loss += itemLoss / k;
      posSum += itemPos / k;
      negSum += itemNeg / k;
      const da1 = normalizeBackward(u1, it.n1, gu1, c);
      const draw2 = normalizeBackward(d2, it.n2, gd2, c);
      const hw1 = h1 * w1;
      for (let j = 0; j < hw1; j++) for (let ch = 0; ch < c; ch++) dFeat1[(b * c + ch) * hw1 + j] = da1[j * c + ch]!;
      const hw2 = h2 * w2;
      for (let i = 0; i < k; i++) {
        const at = t.fmapPos2[2 * i]! * w2 + t.fmapPos2[2 * i + 1]!;
        for (let ch = 0; ch < c; ch++) dFeat2[(b * c + ch) * hw2 + at] += draw2[i * c + ch]!;
      }
    }
    const m = items.length;
    return { loss: loss / m, posDist: posSum / m, negDist: negSum / m, dFeat1: { shape: feat1.shape, data: dFeat1 }, dFeat2: { shape: feat2.shape, data: dFeat2 } };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
