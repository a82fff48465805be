// Owns protobuf wire encoding for the ONNX model file: just the field kinds onnx.proto uses (varint, fixed32,
// length-delimited), built as chunk lists so multi-megabyte weight blobs are never copied into JS arrays.

export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  get byteLength(): number { return this.size; }

  private push(b: Uint8Array): void { this.chunks.push(b); this.size += b.byteLength; }

  private key(field: number, wire: number): void { this.push(varint(BigInt(field * 8 + wire))); }

  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.push(varint(BigInt.asUintN(64, BigInt(v))));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.push(varint(BigInt(b.byteLength)));
    this.push(b);
    return this;
  }

  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }

  message(field: number, m: ProtoMessage): this {
    this.key(field, 2);
    this.push(varint(BigInt(m.size)));
    for (const c of m.chunks) this.push(c);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) { out.set(c, pos); pos += c.byteLength; }
    return out;
  }
}

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) byte |= 0x80;
    out.push(byte);
  } while (x > 0n);
  return Uint8Array.from(out);
}
