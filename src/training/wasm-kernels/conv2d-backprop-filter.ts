// Owns the `Conv2DBackpropFilter` kernel for the tfjs wasm backend (which ships none): the filter gradient of a 2-D
// convolution as one small matmul per kernel tap, dW[i, j] = patch(x, i, j)^T . dy, where patch(x, i, j) is the
// (strided) window of the padded input that tap (i, j) saw. The input is transposed once to channels-first, so each
// patch^T is a plain slice and every matmul takes the fast untransposed path (wasm's transposeA matmul is ~6x
// slower). Built from existing wasm kernels (pad, transpose, slice, strided slice, matmul).

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor, type ConvBackpropAttrs } from './kernel-tensor.ts';

interface Attrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** dW [fh, fw, inC, outC] of conv2d(x, W) given dy; x and dy in `dataFormat`. */
export function conv2dBackpropFilterFromOps(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const nhwc = attrs.dataFormat !== 'NCHW';
    const xs = nhwc ? x : tf.transpose(x, [0, 2, 3, 1]);
    const dys = nhwc ? dy : tf.transpose(dy, [0, 2, 3, 1]);
    const info = tf.backend_util.computeConv2DInfo(xs.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const { padInfo, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth, inChannels, outChannels, batchSize } = info;
    const needH = (outHeight - 1) * strideHeight + filterHeight;
    const needW = (outWidth - 1) * strideWidth + filterWidth;
    // Pad (or crop) so that the padded input is exactly as large as the taps read.
    const padBottom = needH - xs.shape[1] - padInfo.top;
    const padRight = needW - xs.shape[2] - padInfo.left;
    let xp: tf.Tensor4D = tf.pad(xs, [[0, 0], [padInfo.top, Math.max(0, padBottom)], [padInfo.left, Math.max(0, padRight)], [0, 0]]);
    if (padBottom < 0 || padRight < 0) xp = tf.slice(xp, [0, 0, 0, 0], [batchSize, needH, needW, inChannels]);
    const rows = batchSize * outHeight * outWidth;
    const dy2 = tf.reshape(dys, [rows, outChannels]);
    const spanH = (outHeight - 1) * strideHeight + 1;
    const spanW = (outWidth - 1) * strideWidth + 1;
    const xT = tf.transpose(xp, [3, 0, 1, 2]); // [inC, N, Hp, Wp]
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < filterHeight; i++) {
      for (let j = 0; j < filterWidth; j++) {
        let patch: tf.Tensor4D = tf.slice(xT, [0, 0, i, j], [inChannels, batchSize, spanH, spanW]);
        if (strideHeight > 1 || strideWidth > 1) {
          patch = tf.stridedSlice(patch, [0, 0, 0, 0], [inChannels, batchSize, spanH, spanW], [1, 1, strideHeight, strideWidth]) as tf.Tensor4D;
        }
        taps.push(tf.matMul(tf.reshape(patch, [inChannels, rows]), dy2));
      }
    }
    return tf.reshape(tf.stack(taps), [filterHeight, filterWidth, inChannels, outChannels]);
  });
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo =>
    conv2dBackpropFilterFromOps(asTensor(inputs.x!) as tf.Tensor4D, asTensor(inputs.dy!) as tf.Tensor4D, attrs as unknown as Attrs),
};
