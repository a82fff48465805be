// Owns a correct `MaxPoolGrad` for the tfjs wasm backend, replacing the shipped one (4.22), which routes gradients
// to the wrong elements when there is more than one channel. Supports non-overlapping windows (filter = stride,
// 'valid' padding: the only pooling the networks use, MaxPool2d(2, 2)). The gradient goes to the first maximum of
// each window in row-major window order, as tfjs's cpu kernel and torch do; rows/columns cut off by the floor
// division get 0.

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor } from './kernel-tensor.ts';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: string;
}

const pair = (v: [number, number] | number): [number, number] => (Array.isArray(v) ? v : [v, v]);

export function maxPoolGradFromOps(dy: tf.Tensor4D, input: tf.Tensor4D, output: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const [fh, fw] = pair(attrs.filterSize);
  const [sh, sw] = pair(attrs.strides);
  if (fh !== sh || fw !== sw || !(attrs.pad === 'valid' || attrs.pad === 0)) {
    throw new Error(`MaxPoolGrad (wasm, refsr): only non-overlapping 'valid' pooling is supported, got filter ${fh}x${fw} stride ${sh}x${sw} pad ${attrs.pad}`);
  }
  return tf.tidy(() => {
    const [n, h, w, c] = input.shape;
    const [, oh, ow] = output.shape;
    const taken = tf.slice(input, [0, 0, 0, 0], [n, oh * fh, ow * fw, c]);
    // [N*oh, fh, ow, fw, C] -> [N*oh, ow, C, fh, fw] -> windows [fh*fw] of [N*oh, ow, C].
    const win = tf.reshape(tf.transpose(tf.reshape(taken, [n * oh, fh, ow, fw, c]), [0, 2, 4, 1, 3]), [n * oh, ow, c, fh * fw]);
    const y = tf.reshape(output, [n * oh, ow, c, 1]);
    const isMax = tf.cast(tf.equal(win, y), 'float32');
    // First maximum only: keep a position when no earlier position in the window was a maximum.
    const earlier = tf.sub(tf.cumsum(isMax, 3), isMax);
    const first = tf.mul(isMax, tf.cast(tf.equal(earlier, 0), 'float32'));
    const g = tf.mul(first, tf.reshape(dy, [n * oh, ow, c, 1]));
    const back = tf.reshape(tf.transpose(tf.reshape(g, [n * oh, ow, c, fh, fw]), [0, 3, 1, 4, 2]), [n, oh * fh, ow * fw, c]);
    return tf.pad(back, [[0, 0], [0, h - oh * fh], [0, w - ow * fw], [0, 0]]) as tf.Tensor4D;
  });
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo =>
    maxPoolGradFromOps(asTensor(inputs.dy!) as tf.Tensor4D, asTensor(inputs.input!) as tf.Tensor4D, asTensor(inputs.output!) as tf.Tensor4D, attrs as unknown as Attrs),
};
