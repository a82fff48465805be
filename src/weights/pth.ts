// Owns loading PyTorch `.pth` checkpoints without executing anything: the zip format written by torch.save since 1.6
// (`<archive>/data.pkl` plus one `<archive>/data/<key>` entry per storage) and the legacy format
// (`_use_new_zipfile_serialization=False`: magic number, protocol version and sys_info pickles, the main pickle, the
// list of storage keys, then each storage as an int64 element count followed by its raw bytes). The pickles go through
// the restricted unpickler; tensors are rebuilt from (storage, offset, size, stride) as contiguous row-major
// little-endian StoredTensors. Also owns content-based detection of weight files (safetensors / zip / legacy).

import { readFile } from 'node:fs/promises';
import type { DType } from '../tensor/host-tensor.ts';
import { parseSafetensors, WeightFileError, type StoredTensor } from './safetensors.ts';
import { looksLikeZip, ZipArchive } from './zip-archive.ts';
import {
  asInt, describe, isTuple, PyDict, TorchStorage, TorchStorageType, TorchTensor, unpickle, type CallContext,
} from './pickle.ts';

export type WeightFormat = 'safetensors' | 'pth-zip' | 'pth-legacy';

export interface PthOptions {
  /**
   * Key of the nested dict that holds the weights (for example `params_ema`). By default a top-level dict of tensors
   * is used, otherwise the first of DEFAULT_STATE_DICT_KEYS that holds one.
   */
  readonly stateDictKey?: string;
  /** Strip a leading `module.` (DataParallel) from every key (default true). */
  readonly stripModulePrefix?: boolean;
  /** Verify zip entry CRCs (default true). */
  readonly verifyCrc?: boolean;
}

export interface PthFile {
  readonly format: 'pth-zip' | 'pth-legacy';
  readonly tensors: Map<string, StoredTensor>;
  /** Where the state dict was found: '' for the top level, otherwise the key path such as 'params'. */
  readonly stateDictPath: string;
  /** True when a `module.` prefix was removed from at least one key. */
  readonly strippedModulePrefix: boolean;
}

export interface WeightFile {
  readonly format: WeightFormat;
  readonly tensors: Map<string, StoredTensor>;
  /** safetensors `__metadata__`; for .pth files: `format`, and `state_dict_path` / `stripped_prefix` when relevant. */
  readonly metadata: Record<string, string>;
}

/** Nested keys searched (in this order) when the top level is not itself a dict of tensors. */
export const DEFAULT_STATE_DICT_KEYS: readonly string[] = ['state_dict', 'params', 'params_ema', 'model', 'generator', 'net_g', 'network', 'net'];

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
/** Extra bytes allowed for tensors larger than their storage (stride-0 expansions), across one file. */
const EXPANSION_BUDGET_BYTES = 1 << 30;

/** Detects the container from the content (never from the extension). */
export function detectWeightFormat(buf: Uint8Array): WeightFormat | undefined {
  if (looksLikeZip(buf)) return 'pth-zip';
  if (buf.byteLength >= 2 && buf[0] === 0x80 && buf[1]! >= 2 && buf[1]! <= 5) return 'pth-legacy';
  // A safetensors header is a JSON object, so byte 8 is '{'; its length field is validated by the parser.
  if (buf.byteLength >= 9 && buf[8] === 0x7b) return 'safetensors';
  return undefined;
}

