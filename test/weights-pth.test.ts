// Safe .pth loading: golden parity of zip and legacy checkpoints with safetensors, hand-built checkpoints with strided
// tensors, and hostile inputs (forbidden globals, broken archives) that must fail with WeightFileError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goldenDir, goldenSkip } from './support/shared.ts';
import { readSafetensors, serializeSafetensors, toFloat32, WeightFileError, type StoredTensor } from '../src/weights/safetensors.ts';
import { parsePth, parseWeights, readPth, readWeights } from '../src/weights/pth.ts';
import { unpickle } from '../src/weights/pickle.ts';
import { ZipArchive } from '../src/weights/zip-archive.ts';
import { checkAgainstSpec, formatSpecReport, specMatches, type ParamSpec } from '../src/weights/expected-keys.ts';
import { bytes, enc, makeZip, orderedDict, P, tensorPickle, u32, u64 } from './support/pth-writer.ts';

const f32bytes = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);
const values = (t: StoredTensor) => Array.from(toFloat32(t).data);

/** A zip checkpoint {'params': OrderedDict('module.t': strided view, 'module.b': contiguous)} in folder `ckpt/`. */
function stridedZip(deflate = false, zip64 = false): Uint8Array {
  const pkl = bytes(P.proto(2), P.emptyDict, P.str('params'), orderedDict(), P.mark,
    P.str('module.t'), tensorPickle('0', 8, 1, [3, 2], [1, 3]),
    P.str('module.b'), tensorPickle('1', 2, 0, [2], [1]),
    P.setitems, P.setitem, P.stop);
  return makeZip([
    { name: 'ckpt/data.pkl', data: pkl, deflate },
    { name: 'ckpt/data/0', data: f32bytes([0, 1, 2, 3, 4, 5, 6, 7]), deflate },
    { name: 'ckpt/data/1', data: f32bytes([9, 10]) },
    { name: 'ckpt/version', data: enc.encode('3\n') },
  ], zip64);
}

const isWFE = (re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof WeightFileError, `expected WeightFileError, got ${String(e)}`);
  if (re) assert.match((e as Error).message, re);
  return true;
};

// ---------------------------------------------------------------------------------------------------------------

async function assertSameAsSafetensors(pth: string, st: string): Promise<void> {
  const ref = (await readSafetensors(st)).tensors;
  const got = await readPth(pth);
  assert.deepEqual([...got.keys()].sort(), [...ref.keys()].sort());
  for (const [k, r] of ref) {
    const g = got.get(k)!;
    assert.equal(g.dtype, r.dtype, k);
    assert.deepEqual([...g.shape], [...r.shape], k);
    assert.ok(Buffer.from(g.bytes).equals(Buffer.from(r.bytes)), `${k}: bytes differ`);
  }
}

test('golden zip and legacy .pth equal weights.safetensors bitwise', { skip: goldenSkip }, async () => {
  const cases = [['contras', 'weights_zip.pth'], ['dcn', 'weights_zip.pth'], ['dcn', 'weights_legacy.pth'], ['contras', 'weights_legacy.pth']];
  let n = 0;
  for (const [c, f] of cases) {
    const p = join(goldenDir, c!, f!);
    if (!existsSync(p)) continue; // the visible set has no contras legacy file
    await assertSameAsSafetensors(p, join(goldenDir, c!, 'weights.safetensors'));
    const w = await readWeights(p);
    assert.equal(w.format, f!.includes('legacy') ? 'pth-legacy' : 'pth-zip');
    n++;
  }
  assert.ok(n >= 3);
});

test('readWeights detects safetensors by content', { skip: goldenSkip }, async () => {
  const w = await readWeights(join(goldenDir, 'dcn', 'weights.safetensors'));
  assert.equal(w.format, 'safetensors');
  assert.ok(w.tensors.has('conv_offset_mask.bias'));
});

