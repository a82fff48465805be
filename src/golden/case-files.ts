// Owns access to one golden case folder: its case.json description and the tensors it names, decoded to numbers.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, toFloat32, toIntArray, type SafetensorsFile, type StoredTensor } from '../weights/safetensors.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import type { Tolerance } from './tolerance.ts';

export interface TensorEntry {
  name: string;
  file: string;
  shape: number[];
  dtype: string;
  tolerance: Tolerance;
  [k: string]: unknown;
}

export interface ScalarEntry {
  value: number;
  tolerance: Tolerance;
  [k: string]: unknown;
}

export interface CaseJson {
  case: string;
  tensors: TensorEntry[];
  scalars?: Record<string, ScalarEntry>;
  [k: string]: unknown;
}

export class GoldenCase {
  private readonly files = new Map<string, SafetensorsFile>();
  private constructor(readonly dir: string, readonly json: CaseJson) {}

  static async open(dir: string): Promise<GoldenCase> {
    const json = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8')) as CaseJson;
    if (!Array.isArray(json.tensors)) json.tensors = [];
    return new GoldenCase(dir, json);
  }

  get name(): string { return this.json.case; }

  entry(name: string): TensorEntry {
    const e = this.json.tensors.find((t) => t.name === name);
    if (!e) throw new Error(`golden case ${this.name}: no tensor "${name}" in case.json`);
    return e;
  }

  has(name: string): boolean { return this.json.tensors.some((t) => t.name === name); }

  /** Tensor names matching a pattern such as /^hr_(\d+)$/, in case.json order. */
  names(pattern: RegExp): string[] { return this.json.tensors.map((t) => t.name).filter((n) => pattern.test(n)); }

  async file(name: string): Promise<SafetensorsFile> {
    let f = this.files.get(name);
    if (!f) {
      f = await readSafetensors(join(this.dir, name));
      this.files.set(name, f);
    }
    return f;
  }

  async stored(name: string, fileName?: string): Promise<StoredTensor> {
    const file = fileName ?? this.entry(name).file;
    const t = (await this.file(file)).tensors.get(name);
    if (!t) throw new Error(`golden case ${this.name}: tensor "${name}" missing from ${file}`);
    return t;
  }

  async f32(name: string, fileName?: string): Promise<Float32Tensor> { return toFloat32(await this.stored(name, fileName), name); }

  async u8(name: string, fileName?: string): Promise<{ shape: number[]; data: Uint8Array }> {
    const t = await this.stored(name, fileName);
    if (t.dtype !== 'U8') throw new Error(`golden case ${this.name}: tensor "${name}" is ${t.dtype}, expected U8`);
    return { shape: [...t.shape], data: new Uint8Array(t.bytes) };
  }

  async ints(name: string, fileName?: string): Promise<number[]> { return toIntArray(await this.stored(name, fileName)); }

  scalar(name: string): ScalarEntry {
    const s = this.json.scalars?.[name];
    if (!s) throw new Error(`golden case ${this.name}: no scalar "${name}"`);
    return s;
  }

  scalarNames(pattern: RegExp): string[] { return Object.keys(this.json.scalars ?? {}).filter((n) => pattern.test(n)); }
}
