// Exact matching against a brute-force transcription of the reference (feature_match_index), with references of a
// different size than the input, chunk and row-block boundaries (matchRows is what `upscale` runs), and ties; the
// fast mode on the same footing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchExact, matchRows } from '../src/matching/correspondence.ts';
import { RowCorrelation } from '../src/matching/row-correlation.ts';
import { flowFromIndex, preOffsetOfficial, toDcnLayout, dcnPreOffsetWindow } from '../src/matching/pre-offset.ts';
import { Rng } from '../src/random/rng.ts';
import type { Float32Tensor } from '../src/tensor/host-tensor.ts';
import { randomTensor } from './support/random.ts';
import { matchCoarseToFine } from '../src/matching/coarse-to-fine.ts';

function randomFeatures(rng: Rng, c: number, h: number, w: number): Float32Tensor {
  return randomTensor(rng, [1, c, h, w]);
}

function bruteForce(fin: Float32Tensor, fref: Float32Tensor): Int32Array {
  return bruteForceScored(fin, fref).index;
}

/** Brute force in float64: best reference patch per input patch (first maximum) and its score over the input norm. */
function bruteForceScored(fin: Float32Tensor, fref: Float32Tensor): { index: Int32Array; score: Float64Array; scoreOf: (p: number, q: number) => number } {
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
  const score = new Float64Array((h - 2) * (w - 2));
  const inPatches: number[][] = [];
  for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
    const v = patch(a, h, w, y, x);
    const n = Math.sqrt(v.reduce((s, e) => s + e * e, 0)) + 1e-5;
    inPatches.push(v);
    let best = -Infinity;
    refPatches.forEach((r, q) => {
      let s = 0;
      for (let k = 0; k < v.length; k++) s += v[k]! * r[k]!;
      if (s > best) { best = s; idx[y * (w - 2) + x] = q; }
    });
    score[y * (w - 2) + x] = best / n;
  }
  const scoreOf = (p: number, q: number) => {
    const v = inPatches[p]!;
    const r = refPatches[q]!;
    let s = 0;
    for (let k = 0; k < v.length; k++) s += v[k]! * r[k]!;
    return s / (Math.sqrt(v.reduce((t, e) => t + e * e, 0)) + 1e-5);
  };
  return { index: idx, score, scoreOf };
}

/** Block budgets for matchRows: one block, 1x1 patch-row blocks, and blocks of 3 rows with a remainder. */
function budgets(pw: number, qw: number): number[] {
  return [8 * 1024 * 1024, 1, 25 * pw * qw];
}

async function countBlocks(run: (onProgress: (f: number) => void) => Promise<unknown>): Promise<number> {
  let n = 0;
  await run(() => { n++; });
  return n;
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
    for (const blockFloats of budgets(w - 2, wr - 2)) {
      const rows = await matchRows(fin, fref, { blockFloats });
      assert.deepEqual(Array.from(rows.index), Array.from(expected), `row decomposition, sizes ${h}x${w} vs ${hr}x${wr}, block budget ${blockFloats}`);
    }
  }
});

test('matchRows (the matcher upscale runs) equals brute force across several row blocks, indices and scores', async () => {
  const rng = new Rng(12);
  // ph = 11 input patch rows, qh = 12 reference patch rows: budgets of 1 (1x1 blocks) and 25*pw*qw (3x3 blocks,
  // remainders 2 and 0) both cross many block borders in both directions.
  const fin = randomFeatures(rng, 16, 13, 9);
  const fref = randomFeatures(rng, 16, 14, 10);
  const bf = bruteForceScored(fin, fref);
  const blockCounts: number[] = [];
  for (const blockFloats of budgets(7, 8)) {
    let m: Awaited<ReturnType<typeof matchRows>> | undefined;
    blockCounts.push(await countBlocks(async (onProgress) => { m = await matchRows(fin, fref, { blockFloats, onProgress }); }));
    assert.deepEqual(Array.from(m!.index), Array.from(bf.index), `block budget ${blockFloats}`);
    for (let p = 0; p < bf.score.length; p++) assert.ok(Math.abs(m!.score![p]! - bf.score[p]!) < 1e-5, `score at ${p}, budget ${blockFloats}: ${m!.score![p]} vs ${bf.score[p]}`);
  }
  assert.deepEqual(blockCounts, [1, 11 * 12, 4 * 4], 'the budgets really split the work into that many blocks');
  // Every block has one shape, so one ONNX session (and one memory arena) serves all of them, even where the block
  // size does not divide the rows (3 into 11 and 12): blocks of several shapes had one arena each (twice the memory).
  const before = RowCorrelation.sessionsCreated;
  await matchRows(fin, fref, { blockFloats: 25 * 7 * 8 });
  assert.equal(RowCorrelation.sessionsCreated - before, 1, 'one session for all 16 blocks');
  await assert.rejects(matchRows(fin, fref, { blockFloats: 0 }), /positive/);
});