test('strided views, storage offsets, nesting under params and module. prefix (stored/deflated, zip/ZIP64)', () => {
  for (const [deflate, zip64] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const p = parsePth(stridedZip(deflate, zip64), 'strided.pth');
    assert.equal(p.stateDictPath, 'params');
    assert.equal(p.strippedModulePrefix, true);
    assert.deepEqual([...p.tensors.keys()], ['t', 'b']);
    const t = p.tensors.get('t')!;
    assert.deepEqual([...t.shape], [3, 2]);
    assert.deepEqual(values(t), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(values(p.tensors.get('b')!), [9, 10]);
  }
  const w = parseWeights(stridedZip(), 'strided.pth', { stripModulePrefix: false });
  assert.deepEqual([...w.tensors.keys()], ['module.t', 'module.b']);
  assert.equal(w.metadata.state_dict_path, 'params');
});

test('legacy format: storage list and per-storage size records, 3-d strided view', () => {
  const magic = bytes(P.proto(2), 0x8a, 10, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], P.stop);
  const proto = bytes(P.proto(2), 0x4d, 0xe9, 0x03, P.stop);
  const sys = bytes(P.proto(2), P.emptyDict, P.str('little_endian'), 0x88, P.setitem, P.stop);
  // [2,2,3] view permuted from a contiguous [3,2,2]: size (2,2,3), stride (1,2,4).
  const main = bytes(P.proto(2), orderedDict(), P.mark, P.str('w'), tensorPickle('140', 12, 0, [2, 2, 3], [1, 2, 4], true), P.setitems, P.stop);
  const keys = bytes(P.proto(2), 0x5d, P.mark, P.str('140'), 0x65, P.stop);
  const data = f32bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const file = bytes(magic, proto, sys, main, keys, u64(12), data);
  const p = parsePth(file, 'legacy.pth');
  assert.equal(p.format, 'pth-legacy');
  const w = p.tensors.get('w')!;
  assert.deepEqual([...w.shape], [2, 2, 3]);
  // out[a][b][c] = s[a + 2b + 4c]
  assert.deepEqual(values(w), [0, 4, 8, 2, 6, 10, 1, 5, 9, 3, 7, 11]);
  // Size record that disagrees with the pickle, and truncated data.
  assert.throws(() => parsePth(bytes(magic, proto, sys, main, keys, u64(13), data), 'bad.pth'), isWFE(/13 elements/));
  assert.throws(() => parsePth(bytes(magic, proto, sys, main, keys, u64(12), data.subarray(0, 20)), 'short.pth'), isWFE(/truncated/));
});

