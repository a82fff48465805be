// Owns the safetensors container: parsing (with strict validation of a possibly hostile header) and atomic writing.
// Format: u64 LE header length N, N bytes of UTF-8 JSON, then the raw little-endian row-major data buffer.

import { readFile } from 'node:fs/promises';
import { numel, type DType, type Float32Tensor } from '../tensor/host-tensor.ts';
import { writeFileAtomic } from '../io/atomic-write.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export interface StoredTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Raw little-endian bytes of this tensor (a view into the file buffer). */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, StoredTensor>;
  readonly metadata: Record<string, string>;
}

const DTYPE_SIZE: Record<DType, number> = { F32: 4, I64: 8, U8: 1, BF16: 2, F16: 2, F64: 8, I32: 4, I8: 1, I16: 2, BOOL: 1 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class WeightFileError extends RefsrError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'WeightFileError';
  }
}

export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): SafetensorsFile {
  if (buf.byteLength < 8) throw new WeightFileError(file, 'not a safetensors file (shorter than its 8-byte header length)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, buf.byteLength - 8))) {
    throw new WeightFileError(file, `not a safetensors file or truncated (header length ${headerLen} exceeds the file)`);
  }
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    throw new WeightFileError(file, `safetensors header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new WeightFileError(file, 'safetensors header is not a JSON object');
  }
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw new WeightFileError(file, '__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(entry as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) {
      throw new WeightFileError(file, `tensor "${name}" has an unsupported or missing dtype`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WeightFileError(file, `tensor "${name}" has an invalid shape`);
    }
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new WeightFileError(file, `tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = e.data_offsets as [number, number];
    const dtype = e.dtype as DType;
    const expected = numel(e.shape as number[]) * DTYPE_SIZE[dtype];
    if (end < begin || end - begin !== expected) {
      throw new WeightFileError(file, `tensor "${name}" byte range ${begin}..${end} does not match its shape and dtype (${expected} bytes)`);
    }
    if (end > dataLen) throw new WeightFileError(file, `tensor "${name}" lies beyond the end of the file (truncated?)`);
    tensors.set(name, { dtype, shape: e.shape as number[], bytes: buf.subarray(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new WeightFileError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

/** Decodes a stored tensor to float32 (F32, BF16, F16, F64 and integer types are widened). */
export function toFloat32(t: StoredTensor, name = 'tensor'): Float32Tensor {
  const n = numel(t.shape);
  const out = new Float32Array(n);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  switch (t.dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'BF16': {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = view.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    default: throw new Error(`${name}: cannot convert dtype ${t.dtype as string} to float32`);
  }
  return { shape: [...t.shape], data: out };
}

/** Integer tensors (I64, I32, U8) as plain numbers. */
export function toIntArray(t: StoredTensor): number[] {
  const f = toFloat32({ ...t, dtype: t.dtype }, 'int');
  if (t.dtype === 'I64') {
    const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
    return Array.from({ length: numel(t.shape) }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  }
  return Array.from(f.data);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface TensorToWrite {
  readonly dtype: 'F32' | 'U8' | 'I64';
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint8Array | BigInt64Array;
}

/** Serialises tensors (sorted by name, as the reference writer does) with optional string metadata. */
export function serializeSafetensors(tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (t.data.length !== numel(t.shape)) throw new Error(`tensor "${name}": data length ${t.data.length} does not match shape [${t.shape}]`);
    const len = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const pad = (8 - ((8 + headerBytes.length) % 8)) % 8;
  if (pad) headerBytes = enc.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    // Float32Array / BigInt64Array are little-endian on every platform Node runs on here (x86-64, arm64).
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export async function writeSafetensors(path: string, tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
