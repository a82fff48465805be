// Owns a restricted Python unpickler for PyTorch checkpoints. It interprets the pickle opcodes as data only: GLOBAL /
// STACK_GLOBAL (and INST / OBJ) are resolved against a fixed allow-list of harmless torch names (OrderedDict, the tensor
// rebuild functions, storage types, dtypes, torch.Size) that are modelled here in TypeScript, and every other global
// is rejected with a WeightFileError. Nothing from the file is ever executed, imported or evaluated.

import type { DType } from '../tensor/host-tensor.ts';
import { WeightFileError } from './safetensors.ts';

// ---------------------------------------------------------------------------------------------------------------
// Python values as the unpickler produces them.
//   None -> null, bool -> boolean, int -> number (bigint if beyond 2^53), float -> number, str -> string,
//   bytes -> Uint8Array, list -> mutable Array, tuple -> frozen Array, dict -> PyDict, set -> PySet,
//   plus the torch objects below.

/** A Python dict (or collections.OrderedDict). Keys are JS primitives for str/int/float/bool/None, otherwise identity. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** State applied by BUILD (e.g. an OrderedDict's `_metadata`), kept as data. */
  state: unknown = undefined;
  constructor(readonly ordered = false) {}
}

export class PySet {
  readonly items: unknown[] = [];
  constructor(readonly frozen = false) {}
}

/** A torch storage type global such as `torch.FloatStorage`, used only as a dtype marker in persistent ids. */
export class TorchStorageType {
  constructor(readonly name: string, readonly dtype: DType, readonly elementSize: number) {}
}

/** A torch dtype object such as `torch.float32`. */
export class TorchDtypeObject {
  constructor(readonly name: string, readonly dtype: DType | undefined) {}
}

/** What a persistent id resolves to: a reference to raw storage bytes held elsewhere in the checkpoint. */
export class TorchStorage {
  constructor(
    /** Key of the root storage (zip: `data/<key>`; legacy: position in the storage list). */
    readonly key: string,
    readonly dtype: DType,
    readonly elementSize: number,
    /** Number of elements in this storage (or view). */
    readonly numel: number,
    /** Element offset inside the root storage (legacy storage views); 0 otherwise. */
    readonly viewOffset = 0,
  ) {}
}

/** A tensor as described by `_rebuild_tensor_v2`: a strided view of a storage. Data is materialised later. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** An allowed callable global; `call` builds plain data from plain data. */
export class PyCallable {
  constructor(readonly qualname: string, readonly call: (args: readonly unknown[], ctx: CallContext) => unknown) {}
}

export interface CallContext {
  readonly fail: (msg: string) => never;
}

export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

export function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}

// ---------------------------------------------------------------------------------------------------------------
// The allow-list.

const STORAGE_TYPES: Array<[string, DType, number]> = [
  ['FloatStorage', 'F32', 4], ['DoubleStorage', 'F64', 8], ['HalfStorage', 'F16', 2], ['BFloat16Storage', 'BF16', 2],
  ['LongStorage', 'I64', 8], ['IntStorage', 'I32', 4], ['ShortStorage', 'I16', 2], ['CharStorage', 'I8', 1],
  ['ByteStorage', 'U8', 1], ['BoolStorage', 'BOOL', 1],
];

const DTYPE_OBJECTS: Array<[string, DType | undefined]> = [
  ['float32', 'F32'], ['float', 'F32'], ['float64', 'F64'], ['double', 'F64'], ['float16', 'F16'], ['half', 'F16'],
  ['bfloat16', 'BF16'], ['int64', 'I64'], ['long', 'I64'], ['int32', 'I32'], ['int', 'I32'], ['int16', 'I16'],
  ['short', 'I16'], ['int8', 'I8'], ['uint8', 'U8'], ['bool', 'BOOL'],
];

function rebuildTensor(args: readonly unknown[], ctx: CallContext, fn: string): TorchTensor {
  if (args.length < 4) ctx.fail(`${fn} called with ${args.length} arguments, expected at least 4`);
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof TorchStorage)) return ctx.fail(`${fn}: first argument is not a storage`);
  const sizeArr = intTuple(size, `${fn} size`, ctx);
  const strideArr = intTuple(stride, `${fn} stride`, ctx);
  if (sizeArr.length !== strideArr.length) ctx.fail(`${fn}: size has ${sizeArr.length} dims but stride has ${strideArr.length}`);
  return new TorchTensor(storage, asInt(offset, `${fn} storage offset`, ctx), sizeArr, strideArr, requiresGrad === true);
}

function intTuple(v: unknown, what: string, ctx: CallContext): number[] {
  if (!Array.isArray(v)) return ctx.fail(`${what} is not a tuple`);
  if (v.length > 64) ctx.fail(`${what} has ${v.length} dimensions`);
  return v.map((x) => asInt(x, what, ctx));
}