async function readWhole(path: string): Promise<Uint8Array> {
  let b: Buffer;
  try {
    b = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WeightFileError(path, code === 'ERR_FS_FILE_TOO_LARGE' ? 'file is too large to load (over 2 GiB)' : `cannot read (${code ?? (e as Error).message})`);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a .pth checkpoint (zip or legacy) and returns its state dict. */
export async function readPth(path: string, opts: PthOptions = {}): Promise<Map<string, StoredTensor>> {
  return parsePth(await readWhole(path), path, opts).tensors;
}

/** Reads safetensors, zip .pth or legacy .pth, detected by content. */
export async function readWeights(path: string, opts: PthOptions = {}): Promise<WeightFile> {
  return parseWeights(await readWhole(path), path, opts);
}

export function parseWeights(buf: Uint8Array, file = '<buffer>', opts: PthOptions = {}): WeightFile {
  if (buf.byteLength === 0) throw new WeightFileError(file, 'empty file');
  const format = detectWeightFormat(buf);
  if (format === 'safetensors') {
    const s = parseSafetensors(buf, file);
    return { format, tensors: s.tensors, metadata: s.metadata };
  }
  if (format === undefined) {
    if (buf.byteLength > 262 && new TextDecoder().decode(buf.subarray(257, 262)) === 'ustar') {
      throw new WeightFileError(file, 'this is a tar-format PyTorch checkpoint (torch < 0.4), which is not supported; re-save it with torch.save');
    }
    throw new WeightFileError(file, 'unrecognised weight file format (expected safetensors, a PyTorch zip checkpoint or a legacy PyTorch pickle)');
  }
  const p = parsePth(buf, file, opts);
  const metadata: Record<string, string> = { format: p.format };
  if (p.stateDictPath) metadata.state_dict_path = p.stateDictPath;
  if (p.strippedModulePrefix) metadata.stripped_prefix = 'module.';
  return { format: p.format, tensors: p.tensors, metadata };
}

/** Parses a .pth checkpoint held in memory (format detected from the content). */
export function parsePth(buf: Uint8Array, file = '<buffer>', opts: PthOptions = {}): PthFile {
  if (buf.byteLength === 0) throw new WeightFileError(file, 'empty file');
  const fmt = detectWeightFormat(buf);
  if (fmt === 'pth-zip') return parseZipPth(buf, file, opts);
  if (fmt === 'pth-legacy') return parseLegacyPth(buf, file, opts);
  throw new WeightFileError(file, 'not a PyTorch checkpoint (neither a zip archive nor a pickle)');
}

// ---------------------------------------------------------------------------------------------------------------

interface StorageSource {
  /** Raw bytes of the root storage. */
  readonly bytes: () => Uint8Array;
  readonly dtype: DType;
  readonly elementSize: number;
  /** Element count declared in the checkpoint. */
  readonly numel: number;
}

function checkPid(pid: unknown, ctx: CallContext): { type: TorchStorageType; key: string; location: unknown; numel: number; rest: readonly unknown[] } {
  if (!isTuple(pid) || pid.length < 5) return ctx.fail(`unexpected persistent id (${describe(pid)})`);
  const [tag, type, key, location, numel, ...rest] = pid;
  if (tag === 'module') ctx.fail('the checkpoint pickles a whole nn.Module (source code); only state dicts are supported');
  if (tag !== 'storage') ctx.fail(`unexpected persistent id type ${describe(tag)}`);
  if (!(type instanceof TorchStorageType)) return ctx.fail(`storage type is ${describe(type)}`);
  if (typeof key !== 'string' && typeof key !== 'number') return ctx.fail(`storage key is ${describe(key)}`);
  return { type, key: String(key), location, numel: asInt(numel, 'storage size', ctx), rest };
}

function parseZipPth(buf: Uint8Array, file: string, opts: PthOptions): PthFile {
  const zip = ZipArchive.parse(buf, file, { verifyCrc: opts.verifyCrc });
  const pkls = zip.names().filter((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length === 0) throw new WeightFileError(file, 'zip archive has no <archive>/data.pkl; not a torch.save checkpoint');
  if (pkls.length > 1) throw new WeightFileError(file, `zip archive has several data.pkl entries (${pkls.join(', ')})`);
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || zip.names().some((n) => n.startsWith(`${prefix}code/`))) {
    throw new WeightFileError(file, 'this is a TorchScript archive (torch.jit.save), not a torch.save state dict; it is not supported');
  }
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little' && order !== 'big') throw new WeightFileError(file, `unknown byteorder "${order.slice(0, 20)}"`);
    bigEndian = order === 'big';
  }

  const sources = new Map<string, StorageSource>();
  const persistentLoad = (pid: unknown, ctx: CallContext): TorchStorage => {
    const { type, key, numel } = checkPid(pid, ctx);
    const name = `${prefix}data/${key}`;
    const entry = zip.entries.get(name);
    if (!entry) return ctx.fail(`storage "${key}" has no archive entry ${name}`);
    if (numel * type.elementSize > entry.size) {
      ctx.fail(`storage "${key}" declares ${numel} x ${type.elementSize} bytes but its entry holds ${entry.size}`);
    }
    const prev = sources.get(key);
    if (prev && prev.dtype !== type.dtype) ctx.fail(`storage "${key}" is used with two dtypes (${prev.dtype}, ${type.dtype})`);
    if (!prev) {
      let cached: Uint8Array | undefined;
      sources.set(key, { dtype: type.dtype, elementSize: type.elementSize, numel, bytes: () => (cached ??= zip.readEntry(entry)) });
    }
    return new TorchStorage(key, type.dtype, type.elementSize, numel);
  };
  const root = unpickle(zip.read(`${prefix}data.pkl`), { file, persistentLoad }).value;
  return finish(root, sources, bigEndian, file, 'pth-zip', opts);
}

function parseLegacyPth(buf: Uint8Array, file: string, opts: PthOptions): PthFile {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = unpickle(buf, { file });
  if (magic.value !== LEGACY_MAGIC) {
    throw new WeightFileError(file, 'pickle file is not a torch.save checkpoint (legacy magic number missing)');
  }
  const proto = unpickle(buf, { file }, magic.end);
  if (proto.value !== LEGACY_PROTOCOL_VERSION) throw new WeightFileError(file, `unsupported legacy checkpoint protocol version ${describe(proto.value)}`);
  const sys = unpickle(buf, { file }, proto.end);
  let bigEndian = false;
  if (sys.value instanceof PyDict && sys.value.map.get('little_endian') === false) bigEndian = true;

  interface Pending { dtype: DType; elementSize: number; numel: number; data?: Uint8Array }
  const roots = new Map<string, Pending>();
  const persistentLoad = (pid: unknown, ctx: CallContext): TorchStorage => {
    const { type, key, numel, rest } = checkPid(pid, ctx);
    let r = roots.get(key);
    if (!r) {
      r = { dtype: type.dtype, elementSize: type.elementSize, numel };
      roots.set(key, r);
    } else if (r.dtype !== type.dtype) {
      ctx.fail(`storage "${key}" is used with two dtypes (${r.dtype}, ${type.dtype})`);
    }
    const viewMeta = rest[0];
    if (viewMeta === undefined || viewMeta === null) return new TorchStorage(key, r.dtype, r.elementSize, r.numel);
    if (!isTuple(viewMeta) || viewMeta.length !== 3) return ctx.fail('storage view metadata is not a 3-tuple');
    const offset = asInt(viewMeta[1], 'storage view offset', ctx);
    const size = asInt(viewMeta[2], 'storage view size', ctx);
    if (offset + size > r.numel) ctx.fail(`storage view ${offset}+${size} exceeds its root storage of ${r.numel} elements`);
    return new TorchStorage(key, r.dtype, r.elementSize, size, offset);
  };
  const main = unpickle(buf, { file, persistentLoad }, sys.end);
  const keysPickle = unpickle(buf, { file }, main.end);
  const keys = keysPickle.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' || typeof k === 'number')) {
    throw new WeightFileError(file, 'legacy checkpoint storage key list is not a list of strings');
  }
  let pos = keysPickle.end;
  for (const k of keys.map(String)) {
    const r = roots.get(k);
    if (!r) throw new WeightFileError(file, `legacy checkpoint lists storage "${k}" that no tensor references`);
    if (r.data) throw new WeightFileError(file, `legacy checkpoint lists storage "${k}" twice`);
    if (pos + 8 > buf.byteLength) throw new WeightFileError(file, `truncated: storage "${k}" size record lies beyond the end of the file`);
    const n = bigEndian ? view.getBigInt64(pos, false) : view.getBigInt64(pos, true);
    pos += 8;
    if (n !== BigInt(r.numel)) throw new WeightFileError(file, `storage "${k}" records ${n} elements but the pickle declared ${r.numel}`);
    const nbytes = r.numel * r.elementSize;
    if (nbytes > buf.byteLength - pos) throw new WeightFileError(file, `truncated: storage "${k}" (${nbytes} bytes) runs past the end of the file`);
    r.data = buf.subarray(pos, pos + nbytes);
    pos += nbytes;
  }
  const sources = new Map<string, StorageSource>();
  for (const [k, r] of roots) {
    sources.set(k, {
      dtype: r.dtype, elementSize: r.elementSize, numel: r.numel,
      bytes: () => r.data ?? (() => { throw new WeightFileError(file, `storage "${k}" is referenced but its data is not in the file`); })(),
    });
  }
  return finish(main.value, sources, bigEndian, file, 'pth-legacy', opts);
}

