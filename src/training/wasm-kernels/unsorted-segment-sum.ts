// Owns the `UnsortedSegmentSum` kernel for the tfjs wasm backend (which ships none; `tf.gather` needs it for its
// gradient): out[s] = sum of x[i] over i with segmentIds[i] == s, as a ScatterNd (which sums duplicate indices).
// Negative ids are dropped, as in TensorFlow.

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { asTensor } from './kernel-tensor.ts';

export function unsortedSegmentSumFromOps(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  return tf.tidy(() => {
    const ids = tf.reshape(tf.cast(segmentIds, 'int32'), [-1]);
    const n = ids.shape[0]!;
    const inner = x.shape.slice(segmentIds.rank);
    const updates = tf.reshape(x, [n, ...inner]);
    const keep = tf.greaterEqual(ids, tf.scalar(0, 'int32'));
    const safeIds = tf.maximum(ids, tf.scalar(0, 'int32'));
    const kept = tf.mul(updates, tf.reshape(tf.cast(keep, updates.dtype), [n, ...inner.map(() => 1)]));
    return tf.scatterND(tf.reshape(safeIds, [n, 1]), kept, [numSegments, ...inner]);
  });
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): TensorInfo =>
    unsortedSegmentSumFromOps(asTensor(inputs.x!), asTensor(inputs.segmentIds!), (attrs as { numSegments: number }).numSegments),
};
