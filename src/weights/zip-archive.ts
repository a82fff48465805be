// Owns reading ZIP containers (PyTorch's zip checkpoint format) from an in-memory buffer. Only what torch.save
// writes is needed: the end-of-central-directory record (with its ZIP64 variant), central directory entries, local
// headers, and entries that are stored (method 0) or deflated (method 8). Every offset and length read from the file
// is bounds-checked before use, so a hostile archive yields a WeightFileError instead of a crash or a huge allocation.

import { crc32 as zlibCrc32, inflateRawSync } from 'node:zlib';
import { WeightFileError } from './safetensors.ts';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand data by more than ~1032:1; a larger declared size is a lie (or a zip bomb). */
const MAX_DEFLATE_RATIO = 1032;
/** Largest single entry we are willing to inflate into memory. */
const MAX_INFLATED_BYTES = 2 ** 31 - 1;

/** True when the buffer starts like a ZIP archive (a local file header, or the end record of an empty archive). */
export function looksLikeZip(buf: Uint8Array): boolean {
  return buf.byteLength >= 4 && buf[0] === 0x50 && buf[1] === 0x4b &&
    ((buf[2] === 0x03 && buf[3] === 0x04) || (buf[2] === 0x05 && buf[3] === 0x06));
}

/** CRC-32 (IEEE) as used by ZIP. */
export function crc32(data: Uint8Array): number {
  if (typeof zlibCrc32 === 'function') return zlibCrc32(data) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export interface ZipReadOptions {
  /** Verify each entry's CRC-32 when it is read (default true). */
  readonly verifyCrc?: boolean;
}

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly view: DataView;
  private readonly verifyCrc: boolean;

  private constructor(private readonly buf: Uint8Array, readonly file: string, entries: Map<string, ZipEntry>, opts: ZipReadOptions) {
    this.entries = entries;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.verifyCrc = opts.verifyCrc ?? true;
  }

  /** Parses the central directory. Throws WeightFileError (naming `file`) on any malformed structure. */
  static parse(buf: Uint8Array, file = '<buffer>', opts: ZipReadOptions = {}): ZipArchive {
    const fail = (msg: string): never => { throw new WeightFileError(file, `malformed zip archive: ${msg}`); };
    const len = buf.byteLength;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (len < EOCD_SIZE) fail(`file is too short (${len} bytes) to hold an end-of-central-directory record (truncated?)`);

    // 1. End of central directory: scan backwards over a possible comment.
    let eocd = -1;
    const scanStop = Math.max(0, len - EOCD_SIZE - MAX_COMMENT);
    for (let p = len - EOCD_SIZE; p >= scanStop; p--) {
      if (buf[p] === 0x50 && buf[p + 1] === 0x4b && view.getUint32(p, true) === SIG_EOCD &&
          p + EOCD_SIZE + view.getUint16(p + 20, true) === len) { eocd = p; break; }
    }
    if (eocd < 0) {
      // Accept a trailing comment whose declared length does not match exactly only as a last resort.
      for (let p = len - EOCD_SIZE; p >= scanStop; p--) {
        if (view.getUint32(p, true) === SIG_EOCD) { eocd = p; break; }
      }
    }
    if (eocd < 0) fail('no end-of-central-directory record (truncated or not a zip file)');

    const diskNo = view.getUint16(eocd + 4, true);
    const cdDisk = view.getUint16(eocd + 6, true);
    let count: number = view.getUint16(eocd + 10, true);
    let cdSize: number = view.getUint32(eocd + 12, true);
    let cdOffset: number = view.getUint32(eocd + 16, true);
    if (diskNo !== 0 && diskNo !== 0xffff) fail('multi-disk archives are not supported');
    if (cdDisk !== 0 && cdDisk !== 0xffff) fail('multi-disk archives are not supported');

    // 2. ZIP64: a locator just before the EOCD points at the ZIP64 end record with 64-bit counts and offsets.
    const loc = eocd - 20;
    if (loc >= 0 && view.getUint32(loc, true) === SIG_ZIP64_LOCATOR) {
      const z64 = toSafe(view.getBigUint64(loc + 8, true), 'ZIP64 end record offset', fail);
      if (view.getUint32(loc + 16, true) > 1) fail('multi-disk ZIP64 archives are not supported');
      if (z64 + 56 > loc) fail(`ZIP64 end record offset ${z64} lies outside the file`);
      if (view.getUint32(z64, true) !== SIG_ZIP64_EOCD) fail(`no ZIP64 end record at offset ${z64}`);
      count = toSafe(view.getBigUint64(z64 + 32, true), 'ZIP64 entry count', fail);
      cdSize = toSafe(view.getBigUint64(z64 + 40, true), 'ZIP64 central directory size', fail);
      cdOffset = toSafe(view.getBigUint64(z64 + 48, true), 'ZIP64 central directory offset', fail);
    } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      fail('ZIP64 markers present but the ZIP64 locator is missing');
    }
    if (cdOffset > len || cdSize > len - cdOffset || cdOffset + cdSize > eocd) {
      fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file (truncated?)`);
    }
    if (count > cdSize / CENTRAL_SIZE) fail(`entry count ${count} cannot fit in a ${cdSize}-byte central directory`);

    // 3. Central directory entries.
    const entries = new Map<string, ZipEntry>();
    const utf8 = new TextDecoder('utf-8', { fatal: false });
    const cdEnd = cdOffset + cdSize;
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + CENTRAL_SIZE > cdEnd) fail(`central directory entry ${i} runs past the directory end`);
      if (view.getUint32(p, true) !== SIG_CENTRAL) fail(`bad central directory signature for entry ${i} at offset ${p}`);
      const flags = view.getUint16(p + 8, true);
      const method = view.getUint16(p + 10, true);
      const crc = view.getUint32(p + 16, true);
      let compressedSize: number = view.getUint32(p + 20, true);
      let size: number = view.getUint32(p + 24, true);
      const nameLen = view.getUint16(p + 28, true);
      const extraLen = view.getUint16(p + 30, true);
      const commentLen = view.getUint16(p + 32, true);
      let diskStart: number = view.getUint16(p + 34, true);
      let localHeaderOffset: number = view.getUint32(p + 42, true);
      const nameStart = p + CENTRAL_SIZE;
      const extraStart = nameStart + nameLen;
      const next = extraStart + extraLen + commentLen;
      if (next > cdEnd) fail(`central directory entry ${i} runs past the directory end`);
      const name = utf8.decode(buf.subarray(nameStart, nameStart + nameLen));
      if (flags & 0x1) fail(`entry "${name}" is encrypted`);

      // ZIP64 extended information: 64-bit values, present only for fields saturated in the fixed header.
      if (size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff || diskStart === 0xffff) {
        let q = extraStart;
        const extraEnd = extraStart + extraLen;
        let found = false;
        while (q + 4 <= extraEnd) {
          const id = view.getUint16(q, true);
          const sz = view.getUint16(q + 2, true);
          const body = q + 4;
          if (body + sz > extraEnd) fail(`entry "${name}" has a truncated extra field`);
          if (id === 0x0001) {
            found = true;
            let r = body;
            const take = (what: string): number => {
              if (r + 8 > body + sz) fail(`entry "${name}" has a short ZIP64 extra field (missing ${what})`);
              const v = toSafe(view.getBigUint64(r, true), `entry "${name}" ${what}`, fail);
              r += 8;
              return v;
            };
            if (size === 0xffffffff) size = take('size');
            if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
            if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');
            if (diskStart === 0xffff) {
              if (r + 4 > body + sz) fail(`entry "${name}" has a short ZIP64 extra field (missing disk number)`);
              diskStart = view.getUint32(r, true);
            }
            break;
          }
          q = body + sz;
        }
        if (!found) fail(`entry "${name}" has saturated sizes but no ZIP64 extra field`);
      }
      if (diskStart !== 0) fail(`entry "${name}" starts on disk ${diskStart}; multi-disk archives are not supported`);
      if (method !== 0 && method !== 8) fail(`entry "${name}" uses unsupported compression method ${method}`);
      if (method === 0 && compressedSize !== size) fail(`stored entry "${name}" has compressed size ${compressedSize} != size ${size}`);
      if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024) {
        fail(`deflated entry "${name}" claims ${size} bytes from ${compressedSize} compressed bytes (impossible ratio)`);
      }
      if (localHeaderOffset > len - LOCAL_SIZE) fail(`entry "${name}" local header offset ${localHeaderOffset} lies beyond the file`);
      if (compressedSize > len) fail(`entry "${name}" compressed size ${compressedSize} exceeds the file size`);
      if (entries.has(name)) fail(`duplicate entry name "${name}"`);
      entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
      p = next;
    }
    return new ZipArchive(buf, file, entries, opts);
  }

  names(): string[] { return [...this.entries.keys()]; }
  has(name: string): boolean { return this.entries.has(name); }

  /** The entry's bytes (a view into the archive buffer for stored entries). */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new WeightFileError(this.file, `zip archive has no entry "${name}"`);
    return this.readEntry(e);
  }

  readEntry(e: ZipEntry): Uint8Array {
    const fail = (msg: string): never => { throw new WeightFileError(this.file, `malformed zip archive: entry "${e.name}": ${msg}`); };
    const len = this.buf.byteLength;
    const h = e.localHeaderOffset;
    if (h + LOCAL_SIZE > len) fail(`local header at ${h} lies beyond the file (truncated?)`);
    if (this.view.getUint32(h, true) !== SIG_LOCAL) fail(`bad local header signature at offset ${h}`);
    const nameLen = this.view.getUint16(h + 26, true);
    const extraLen = this.view.getUint16(h + 28, true);
    const start = h + LOCAL_SIZE + nameLen + extraLen;
    if (start > len || e.compressedSize > len - start) {
      fail(`data (offset ${start}, ${e.compressedSize} bytes) lies beyond the end of the file (truncated?)`);
    }
    const raw = this.buf.subarray(start, start + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) {
      out = raw;
    } else {
      if (e.size > MAX_INFLATED_BYTES) fail(`inflated size ${e.size} is too large`);
      let inflated: Buffer;
      try {
        inflated = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        return fail(`deflate data is corrupt or larger than declared (${(err as Error).message})`);
      }
      if (inflated.byteLength !== e.size) fail(`inflated to ${inflated.byteLength} bytes, expected ${e.size}`);
      out = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
    }
    if (this.verifyCrc && crc32(out) !== e.crc32) fail('CRC-32 mismatch (corrupt or tampered data)');
    return out;
  }
}

function toSafe(v: bigint, what: string, fail: (msg: string) => never): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is out of range`);
  return Number(v);
}
