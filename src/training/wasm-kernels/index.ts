// Owns the list of kernels refsr adds to (or fixes in) the tfjs wasm backend for training (and the one cpu-backend
// fix), and their registration.

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';
import { resizeBilinearGradConfig, resizeBilinearGradCpuConfig } from './resize-bilinear-grad.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.ts';
import { batchMatMulConfig } from './batch-mat-mul.ts';

/** Kernels the wasm backend lacks: registered only when absent. */
export const WASM_MISSING_KERNELS: readonly KernelConfig[] = [conv2dBackpropFilterConfig, unsortedSegmentSumConfig];
/** Kernels tfjs ships broken (or far too slow): always replaced. */
export const WASM_REPLACED_KERNELS: readonly KernelConfig[] = [resizeBilinearGradConfig, resizeBilinearGradCpuConfig, maxPoolGradConfig, conv2dBackpropInputConfig];

let replaced = false;

/** Registers the missing kernels and replaces the broken ones; returns the names registered. */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const k of WASM_MISSING_KERNELS) {
    if (tf.getKernel(k.kernelName, k.backendName) !== undefined) continue;
    tf.registerKernel(k);
    added.push(k.kernelName);
  }
  if (!replaced) {
    for (const k of WASM_REPLACED_KERNELS) {
      if (tf.getKernel(k.kernelName, k.backendName) !== undefined) tf.unregisterKernel(k.kernelName, k.backendName);
      tf.registerKernel(k);
      added.push(k.kernelName);
    }
    const matMul = tf.getKernel('BatchMatMul', 'wasm');
    if (matMul) {
      tf.unregisterKernel('BatchMatMul', 'wasm');
      tf.registerKernel(batchMatMulConfig(matMul));
      added.push('BatchMatMul');
    }
    replaced = true;
  }
  return added;
}
