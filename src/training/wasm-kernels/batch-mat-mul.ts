// Owns the replacement of the wasm backend's `BatchMatMul` for transposed operands: tfjs-backend-wasm's matmul is
// ~10x slower with transposeA/transposeB (measured: 972x64 . (1600x64)^T 137 ms vs 14 ms with an explicit
// transpose), and every matmul gradient uses those flags. A transposed operand is transposed explicitly, then the
// original kernel runs on the fast untransposed path; untransposed calls go straight to it.

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor } from './kernel-tensor.ts';

function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(x, perm);
}

export function batchMatMulConfig(original: KernelConfig): KernelConfig {
  const fast = original.kernelFunc as KernelFunc;
  return {
    kernelName: original.kernelName,
    backendName: original.backendName,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap; backend: unknown }): TensorInfo | TensorInfo[] => {
      const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
      if (!transposeA && !transposeB) return fast(args as Parameters<KernelFunc>[0]);
      const a = asTensor(args.inputs.a!);
      const b = asTensor(args.inputs.b!);
      return tf.tidy(() => tf.matMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b));
    },
  };
}
