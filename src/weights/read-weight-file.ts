// Owns opening a weight file of any supported container, detected from its bytes (not its name): safetensors,
// PyTorch .pth (zip or legacy pickle, read by the safe reader that never executes code) and the MatConvNet VGG
// export (a .json index next to a raw float32 .bin).

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toFloat32, WeightFileError, type StoredTensor } from './safetensors.ts';
import { parseWeights } from './pth.ts';
import { WeightMap } from './weight-map.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';

export interface TensorFile {
  readonly tensors: Map<string, Float32Tensor>;
  readonly metadata: Record<string, string>;
}

async function readStored(path: string): Promise<{ tensors: Map<string, StoredTensor | Float32Tensor>; metadata: Record<string, string> }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new WeightFileError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.length === 0) throw new WeightFileError(path, 'file is empty');
  if (bytes[0] === 0x7b) return { tensors: await readMatconvnetExport(path, bytes), metadata: { 'refsr.vgg_input': 'caffe' } };
  const f = parseWeights(bytes, path);
  return { tensors: f.tensors, metadata: f.metadata };
}

/** The ../shared/data/vgg19-conv3_1 layout: JSON index {tensors: [{name, shape, offset, nbytes}]} + sibling .bin. */
async function readMatconvnetExport(path: string, bytes: Uint8Array): Promise<Map<string, Float32Tensor>> {
  let index: { tensors?: { name: string; shape: number[]; offset: number; nbytes: number }[] };
  try {
    index = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new WeightFileError(path, 'not a weight file (looks like JSON but does not parse)');
  }
  if (!Array.isArray(index.tensors)) throw new WeightFileError(path, 'JSON weight index has no "tensors" list');
  const binPath = join(dirname(path), path.replace(/^.*\//, '').replace(/\.json$/, '.f32.bin'));
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch {
    throw new WeightFileError(path, `its data file ${binPath} cannot be read`);
  }
  const out = new Map<string, Float32Tensor>();
  for (const t of index.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.nbytes !== 4 * n || t.offset < 0 || t.offset + t.nbytes > bin.byteLength) throw new WeightFileError(path, `tensor ${t.name} lies outside ${binPath}`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bin.subarray(t.offset, t.offset + t.nbytes));
    out.set(t.name, { shape: t.shape, data });
  }
  return out;
}

/** All tensors of a weight file as float32 (for conversion). */
export async function readTensorFile(path: string): Promise<TensorFile> {
  const f = await readStored(path);
  const tensors = new Map<string, Float32Tensor>();
  for (const [k, v] of f.tensors) tensors.set(k, 'dtype' in v ? toFloat32(v, k) : v);
  return { tensors, metadata: f.metadata };
}

/** A weight file as a lazily decoded WeightMap (for running a model). */
export async function readWeightFile(path: string): Promise<WeightMap> {
  const f = await readStored(path);
  return new WeightMap(f.tensors, f.metadata);
}
