// Owns the bridge from a kernel's TensorInfo inputs to tf.Tensor objects, for wasm kernels written with tfjs ops,
// and the attributes the two convolution-gradient kernels share.
// Inputs reaching a kernel through the engine are Tensors already; a bare TensorInfo is wrapped without copying.

import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

export function asTensor(t: TensorInfo): tf.Tensor {
  return t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t);
}

/** Attributes of Conv2DBackpropFilter / Conv2DBackpropInput common to both. */
export interface ConvBackpropAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