test('GLOBAL os.system + REDUCE is refused and never executed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refsr-pickle-'));
  const marker = join(dir, 'pwned');
  try {
    const evil = bytes(P.proto(2), P.global('os', 'system'), P.str(`touch ${marker}`), P.tuple1, P.reduce, P.stop);
    assert.throws(() => unpickle(evil, { file: 'evil.pkl' }), isWFE(/forbidden Python global "os\.system".*never executes/));
    // The same payload as data.pkl of a zip checkpoint.
    const zip = makeZip([{ name: 'archive/data.pkl', data: evil }]);
    assert.throws(() => parseWeights(zip, 'evil.pth'), isWFE(/evil\.pth.*os\.system/));
    // And as the main pickle of a legacy checkpoint.
    const magic = bytes(P.proto(2), 0x8a, 10, [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], P.stop);
    const legacy = bytes(magic, P.proto(2), 0x4d, 0xe9, 0x03, P.stop, P.proto(2), P.emptyDict, P.stop, evil);
    assert.throws(() => parseWeights(legacy, 'evil-legacy.pth'), isWFE(/os\.system/));
    assert.equal(existsSync(marker), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('STACK_GLOBAL builtins.eval, posix.system via INST, subprocess via NEWOBJ and EXT opcodes are refused', () => {
  const short = (s: string) => { const b = enc.encode(s); return [0x8c, b.length, b]; };
  const evalPkl = bytes(P.proto(4), 0x95, u64(0), short('builtins'), short('eval'), 0x93, short('1+1'), P.tuple1, P.reduce, P.stop);
  assert.throws(() => unpickle(evalPkl), isWFE(/"builtins\.eval"/));
  const inst = bytes(P.mark, P.str('id'), 0x69, enc.encode('posix\nsystem\n'), P.stop);
  assert.throws(() => unpickle(inst), isWFE(/"posix\.system"/));
  const newobj = bytes(P.proto(2), P.global('subprocess', 'Popen'), P.emptyTuple, 0x81, P.stop);
  assert.throws(() => unpickle(newobj), isWFE(/"subprocess\.Popen"/));
  assert.throws(() => unpickle(bytes(P.proto(2), 0x82, 1, P.stop)), isWFE(/extension registry/));
  // Calling something that is allowed but not callable, or a non-callable value.
  assert.throws(() => unpickle(bytes(P.proto(2), P.global('torch', 'FloatStorage'), P.emptyTuple, P.reduce, P.stop)), isWFE(/cannot call/));
});

test('hostile pickles: huge lengths, bad memo, underflow and truncation fail cleanly', () => {
  assert.throws(() => unpickle(bytes(P.proto(4), 0x8d, u64(2n ** 62n), P.stop)), isWFE());
  assert.throws(() => unpickle(bytes(P.proto(2), 0x58, u32(0xfffffff0), P.stop)), isWFE(/truncated/));
  assert.throws(() => unpickle(bytes(P.proto(2), 0x6a, u32(0xffffffff), P.stop)), isWFE(/memo key/));
  assert.throws(() => unpickle(bytes(P.proto(2), P.reduce, P.stop)), isWFE(/underflow/));
  assert.throws(() => unpickle(bytes(P.proto(2), P.emptyDict)), isWFE(/truncated/));
  assert.throws(() => unpickle(bytes(P.proto(2), 0xff, P.stop)), isWFE(/opcode 0xff/));
  assert.throws(() => unpickle(bytes(P.proto(2), P.emptyTuple, P.int(1), 0x61, P.stop)), isWFE(/APPEND/));
  // A huge LONG_BINPUT index is only a map key, not an allocation.
  assert.equal(unpickle(bytes(P.proto(2), P.int(7), 0x72, u32(0xfffffffe), P.stop)).value, 7);
});

test('tensor views outside their storage and storages larger than their entry are rejected', () => {
  const mk = (numel: number, offset: number, size: number[], stride: number[], dataLen: number) => makeZip([
    { name: 'a/data.pkl', data: bytes(P.proto(2), orderedDict(), P.mark, P.str('x'), tensorPickle('0', numel, offset, size, stride), P.setitems, P.stop) },
    { name: 'a/data/0', data: new Uint8Array(dataLen) },
  ]);
  assert.doesNotThrow(() => parsePth(mk(6, 0, [2, 3], [3, 1], 24)));
  assert.throws(() => parsePth(mk(6, 1, [2, 3], [3, 1], 24), 'v.pth'), isWFE(/tensor "x": reaches element 6/));
  assert.throws(() => parsePth(mk(6, 0, [2, 3], [1e12, 1], 24), 'v.pth'), isWFE(/tensor "x"/));
  assert.throws(() => parsePth(mk(1e12, 0, [2, 3], [3, 1], 24), 'v.pth'), isWFE(/declares/));
  // A single stride-0 expansion of modest size is fine, an absurd one is refused.
  assert.deepEqual(values(parsePth(mk(1, 0, [4], [0], 4)).tensors.get('x')!), [0, 0, 0, 0]);
  assert.throws(() => parsePth(mk(1, 0, [100000, 100000], [0, 0], 4), 'v.pth'), isWFE(/too much memory/));
});

test('malformed zip archives fail with WeightFileError naming the file', () => {
  const good = stridedZip();
  // Truncated at several points.
  for (const cut of [10, good.length >> 1, good.length - 5]) {
    assert.throws(() => parseWeights(good.subarray(0, cut), 'cut.pth'), isWFE(/cut\.pth/));
  }
  // data.pkl's local header offset pointing beyond the file (central directory entry 0, field at +42).
  const cdOff = new DataView(good.buffer).getUint32(good.length - 6, true);
  const far = good.slice();
  new DataView(far.buffer).setUint32(cdOff + 42, 0x7ffffff0, true);
  assert.throws(() => parseWeights(far, 'far.pth'), isWFE(/far\.pth: malformed zip archive: .*beyond the file/));
  // data.pkl's sizes claiming more data than the file holds.
  const big = good.slice();
  new DataView(big.buffer).setUint32(cdOff + 20, 0x7ffffff0, true);
  new DataView(big.buffer).setUint32(cdOff + 24, 0x7ffffff0, true);
  assert.throws(() => parseWeights(big, 'big.pth'), isWFE(/big\.pth/));
  // ZIP64 extra field with a local header offset far beyond the file, and a ZIP64 end record pointing nowhere.
  const z64 = stridedZip(false, true);
  const z64cd = Number(new DataView(z64.buffer).getBigUint64(z64.length - 22 - 20 - 56 + 48, true));
  const z64far = z64.slice();
  new DataView(z64far.buffer).setBigUint64(z64cd + 46 + 'ckpt/data.pkl'.length + 6 + 4 + 16, 2n ** 60n, true);
  assert.throws(() => parseWeights(z64far, 'z64.pth'), isWFE(/z64\.pth: malformed zip archive: .*local header offset/));
  const z64end = z64.slice();
  new DataView(z64end.buffer).setBigUint64(z64.length - 22 - 20 + 8, 2n ** 40n, true);
  assert.throws(() => parseWeights(z64end, 'z64.pth'), isWFE(/ZIP64 end record offset/));
  // Central directory offset beyond the file.
  const cdFar = good.slice();
  new DataView(cdFar.buffer).setUint32(good.length - 6, 0xfffffff0, true);
  assert.throws(() => ZipArchive.parse(cdFar, 'cd.pth'), isWFE(/central directory/));
  // Corrupted stored data: CRC mismatch.
  const flipped = good.slice();
  const pklStart = 30 + 'ckpt/data.pkl'.length;
  flipped[pklStart + 5]! ^= 0xff;
  assert.throws(() => parseWeights(flipped, 'crc.pth'), isWFE(/CRC-32/));
  // A zip that is not a torch checkpoint.
  assert.throws(() => parseWeights(makeZip([{ name: 'readme.txt', data: enc.encode('hi') }]), 'x.zip'), isWFE(/data\.pkl/));
});

test('truncated golden zip checkpoint', { skip: goldenSkip }, async () => {
  const buf = (await import('node:fs')).readFileSync(join(goldenDir, 'dcn', 'weights_zip.pth'));
  assert.throws(() => parseWeights(new Uint8Array(buf.subarray(0, buf.length - 100)), 'trunc.pth'), isWFE(/trunc\.pth/));
  assert.throws(() => parseWeights(new Uint8Array(buf.subarray(0, 300000)), 'trunc.pth'), isWFE(/trunc\.pth/));
});

test('random bytes, lying safetensors header and empty file', async () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (let i = 0; i < 20; i++) {
    const b = Uint8Array.from({ length: 64 + i * 37 }, rnd);
    assert.throws(() => parseWeights(b, 'random.bin'), isWFE(/random\.bin/));
    // Random data behind each container's magic bytes.
    for (const head of [[0x50, 0x4b, 0x03, 0x04], [0x80, 0x02]]) {
      const c = b.slice(); c.set(head);
      assert.throws(() => parseWeights(c, 'random.bin'), isWFE(/random\.bin/));
    }
  }
  const st = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) } });
  const lying = st.slice();
  new DataView(lying.buffer).setBigUint64(0, BigInt(lying.length), true);
  assert.throws(() => parseWeights(lying, 'lying.safetensors'), isWFE(/lying\.safetensors: .*header length \d+ exceeds the file/));
  const lying2 = st.subarray(0, st.length - 4); // data shorter than the header claims
  assert.throws(() => parseWeights(lying2, 'lying.safetensors'), isWFE(/beyond the end/));

  const dir = mkdtempSync(join(tmpdir(), 'refsr-empty-'));
  try {
    const empty = join(dir, 'empty.pth');
    writeFileSync(empty, new Uint8Array(0));
    await assert.rejects(readWeights(empty), isWFE(/empty\.pth: empty file/));
    await assert.rejects(readPth(empty), isWFE(/empty file/));
    await assert.rejects(readWeights(join(dir, 'missing.pth')), isWFE(/cannot read/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state dict discovery errors are explicit', () => {
  const pkl = bytes(P.proto(2), P.emptyDict, P.str('epoch'), P.int(5), P.setitem, P.stop);
  assert.throws(() => parsePth(makeZip([{ name: 'a/data.pkl', data: pkl }]), 'e.pth'), isWFE(/no state dict found.*epoch/));
  assert.throws(() => parsePth(stridedZip(), 's.pth', { stateDictKey: 'params_ema' }), isWFE(/no entry "params_ema"/));
});

test('checkAgainstSpec and formatSpecReport', () => {
  const spec: ParamSpec = new Map([['conv.weight', [8, 3, 3, 3]], ['conv.bias', [8]], ['head.weight', [1, 8]]]);
  const tensors = new Map<string, { shape: number[] }>([
    ['conv.weight', { shape: [8, 3, 3, 3] }], ['conv.bias', { shape: [4] }], ['extra', { shape: [] }], ['bn.num_batches_tracked', { shape: [] }],
  ]);
  const r = checkAgainstSpec(spec, tensors, { ignoreUnexpected: (k) => k.endsWith('num_batches_tracked') });
  assert.deepEqual(r.missing, ['head.weight']);
  assert.deepEqual(r.unexpected, ['extra']);
  assert.deepEqual(r.wrongShape, [{ key: 'conv.bias', expected: [8], got: [4] }]);
  assert.equal(specMatches(r), false);
  const text = formatSpecReport(r, { source: 'net.pth' });
  assert.match(text, /net\.pth: weights do not match/);
  assert.match(text, /conv\.bias: expected \[8\], got \[4\]/);
  const ok = checkAgainstSpec(spec, new Map([...spec].map(([k, s]) => [k, { shape: s }])));
  assert.ok(specMatches(ok));
  assert.match(formatSpecReport(ok), /all weights match/);
  const prefixed = checkAgainstSpec(new Map([['a.w', [1]]]), new Map([['generator.a.w', { shape: [1] }]]));
  assert.match(formatSpecReport(prefixed), /extra prefix "generator\."/);
});