// ---------------------------------------------------------------------------------------------------------------

function finish(root: unknown, sources: Map<string, StorageSource>, bigEndian: boolean, file: string, format: 'pth-zip' | 'pth-legacy', opts: PthOptions): PthFile {
  const { dict, path } = findStateDict(root, file, opts.stateDictKey);
  const strip = opts.stripModulePrefix ?? true;
  const tensors = new Map<string, StoredTensor>();
  const budget = { bytes: EXPANSION_BUDGET_BYTES };
  let stripped = false;
  for (const [k, v] of dict.map) {
    if (typeof k !== 'string') throw new WeightFileError(file, `state dict key ${describe(k)} is not a string`);
    let name = k;
    if (strip && name.startsWith('module.')) { name = name.slice('module.'.length); stripped = true; }
    if (tensors.has(name)) throw new WeightFileError(file, `two entries map to key "${name}" after removing the "module." prefix`);
    tensors.set(name, materialize(v as TorchTensor, sources, bigEndian, file, k, budget));
  }
  return { format, tensors, stateDictPath: path, strippedModulePrefix: stripped };
}

function isTensorDict(v: unknown): v is PyDict {
  if (!(v instanceof PyDict)) return false;
  for (const x of v.map.values()) if (!(x instanceof TorchTensor)) return false;
  return true;
}

