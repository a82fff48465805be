// Tiny pickle and zip writers for hand-built PyTorch checkpoints (one copy for every test): the pickle opcodes
// torch.save emits for a state dict, and the zip container (stored or deflated entries, optional ZIP64), plus
// statePth(), a whole checkpoint of float32 tensors as torch.save writes it.
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/weights/zip-archive.ts';
import type { Float32Tensor } from '../../src/tensor/host-tensor.ts';

export const enc = new TextEncoder();
export type Part = number | Uint8Array | Part[];
export function bytes(...parts: Part[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let pending: number[] = [];
  const flush = () => { if (pending.length) { chunks.push(Uint8Array.from(pending)); pending = []; } };
  const add = (p: Part) => {
    if (typeof p === 'number') pending.push(p);
    else if (p instanceof Uint8Array) { flush(); chunks.push(p); } // large storages are never spread
    else p.forEach(add);
  };
  parts.forEach(add);
  flush();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.length; }
  return out;
}
export const u32 = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
export const u64 = (n: number | bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return b; };
export const P = {
  proto: (n: number) => [0x80, n],
  str: (s: string) => { const b = enc.encode(s); return [0x58, u32(b.length), b]; }, // BINUNICODE
  global: (m: string, n: string) => [0x63, enc.encode(`${m}\n${n}\n`)],
  int: (n: number): Part[] => (n < 256 ? [0x4b, n] : n < 2 ** 31 ? [0x4a, u32(n)] : [0x8a, 8, u64(n)]), // BININT1 / BININT / LONG1
  mark: 0x28, tuple: 0x74, tuple1: 0x85, tuple2: 0x86, reduce: 0x52, binpersid: 0x51, setitem: 0x73, setitems: 0x75,
  emptyDict: 0x7d, emptyTuple: 0x29, newFalse: 0x89, stop: 0x2e,
};
export const orderedDict = () => [P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce];
export function tensorPickle(key: string, numel: number, offset: number, size: number[], stride: number[], viewMeta = false): Part[] {
  const sizeT = [P.mark, ...size.map(P.int), P.tuple];
  const strideT = [P.mark, ...stride.map(P.int), P.tuple];
  const pid = [P.mark, P.str('storage'), P.global('torch', 'FloatStorage'), P.str(key), P.str('cpu'), P.int(numel), ...(viewMeta ? [0x4e] : []), P.tuple];
  return [P.global('torch._utils', '_rebuild_tensor_v2'), P.mark, pid, P.binpersid, P.int(offset), sizeT, strideT, P.newFalse, orderedDict(), P.tuple, P.reduce];
}

export interface ZipIn { name: string; data: Uint8Array; deflate?: boolean }
/** Stored or deflated entries; `zip64` writes ZIP64 extra fields (sizes and offsets saturated) and ZIP64 end records. */
export function makeZip(files: ZipIn[], zip64 = false): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(f.name);
    const body = f.deflate ? new Uint8Array(deflateRawSync(f.data)) : f.data;
    const method = f.deflate ? 8 : 0;
    const crc = crc32(f.data);
    const lh = new Uint8Array(30); const lv = new DataView(lh.buffer);
    lv.setUint32(0, 0x04034b50, true); lv.setUint16(4, 20, true); lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true); lv.setUint32(18, body.length, true); lv.setUint32(22, f.data.length, true); lv.setUint16(26, name.length, true);
    const ch = new Uint8Array(46); const cv = new DataView(ch.buffer);
    cv.setUint32(0, 0x02014b50, true); cv.setUint16(4, 45, true); cv.setUint16(6, 45, true); cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true); cv.setUint32(20, zip64 ? 0xffffffff : body.length, true); cv.setUint32(24, zip64 ? 0xffffffff : f.data.length, true);
    cv.setUint16(28, name.length, true); cv.setUint32(42, zip64 ? 0xffffffff : offset, true);
    // ZIP64 extra field: a dummy padding field first (as torch writes), then id 1 with size, compressed size, offset.
    const extra = zip64 ? bytes([0x46, 0x42, 2, 0, 0x5a, 0x5a], [1, 0, 24, 0], u64(f.data.length), u64(body.length), u64(offset)) : new Uint8Array(0);
    cv.setUint16(30, extra.length, true);
    locals.push(lh, name, body);
    centrals.push(ch, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = bytes(centrals);
  const eocd = new Uint8Array(22); const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true); ev.setUint16(8, files.length, true); ev.setUint16(10, zip64 ? 0xffff : files.length, true);
  ev.setUint32(12, zip64 ? 0xffffffff : cd.length, true); ev.setUint32(16, zip64 ? 0xffffffff : offset, true);
  if (!zip64) return bytes(locals, cd, eocd);
  const z = new Uint8Array(56); const zv = new DataView(z.buffer);
  zv.setUint32(0, 0x06064b50, true); zv.setBigUint64(4, 44n, true); zv.setUint16(12, 45, true); zv.setUint16(14, 45, true);
  zv.setBigUint64(24, BigInt(files.length), true); zv.setBigUint64(32, BigInt(files.length), true);
  zv.setBigUint64(40, BigInt(cd.length), true); zv.setBigUint64(48, BigInt(offset), true);
  const loc = new Uint8Array(20); const lv = new DataView(loc.buffer);
  lv.setUint32(0, 0x07064b50, true); lv.setBigUint64(8, BigInt(offset + cd.length), true); lv.setUint32(16, 1, true);
  return bytes(locals, cd, z, loc, eocd);
}

/**
 * A zip-format checkpoint of contiguous float32 tensors, as `torch.save(state_dict)` writes it; with `params`, the
 * BasicSR layout `{'params': state_dict}` (how the official C2-Matching checkpoints are saved).
 */
export function statePth(tensors: ReadonlyMap<string, Float32Tensor>, opts: { params?: boolean } = {}): Uint8Array {
  const items: Part[] = [];
  const files: ZipIn[] = [];
  let i = 0;
  for (const [key, t] of tensors) {
    const shape = [...t.shape];
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    items.push(P.str(key), tensorPickle(String(i), t.data.length, 0, shape, strides));
    files.push({ name: `archive/data/${i}`, data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
    i++;
  }
  const dict = [orderedDict(), P.mark, items, P.setitems];
  const pkl = opts.params ? bytes(P.proto(2), P.emptyDict, P.str('params'), dict, P.setitem, P.stop) : bytes(P.proto(2), dict, P.stop);
  return makeZip([{ name: 'archive/data.pkl', data: pkl }, ...files, { name: 'archive/version', data: enc.encode('3\n') }]);
}
