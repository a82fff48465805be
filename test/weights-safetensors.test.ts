// The safetensors container: round trip with metadata, dtype widening, and strict rejection of malformed headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSafetensors, serializeSafetensors, toFloat32, toIntArray, WeightFileError } from '../src/weights/safetensors.ts';

const enc = new TextEncoder();

/** A safetensors file from a raw header object and data buffer (no validation: used to craft bad files). */
function craft(header: unknown, data: Uint8Array, headerLenOverride?: bigint): Uint8Array {
  const h = typeof header === 'string' ? enc.encode(header) : enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const isWFE = (re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof WeightFileError, `expected WeightFileError, got ${String(e)}`);
  if (re) assert.match((e as Error).message, re);
  return true;
};

test('serialize/parse round trip keeps names, dtypes, shapes, values and metadata', () => {
  const w = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
  const buf = serializeSafetensors(new Map([
    ['z.weight', { dtype: 'F32' as const, shape: [2, 3, 4], data: w }],
    ['a.idx', { dtype: 'I64' as const, shape: [3], data: BigInt64Array.of(-1n, 0n, 2n ** 40n) }],
    ['img', { dtype: 'U8' as const, shape: [1, 2, 3], data: Uint8Array.of(0, 1, 2, 253, 254, 255) }],
    ['scalar', { dtype: 'F32' as const, shape: [], data: Float32Array.of(7) }],
  ]), { case: 'round-trip', note: 'ünïcode' });
  assert.equal((8 + Number(new DataView(buf.buffer).getBigUint64(0, true))) % 8, 0, 'header padded to a multiple of 8');
  const f = parseSafetensors(buf, 'rt.safetensors');
  assert.deepEqual(f.metadata, { case: 'round-trip', note: 'ünïcode' });
  assert.deepEqual([...f.tensors.keys()].sort(), ['a.idx', 'img', 'scalar', 'z.weight']);
  const z = f.tensors.get('z.weight')!;
  assert.equal(z.dtype, 'F32');
  assert.deepEqual([...z.shape], [2, 3, 4]);
  assert.deepEqual(Array.from(toFloat32(z).data), Array.from(w));
  assert.deepEqual(toIntArray(f.tensors.get('a.idx')!), [-1, 0, 2 ** 40]);
  assert.deepEqual(Array.from(f.tensors.get('img')!.bytes), [0, 1, 2, 253, 254, 255]);
  assert.deepEqual(Array.from(toFloat32(f.tensors.get('scalar')!).data), [7]);
});

test('BF16 widens as bits << 16 and F16 decodes exactly', () => {
  // bf16 bit patterns of 1.0, -2.0, 0.15625, a subnormal-range value and +inf.
  const bf = Uint16Array.of(0x3f80, 0xc000, 0x3e20, 0x0001, 0x7f80);
  const f16 = Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00);
  const data = new Uint8Array(20);
  data.set(new Uint8Array(bf.buffer), 0);
  data.set(new Uint8Array(f16.buffer), 10);
  const f = parseSafetensors(craft({
    b: { dtype: 'BF16', shape: [5], data_offsets: [0, 10] },
    h: { dtype: 'F16', shape: [5], data_offsets: [10, 20] },
  }, data));
  const b = toFloat32(f.tensors.get('b')!).data;
  const expect = new Float32Array(new Uint32Array(Array.from(bf, (x) => x << 16)).buffer);
  assert.deepEqual(Array.from(b), Array.from(expect));
  assert.deepEqual(Array.from(b.subarray(0, 3)), [1, -2, 0.15625]);
  assert.equal(b[4], Infinity);
  const h = toFloat32(f.tensors.get('h')!).data;
  assert.deepEqual(Array.from(h), [1, -2, (1 + 0x155 / 1024) * 2 ** -2, 2 ** -24, Infinity]);
});

test('malformed headers throw WeightFileError naming the file', () => {
  const data = new Uint8Array(8);
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  assert.doesNotThrow(() => parseSafetensors(craft(ok, data), 'ok.safetensors'));
  // Header length beyond the file (and absurdly large).
  assert.throws(() => parseSafetensors(craft(ok, data, 10_000n), 'long.safetensors'), isWFE(/long\.safetensors: .*header length 10000 exceeds/));
  assert.throws(() => parseSafetensors(craft(ok, data, 2n ** 63n), 'long.safetensors'), isWFE(/exceeds/));
  // Too short to hold the length, and empty.
  assert.throws(() => parseSafetensors(new Uint8Array(5), 'tiny.safetensors'), isWFE(/tiny\.safetensors/));
  assert.throws(() => parseSafetensors(new Uint8Array(0), 'empty.safetensors'), isWFE(/empty\.safetensors/));
  // Bad JSON, non-object JSON, invalid UTF-8.
  assert.throws(() => parseSafetensors(craft('{"t": {"dtype": "F32",', data), 'json.safetensors'), isWFE(/not valid UTF-8 JSON/));
  assert.throws(() => parseSafetensors(craft('[1,2]', data), 'arr.safetensors'), isWFE(/not a JSON object/));
  const badUtf8 = craft('{"t":1}', data);
  badUtf8[9] = 0xff;
  assert.throws(() => parseSafetensors(badUtf8, 'utf8.safetensors'), isWFE(/UTF-8/));
  // Offsets not matching shape x dtype size, reversed, beyond the data, bad dtype / shape.
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data)), isWFE(/does not match its shape/));
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data)), isWFE(/does not match/));
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data)), isWFE(/beyond the end/));
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, data)), isWFE(/dtype/));
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data)), isWFE(/shape/));
  assert.throws(() => parseSafetensors(craft({ t: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data)), isWFE(/data_offsets/));
  assert.throws(() => parseSafetensors(craft({ __metadata__: 'x', ...ok }, data)), isWFE(/__metadata__/));
});
