// Owns the bridge from a kernel's TensorInfo inputs to tf.Tensor objects, for wasm kernels written with tfjs ops.
// Inputs reaching a kernel through the engine are Tensors already; a bare TensorInfo is wrapped without copying.

import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

export function asTensor(t: TensorInfo): tf.Tensor {
  return t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t);
}
