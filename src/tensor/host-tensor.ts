// Owns the plain in-memory tensor type shared by every module (row-major, C order) and its small helpers.

export type DType = 'F32' | 'I64' | 'U8' | 'BF16' | 'F16' | 'F64' | 'I32' | 'I8' | 'I16' | 'BOOL';

/** A float32 tensor in row-major order. Every network input and output is one of these. */
export interface Float32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function float32Tensor(shape: readonly number[], data?: Float32Array): Float32Tensor {
  const n = numel(shape);
  if (data && data.length !== n) throw new Error(`tensor data has ${data.length} elements, shape [${shape.join(',')}] needs ${n}`);
  return { shape: [...shape], data: data ?? new Float32Array(n) };
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
