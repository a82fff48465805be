// Owns a correct `ResizeBilinearGrad` for the tfjs wasm and cpu backends, replacing the shipped ones (4.22), whose
// gradients disagree with finite differences (and come back with height and width swapped for non-square inputs). Bilinear resizing is separable,
// out = Ry . x . Rx^T per image and channel, so the gradient is dx = Ry^T . dy . Rx: two batched matmuls with the
// dense interpolation matrices, built with exactly the source-position rule of tfjs's forward kernel
// (align_corners / half_pixel_centers).

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor } from './kernel-tensor.ts';

/** The [outSize, inSize] matrix of 1-D bilinear resizing as tfjs computes it. */
export function bilinearMatrix(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const aligned = alignCorners && outSize > 1;
  const ratio = (aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize);
  for (let o = 0; o < outSize; o++) {
    const src = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
    const lo = Math.max(0, Math.floor(src));
    const hi = Math.min(inSize - 1, Math.ceil(src));
    const frac = src - lo;
    m[o * inSize + lo] += 1 - frac;
    m[o * inSize + hi] += frac;
  }
  return m;
}

export function resizeBilinearGradFromOps(images: tf.Tensor4D, dy: tf.Tensor4D, alignCorners: boolean, halfPixelCenters: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, inH, inW, c] = images.shape;
    const [, outH, outW] = dy.shape;
    const ryT = tf.transpose(tf.tensor2d(bilinearMatrix(inH, outH, alignCorners, halfPixelCenters), [outH, inH]));
    const rxT = tf.transpose(tf.tensor2d(bilinearMatrix(inW, outW, alignCorners, halfPixelCenters), [outW, inW]));
    // Rows: [inH, outH] x [N, outH, outW*C] -> [N, inH, outW*C].
    const rows = tf.matMul(tf.reshape(ryT, [1, inH, outH]), tf.reshape(dy, [n, outH, outW * c]));
    // Columns: [inW, outW] x [N*inH, outW, C] -> [N*inH, inW, C].
    const cols = tf.matMul(tf.reshape(rxT, [1, inW, outW]), tf.reshape(rows, [n * inH, outW, c]));
    return tf.reshape(cols, [n, inH, inW, c]);
  });
}

function kernelFunc({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo {
  const a = attrs as { alignCorners: boolean; halfPixelCenters: boolean };
  return resizeBilinearGradFromOps(asTensor(inputs.images!) as tf.Tensor4D, asTensor(inputs.dy!) as tf.Tensor4D, a.alignCorners, a.halfPixelCenters);
}

export const resizeBilinearGradConfig: KernelConfig = { kernelName: 'ResizeBilinearGrad', backendName: 'wasm', kernelFunc };
export const resizeBilinearGradCpuConfig: KernelConfig = { kernelName: 'ResizeBilinearGrad', backendName: 'cpu', kernelFunc };
