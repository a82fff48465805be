// Owns the list of kernels refsr adds to the tfjs wasm backend for training, and their registration (skipped for a
// kernel the installed backend already provides).

import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [conv2dBackpropFilterConfig, unsortedSegmentSumConfig];

/** Registers the missing kernels; returns the names actually registered. */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const k of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(k.kernelName, k.backendName) !== undefined) continue;
    tf.registerKernel(k);
    added.push(k.kernelName);
  }
  return added;
}