function findStateDict(root: unknown, file: string, key: string | undefined): { dict: PyDict; path: string } {
  if (key !== undefined) {
    let cur: unknown = root;
    for (const part of key.split('/')) {
      if (!(cur instanceof PyDict) || !cur.map.has(part)) throw new WeightFileError(file, `checkpoint has no entry "${key}"${topKeys(root)}`);
      cur = cur.map.get(part);
    }
    if (!isTensorDict(cur)) throw new WeightFileError(file, `checkpoint entry "${key}" is not a dict of tensors`);
    return { dict: cur, path: key };
  }
  if (isTensorDict(root)) return { dict: root, path: '' };
  if (root instanceof PyDict) {
    for (const k of DEFAULT_STATE_DICT_KEYS) {
      const v = root.map.get(k);
      if (isTensorDict(v) && v.map.size > 0) return { dict: v, path: k };
    }
  }
  if (root instanceof TorchTensor) throw new WeightFileError(file, 'checkpoint holds a single tensor, not a state dict');
  throw new WeightFileError(file, `no state dict found: expected a dict of tensors at the top level or under one of ` +
    `${DEFAULT_STATE_DICT_KEYS.join(', ')}${topKeys(root)}`);
}

function topKeys(root: unknown): string {
  if (!(root instanceof PyDict)) return ` (the top level is ${describe(root)})`;
  const ks = [...root.map.keys()].slice(0, 20).map((k) => (typeof k === 'string' ? k : describe(k)));
  return ` (top-level keys: ${ks.join(', ')}${root.map.size > 20 ? ', ...' : ''})`;
}