/** The input twice in one reference: side by side (copies in the same patch rows) or stacked (in different ones). */
function twice(fin: Float32Tensor, stacked: boolean): Float32Tensor {
  const [, c, h, w] = fin.shape as [number, number, number, number];
  const [H, W] = stacked ? [2 * h, w] : [h, 2 * w];
  const ref = new Float32Array(c * H * W);
  for (let k = 0; k < c; k++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) ref[(k * H + y) * W + x] = fin.data[(k * h + (y % h)) * w + (x % w)]!;
  return { shape: [1, c, H, W], data: ref };
}

test('exact ties resolve to the earliest reference patch, across chunks and row blocks too', async () => {
  const rng = new Rng(5);
  const [c, h, w] = [8, 5, 5];
  const fin = randomFeatures(rng, c, h, w);
  type Run = [string, () => Promise<{ index: Int32Array }>];
  for (const stacked of [false, true]) {
    const refFeat = twice(fin, stacked);
    const qw = refFeat.shape[3]! - 2;
    const qh = refFeat.shape[2]! - 2;
    // Stacked, the second copy of patch row y is reference patch row y + 5: blocks of 1 and of 3 patch rows put the
    // two copies in different Gemm calls (a later block must not win a tie); one block puts them in one ArgMax.
    const runs: Run[] = [
      ...[4096, 3].map((chunk): Run => [`matchExact chunk ${chunk}`, () => matchExact(fin, refFeat, { chunk })]),
      ...budgets(3, qw).map((blockFloats): Run => [`matchRows budget ${blockFloats}`, () => matchRows(fin, refFeat, { blockFloats })]),
    ];
    for (const [label, run] of runs) {
      const m = await run();
      for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) {
        assert.equal(m.index[y * (w - 2) + x], y * qw + x, `position ${y},${x}, ${label}, ${stacked ? 'stacked' : 'side by side'} (${qh} patch rows)`);
      }
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

/** Random features smoothed by a 3x3 box so that neighbouring cells are similar (as real features are). */
function smoothFeatures(rng: Rng, c: number, H: number, W: number): Float32Tensor {
  const base = randomFeatures(rng, c, H, W);
  const smooth = new Float32Array(base.data.length);
  for (let k = 0; k < c; k++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += base.data[(k * H + Math.min(H - 1, Math.max(0, y + dy))) * W + Math.min(W - 1, Math.max(0, x + dx))]!;
    smooth[(k * H + y) * W + x] = s;
  }
  return { shape: [1, c, H, W], data: smooth };
}

test('fast matching equals brute force on a reference holding the input twice (ties), whatever the block size', async () => {
  const rng = new Rng(23);
  const [c, h, w] = [16, 12, 14];
  const fin = smoothFeatures(rng, c, h, w);
  for (const stacked of [false, true]) {
    const refFeat = twice(fin, stacked);
    const qw = refFeat.shape[3]! - 2;
    const bf = bruteForceScored(fin, refFeat);
    // Every input patch occurs twice; brute force keeps the first copy, so its index is (y, x) on the reference grid.
    for (let y = 0; y < h - 2; y++) for (let x = 0; x < w - 2; x++) assert.equal(bf.index[y * (w - 2) + x], y * qw + x);
    for (const blockFloats of budgets(6, (refFeat.shape[3]! >> 1) - 2)) {
      const m = await matchCoarseToFine(fin, refFeat, { blockFloats });
      assert.deepEqual(Array.from(m.index), Array.from(bf.index), `fast, block budget ${blockFloats}, ${stacked ? 'stacked' : 'side by side'}`);
      for (let p = 0; p < bf.score.length; p++) assert.ok(Math.abs(m.score![p]! - bf.score[p]!) < 1e-5, `score at ${p}`);
    }
  }
});

test('fast coarse-to-fine matching recovers a shifted reference and keeps exact scores', async () => {
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
  const bf = bruteForceScored(fin, ref);
  assert.deepEqual(Array.from(exact.index), Array.from(bf.index));
  for (const blockFloats of budgets(w - 2, W - 2)) {
    const fast = await matchCoarseToFine(fin, ref, { blockFloats });
    let same = 0;
    for (let i = 0; i < exact.index.length; i++) {
      if (exact.index[i] === fast.index[i]) same++;
      assert.ok(fast.score![i]! <= exact.score![i]! + 1e-5, 'fast never beats the exact optimum');
      // Its score is the exact correlation of the patch it chose.
      assert.ok(Math.abs(fast.score![i]! - bf.scoreOf(i, fast.index[i]!)) < 1e-5, `fast score at ${i} is the exact score of its match`);
    }
    assert.ok(same / exact.index.length > 0.95, `fast found ${same} of ${exact.index.length} exact matches (budget ${blockFloats})`);
  }
});