/** A non-negative safe integer. */
export function asInt(v: unknown, what: string, ctx: CallContext): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) return ctx.fail(`${what} ${v} is out of range`);
    return Number(v);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return ctx.fail(`${what} is not a non-negative integer (got ${describe(v)})`);
}

function buildOrderedDict(args: readonly unknown[], ctx: CallContext): PyDict {
  const d = new PyDict(true);
  if (args.length === 0) return d;
  if (args.length > 1) ctx.fail('OrderedDict called with more than one argument');
  const src = args[0];
  if (src instanceof PyDict) {
    for (const [k, v] of src.map) d.map.set(k, v);
  } else if (Array.isArray(src)) {
    for (const pair of src) {
      if (!Array.isArray(pair) || pair.length !== 2) ctx.fail('OrderedDict argument is not a sequence of pairs');
      d.map.set((pair as unknown[])[0], (pair as unknown[])[1]);
    }
  } else {
    ctx.fail(`OrderedDict argument is ${describe(src)}`);
  }
  return d;
}

function buildAllowList(): Map<string, unknown> {
  const m = new Map<string, unknown>();
  const callable = (q: string, f: (args: readonly unknown[], ctx: CallContext) => unknown) => m.set(q, new PyCallable(q, f));
  callable('collections.OrderedDict', buildOrderedDict);
  callable('torch._utils._rebuild_tensor_v2', (a, c) => rebuildTensor(a, c, '_rebuild_tensor_v2'));
  callable('torch._utils._rebuild_tensor', (a, c) => rebuildTensor(a, c, '_rebuild_tensor'));
  const param = (name: string) => (a: readonly unknown[], c: CallContext) => {
    if (!(a[0] instanceof TorchTensor)) return c.fail(`${name}: first argument is not a tensor`);
    return a[0];
  };
  callable('torch._utils._rebuild_parameter', param('_rebuild_parameter'));
  callable('torch._utils._rebuild_parameter_with_state', param('_rebuild_parameter_with_state'));
  callable('torch.Size', (a, c) => {
    if (a.length === 0) return Object.freeze([]);
    return Object.freeze(intTuple(a[0], 'torch.Size', c));
  });
  // Python 3 pickles bytes at protocol 2 as _codecs.encode(str, 'latin1'): a pure function, modelled here.
  callable('_codecs.encode', (a, c) => {
    const [s, enc] = a;
    if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1')) {
      return c.fail('_codecs.encode is only supported for latin1 strings');
    }
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i);
      if (code > 255) c.fail('_codecs.encode: character outside latin1');
      out[i] = code;
    }
    return out;
  });
  for (const [name, dtype, size] of STORAGE_TYPES) m.set(`torch.${name}`, new TorchStorageType(name, dtype, size));
  m.set('torch.UntypedStorage', new TorchStorageType('UntypedStorage', 'U8', 1));
  m.set('torch.storage.UntypedStorage', new TorchStorageType('UntypedStorage', 'U8', 1));
  for (const [name, dtype] of DTYPE_OBJECTS) m.set(`torch.${name}`, new TorchDtypeObject(name, dtype));
  return m;
}

/** Every global a checkpoint may reference, as `module.name`. */
export const ALLOWED_GLOBALS: ReadonlyMap<string, unknown> = buildAllowList();

// ---------------------------------------------------------------------------------------------------------------
// The unpickler.

export interface UnpickleOptions {
  /** File name for error messages. */
  readonly file?: string;
  /** Resolves persistent ids (BINPERSID / PERSID). Without it, persistent ids are rejected. */
  readonly persistentLoad?: (pid: unknown, ctx: CallContext) => unknown;
  /** Maximum stack depth (default 1e7). */
  readonly maxStack?: number;
  /** Maximum memo entries (default 1e7). */
  readonly maxMemo?: number;
  /** Maximum MARK nesting (default 10000). */
  readonly maxMarks?: number;
}

export interface UnpickleResult {
  readonly value: unknown;
  /** Offset just after the STOP opcode (the next pickle, if any, starts here). */
  readonly end: number;
}

const MAX_LINE = 4096;