/** Rebuilds a strided tensor view as contiguous row-major little-endian bytes (a view when already contiguous). */
function materialize(t: TorchTensor, sources: Map<string, StorageSource>, bigEndian: boolean, file: string, name: string, budget: { bytes: number }): StoredTensor {
  const fail = (msg: string): never => { throw new WeightFileError(file, `tensor "${name}": ${msg}`); };
  if (!(t instanceof TorchTensor)) return fail('is not a tensor');
  const src = sources.get(t.storage.key);
  if (!src) return fail(`storage "${t.storage.key}" is missing`);
  const es = src.elementSize;
  const { size, stride } = t;
  const viewStart = t.storage.viewOffset;
  const viewEnd = viewStart + t.storage.numel; // exclusive, in elements of the root storage
  const base = viewStart + t.storageOffset;

  let numel = 1;
  for (const d of size) {
    numel *= d;
    if (numel > Number.MAX_SAFE_INTEGER) fail('has too many elements');
  }
  const shape = [...size];
  if (numel === 0) return { dtype: src.dtype, shape, bytes: new Uint8Array(0) };

  let last = base;
  for (let i = 0; i < size.length; i++) {
    const span = (size[i]! - 1) * stride[i]!;
    if (!Number.isSafeInteger(span)) fail('stride is out of range');
    last += span;
  }
  if (!Number.isSafeInteger(last) || last >= viewEnd) {
    fail(`reaches element ${last} of a storage with ${t.storage.numel} elements (offset ${t.storageOffset}, size [${size}], stride [${stride}])`);
  }
  const all = src.bytes();
  if (viewEnd * es > all.byteLength) fail(`storage "${t.storage.key}" holds ${all.byteLength} bytes, fewer than declared`);
  const outBytes = numel * es;
  if (numel > t.storage.numel) {
    budget.bytes -= outBytes;
    if (budget.bytes < 0) fail('expanded (stride-0) tensors would need too much memory');
  }

  let contiguous = true;
  let expect = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expect) { contiguous = false; break; }
    expect *= size[i]!;
  }
  let out: Uint8Array;
  if (contiguous) {
    out = all.subarray(base * es, base * es + outBytes);
    if (bigEndian) out = out.slice();
  } else {
    out = new Uint8Array(outBytes);
    const nd = size.length;
    const idx = new Array<number>(nd).fill(0);
    const inner = nd - 1;
    const innerSize = size[inner]!;
    const innerStrideBytes = stride[inner]! * es;
    let o = 0;
    let rowStart = base * es;
    for (;;) {
      let s = rowStart;
      if (es === 4) {
        for (let j = 0; j < innerSize; j++, s += innerStrideBytes, o += 4) {
          out[o] = all[s]!; out[o + 1] = all[s + 1]!; out[o + 2] = all[s + 2]!; out[o + 3] = all[s + 3]!;
        }
      } else {
        for (let j = 0; j < innerSize; j++, s += innerStrideBytes, o += es) out.set(all.subarray(s, s + es), o);
      }
      let d = inner - 1;
      for (; d >= 0; d--) {
        idx[d]!++;
        rowStart += stride[d]! * es;
        if (idx[d]! < size[d]!) break;
        rowStart -= size[d]! * stride[d]! * es;
        idx[d] = 0;
      }
      if (d < 0) break;
    }
  }
  if (bigEndian && es > 1) swapBytes(out, es);
  return { dtype: src.dtype, shape, bytes: out };
}

function swapBytes(b: Uint8Array, es: number): void {
  for (let i = 0; i + es <= b.length; i += es) {
    for (let a = i, z = i + es - 1; a < z; a++, z--) { const t = b[a]!; b[a] = b[z]!; b[z] = t; }
  }
}
