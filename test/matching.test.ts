// Exact matching against a brute-force transcription of the reference (feature_match_index), with references of a
// different size than the input, chunk boundaries, and ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchExact, matchRows } from '../src/matching/correspondence.ts';
import { flowFromIndex, preOffsetOfficial, toDcnLayout, dcnPreOffsetWindow } from '../src/matching/pre-offset.ts';
import { Rng } from '../src/random/rng.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';

function randomFeatures(rng: Rng, c: number, h: number, w: number): Float32Tensor {
  const data = new Float32Array(c * h * w);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { shape: [1, c, h, w], data };
}

function bruteForce(fin: Float32Tensor, fref: Float32Tensor): Int32Array {
  const [, c, h, w] = fin.shape as number[] as [number, number, number, number];
  const [, , hr, wr] = fref.shape as number[] as [number, number, number, number];
  const norm = (t: Float32Tensor, H: number, W: number) => {
    const out = new Float64Array(t.data.length);
    for (let p = 0; p < H * W; p++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += t.data[k * H * W + p]! ** 2;
      const n = Math.max(Math.sqrt(s), 1e-12);
      for (let k = 0; k < c; k++) out[k * H * W + p] = t.data[k * H * W + p]! / n;
    }
    return out;
  };
  const a = norm(fin, h, w);
  const b = norm(fref, hr, wr);
  const patch = (f: Float64Array, H: number, W: number, y: number, x: number) => {
    const v: number[] = [];
    for (let k = 0; k < c; k++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) v.push(f[k * H * W + (y + i) * W + x + j]!);
    return v;
  };
  const refPatches: number[][] = [];
  for (let y = 0; y < hr - 2; y++) for (let x = 0; x < wr - 2; x++) {
    const v = patch(b, hr, wr, y, x);
    const n = Math.sqrt(v.reduce((s, e) => s + e * e, 0)) + 1e-5;
    refPatches.push(v.map((e) => e / n));
  }
  const idx = new Int32Array((h - 2) * (w - 2));
  for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
    const v = patch(a, h, w, y, x);
    let best = -Infinity;
    refPatches.forEach((r, q) => {
      let s = 0;
      for (let k = 0; k < v.length; k++) s += v[k]! * r[k]!;
      if (s > best) { best = s; idx[y * (w - 2) + x] = q; }
    });
  }
  return idx;
}

test('matching equals brute force for a reference larger and smaller than the input, any chunk size', async () => {
  const rng = new Rng(11);
  for (const [h, w, hr, wr] of [[7, 9, 11, 6], [10, 8, 5, 13]] as const) {
    const fin = randomFeatures(rng, 16, h, w);
    const fref = randomFeatures(rng, 16, hr, wr);
    const expected = bruteForce(fin, fref);
    for (const chunk of [4096, 7, 1]) {
      const m = await matchExact(fin, fref, { chunk });
      assert.deepEqual(Array.from(m.index), Array.from(expected), `sizes ${h}x${w} vs ${hr}x${wr}, chunk ${chunk}`);
      assert.equal(m.refW, wr);
    }
    const rows = await matchRows(fin, fref);
    assert.deepEqual(Array.from(rows.index), Array.from(expected), `row decomposition, sizes ${h}x${w} vs ${hr}x${wr}`);
  }
});

test('exact ties resolve to the earliest reference patch, across chunks too', async () => {
  const rng = new Rng(5);
  const fin = randomFeatures(rng, 8, 5, 5);
  // Reference: the input tiled twice side by side; every input patch appears at two reference positions.
  const [c, h, w] = [8, 5, 5];
  const ref = new Float32Array(c * h * 2 * w);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < 2 * w; x++) ref[(k * h + y) * 2 * w + x] = fin.data[(k * h + y) * w + (x % w)]!;
  for (const chunk of [4096, 3, 0]) {
    const refFeat = { shape: [1, c, h, 2 * w], data: ref };
    const m = chunk ? await matchExact(fin, refFeat, { chunk }) : await matchRows(fin, refFeat);
    for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
      assert.equal(m.index[y * (w - 2) + x], y * (2 * w - 2) + x, `position ${y},${x} chunk ${chunk}`);
    }
  }
});

test('flow decodes with the reference grid and the tile pre-offset window equals the shifted full map', () => {
  const m = { h: 4, w: 5, refH: 6, refW: 9, index: Int32Array.from([0, 8, 13, 20, 6, 1]) };
  const flow = flowFromIndex(m);
  // p = 13 on a 7-wide reference patch grid -> (x 6, y 1); at input (0, 2): flow (4, 1).
  assert.deepEqual([flow.data[(0 * 5 + 2) * 2], flow.data[(0 * 5 + 2) * 2 + 1]], [4, 1]);
  assert.deepEqual([flow.data[(3 * 5 + 4) * 2], flow.data[(3 * 5 + 4) * 2 + 1]], [0, 0]);
  for (const s of [1, 2, 4]) {
    const full = toDcnLayout(preOffsetOfficial(flow, s));
    const H = 4 * s;
    const W = 5 * s;
    const win = dcnPreOffsetWindow(flow, s, s, 2 * s, 2 * s, 3 * s);
    for (let ch = 0; ch < 18; ch++) for (let y = 0; y < 2 * s; y++) for (let x = 0; x < 3 * s; x++) {
      const origin = ch % 2 === 0 ? s : 2 * s;
      assert.equal(win.data[(ch * 2 * s + y) * 3 * s + x], full.data[(ch * H + y + s) * W + x + 2 * s]! + origin);
    }
  }
});

test('fast coarse-to-fine matching recovers a shifted reference and keeps exact scores', async () => {
  const { matchCoarseToFine } = await import('../src/matching/coarse-to-fine.ts');
  const rng = new Rng(21);
  const [c, h, w] = [16, 20, 24];
  // Smooth random features so that neighbouring cells are similar (as real features are).
  const base = randomFeatures(rng, c, h + 8, w + 10);
  const smooth = new Float32Array(base.data.length);
  const [H, W] = [h + 8, w + 10];
  for (let k = 0; k < c; k++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += base.data[(k * H + Math.min(H - 1, Math.max(0, y + dy))) * W + Math.min(W - 1, Math.max(0, x + dx))]!;
    smooth[(k * H + y) * W + x] = s;
  }
  const ref = { shape: [1, c, H, W], data: smooth };
  const input = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) input[(k * h + y) * w + x] = smooth[(k * H + y + 5) * W + x + 7]!;
  const fin = { shape: [1, c, h, w], data: input };
  const exact = await matchRows(fin, ref);
  const fast = await matchCoarseToFine(fin, ref);
  let same = 0;
  for (let i = 0; i < exact.index.length; i++) {
    if (exact.index[i] === fast.index[i]) same++;
    assert.ok(fast.score![i]! <= exact.score![i]! + 1e-5, 'fast never beats the exact optimum');
  }
  assert.ok(same / exact.index.length > 0.95, `fast found ${same} of ${exact.index.length} exact matches`);
});