/**
 * Unpickles one pickle starting at `start`. Only data opcodes and allow-listed globals are accepted; any other global
 * throws a WeightFileError naming it. Lengths are checked against the buffer, so hostile input cannot force large
 * allocations beyond the file's own size.
 */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions = {}, start = 0): UnpickleResult {
  const file = opts.file ?? '<buffer>';
  const maxStack = opts.maxStack ?? 10_000_000;
  const maxMemo = opts.maxMemo ?? 10_000_000;
  const maxMarks = opts.maxMarks ?? 10_000;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = buf.byteLength;
  let pos = start;
  let opPos = start;
  const fail = (msg: string): never => { throw new WeightFileError(file, `invalid pickle at byte ${opPos}: ${msg}`); };
  const ctx: CallContext = { fail };
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');

  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): number => {
    if (n < 0 || n > end - pos) fail(`truncated (needs ${n} more bytes, ${end - pos} left)`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => buf[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const i32 = () => view.getInt32(need(4), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(end)) fail(`length ${v} exceeds the file`);
    return Number(v);
  };
  const bytes = (n: number) => { const p = need(n); return buf.subarray(p, p + n); };
  const lineBytes = (max = MAX_LINE): Uint8Array => {
    const stop = Math.min(end, pos + max);
    let i = pos;
    while (i < stop && buf[i] !== 0x0a) i++;
    if (i >= stop) fail('unterminated text argument (truncated or too long)');
    const b = buf.subarray(pos, i);
    pos = i + 1;
    return b;
  };
  const line = (): string => utf8.decode(lineBytes());

  const push = (v: unknown) => {
    if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} items`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) return fail('no MARK to pop to');
    stack = prev;
    return items;
  };
  const memoPut = (idx: number) => {
    if (!memo.has(idx) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} entries`);
    memo.set(idx, top());
  };
  const memoGet = (idx: number) => {
    if (!memo.has(idx)) fail(`memo key ${idx} is not defined`);
    push(memo.get(idx));
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const q = `${module}.${name}`;
    const v = ALLOWED_GLOBALS.get(q);
    if (v === undefined) {
      throw new WeightFileError(file, `the checkpoint references a forbidden Python global "${q}"; ` +
        'refsr never executes pickled code and only accepts tensors, OrderedDicts and plain containers');
    }
    return v;
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyCallable)) return fail(`cannot call ${describe(fn)}`);
    if (!Array.isArray(args)) return fail(`arguments to ${fn.qualname} are not a tuple`);
    return fn.call(args, ctx);
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (!(d instanceof PyDict)) fail(`SETITEM on ${describe(d)}`);
    (d as PyDict).map.set(k, v);
  };
  const appendTo = (l: unknown, items: readonly unknown[]) => {
    if (!isList(l)) fail(`APPEND on ${describe(l)}`);
    const list = l as unknown[];
    if (list.length + items.length > maxStack) fail(`list exceeds ${maxStack} items`);
    for (const it of items) list.push(it);
  };
  const persistent = (pid: unknown) => {
    if (!opts.persistentLoad) return fail('persistent id without a persistent loader');
    push(opts.persistentLoad(pid, ctx));
  };
  const tuple = (items: unknown[]) => Object.freeze(items);

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: { // FRAME
        const n = u64();
        if (n > end - pos) fail('frame runs past the end of the data');
        break;
      }
      case 0x2e: // STOP '.'
        if (metastack.length) fail('STOP inside an unclosed MARK');
        return { value: pop(), end: pos };

      // --- constants and numbers
      case 0x4e: push(null); break; // NONE 'N'
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(i32()); break; // BININT 'J'
      case 0x4b: push(u8()); break; // BININT1 'K'
      case 0x4d: push(u16()); break; // BININT2 'M'
      case 0x8a: push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        push(decodeLong(bytes(n)));
        break;
      }
      case 0x49: { // INT 'I' (text)
        const s = line().trim();
        if (s === '01') push(true);
        else if (s === '00') push(false);
        else push(parseIntText(s, fail));
        break;
      }
      case 0x4c: push(parseIntText(line().trim().replace(/L$/, ''), fail)); break; // LONG 'L' (text)
      case 0x46: { // FLOAT 'F' (text)
        const s = line().trim();
        const special = /^([-+]?)(inf|infinity|nan)$/i.exec(s);
        const v = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(s);
        if (Number.isNaN(v) && !special) fail(`bad FLOAT literal "${s.slice(0, 40)}"`);
        push(v);
        break;
      }
      case 0x47: push(view.getFloat64(need(8), false)); break; // BINFLOAT 'G' (big-endian)

      // --- strings and bytes
      case 0x58: push(utf8.decode(bytes(u32()))); break; // BINUNICODE 'X'
      case 0x8c: push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x56: push(decodeRawUnicodeEscape(latin1.decode(lineBytes(end - pos)))); break; // UNICODE 'V' (raw-unicode-escape)
      case 0x54: { // BINSTRING 'T' (Python 2 str; torch.load decodes these as utf-8)
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        push(utf8.decode(bytes(n)));
        break;
      }
      case 0x55: push(utf8.decode(bytes(u8()))); break; // SHORT_BINSTRING 'U'
      case 0x53: push(decodeQuotedString(latin1.decode(lineBytes(end - pos)), fail)); break; // STRING 'S' (text repr)
      case 0x42: push(bytes(u32()).slice()); break; // BINBYTES 'B'
      case 0x43: push(bytes(u8()).slice()); break; // SHORT_BINBYTES 'C'
      case 0x8e: push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: push(bytes(u64()).slice()); break; // BYTEARRAY8

      // --- containers
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE ')'
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(tuple([a, b, c])); break; } // TUPLE3
      case 0x74: push(tuple(popMark())); break; // TUPLE 't'
      case 0x5d: push([]); break; // EMPTY_LIST ']'
      case 0x6c: push(popMark()); break; // LIST 'l'
      case 0x61: { const v = pop(); appendTo(top(), [v]); break; } // APPEND 'a'
      case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS 'e'
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT '}'
      case 0x64: { // DICT 'd'
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) d.map.set(items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM 's'
      case 0x75: { // SETITEMS 'u'
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x8f: push(new PySet()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet) || s.frozen) fail(`ADDITEMS on ${describe(s)}`);
        (s as PySet).items.push(...items);
        break;
      }
      case 0x91: { // FROZENSET
        const s = new PySet(true);
        s.items.push(...popMark());
        push(s);
        break;
      }

      // --- stack manipulation
      case 0x28: // MARK '('
        if (metastack.length >= maxMarks) fail(`MARK nesting exceeds ${maxMarks}`);
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: if (stack.length) stack.pop(); else popMark(); break; // POP '0'
      case 0x31: popMark(); break; // POP_MARK '1'
      case 0x32: push(top()); break; // DUP '2'

      // --- memo
      case 0x71: memoPut(u8()); break; // BINPUT 'q'
      case 0x72: memoPut(u32()); break; // LONG_BINPUT 'r'
      case 0x70: memoPut(parseIndex(line(), fail)); break; // PUT 'p'
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET 'h'
      case 0x6a: memoGet(u32()); break; // LONG_BINGET 'j'
      case 0x67: memoGet(parseIndex(line(), fail)); break; // GET 'g'

      // --- globals and object construction (allow-listed, modelled in TypeScript)
      case 0x63: { const module = line(); const name = line(); push(resolveGlobal(module, name)); break; } // GLOBAL 'c'
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL arguments are not strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x69: { // INST 'i'
        const module = line();
        const name = line();
        const cls = resolveGlobal(module, name);
        push(call(cls, tuple(popMark())));
        break;
      }
      case 0x6f: { // OBJ 'o'
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        push(call(items[0], tuple(items.slice(1))));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); push(call(fn, args)); break; } // REDUCE 'R'
      case 0x81: { const args = pop(); const cls = pop(); push(call(cls, args)); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.map.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        push(call(cls, args));
        break;
      }
      case 0x62: { // BUILD 'b': set state as data; never calls __setstate__.
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.state = state;
        else if (!(obj instanceof TorchTensor)) fail(`BUILD on ${describe(obj)}`);
        break;
      }
      case 0x51: persistent(pop()); break; // BINPERSID 'Q'
      case 0x50: persistent(line()); break; // PERSID 'P'

      case 0x82: case 0x83: case 0x84: // EXT1 / EXT2 / EXT4
        throw new WeightFileError(file, 'the checkpoint uses the copyreg extension registry (EXT opcodes), which could ' +
          'name arbitrary Python globals; refsr never executes pickled code');
      case 0x97: case 0x98: // NEXT_BUFFER / READONLY_BUFFER
        return fail('out-of-band pickle buffers are not supported');
      default:
        fail(`unknown or unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

/** Little-endian two's complement integer (LONG1 / LONG4 payload). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(s: string, fail: (m: string) => never): number | bigint {
  if (!/^[-+]?\d+$/.test(s)) fail(`bad integer literal "${s.slice(0, 40)}"`);
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIndex(s: string, fail: (m: string) => never): number {
  const v = parseIntText(s.trim(), fail);
  if (typeof v !== 'number' || v < 0) return fail(`bad memo index "${s.slice(0, 40)}"`);
  return v;
}

function decodeRawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => {
    const cp = parseInt((a ?? b)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}

/** A protocol-0 STRING argument: a quoted Python literal with backslash escapes. */
function decodeQuotedString(s: string, fail: (m: string) => never): string {
  const q = s[0];
  if (s.length < 2 || (q !== '"' && q !== "'") || s[s.length - 1] !== q) fail('STRING argument is not quoted');
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : simple[e] ?? `\\${e}`));
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof PySet) return 'a set';
  if (v instanceof PyCallable) return v.qualname;
  if (v instanceof TorchTensor) return 'a tensor';
  if (v instanceof TorchStorage) return 'a storage';
  if (v instanceof TorchStorageType) return `torch.${v.name}`;
  if (v instanceof TorchDtypeObject) return `torch.${v.name}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (isTuple(v)) return 'a tuple';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string "${v.slice(0, 40)}"`;
  return `${typeof v} ${String(v)}`;
}
