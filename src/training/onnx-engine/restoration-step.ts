// Owns the restoration step on the ONNX engine: the stage's restoration network (C2-Matching's RestorationNet, or
// MRefSR's multi-reference network for the multi-reference stage: the stage names its graph inputs and network)
// forward + backward on ONNX Runtime for the batch the stage prepared (the frozen half already ran on ONNX Runtime
// in `prepare`), with the official L1 loss computed on
// the host in float64: loss = l1 * mean |out - gt|, d loss / d out = l1 * sign(out - gt) / numel (sign 0 at 0, as
// tf.abs's gradient). In the GAN phase the perceptual and adversarial terms run on tfjs on the network's output
// (the stage's own `outputTerms`, the same code as the tfjs engine): their gradient w.r.t. the output is added to
// the L1's before the backward graph. The critic's update (WGAN-GP) is the training loop's, as on tfjs.

import type { TrainConfig } from '../config.ts';
import type { ParamStore } from '../param-store.ts';
import { TrainGraph, type Network } from './train-graph.ts';
import { paramValues } from './param-values.ts';
import { engineThreads, type EngineStep, type StepEngine } from './step-engine.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { l1Head } from './l1-head.ts';
import * as tf from '@tensorflow/tfjs-core';
import { fromNCHW, inScope, toNCHW } from '../tfjs-ops.ts';

/** What the step needs of a stage whose network maps a prepared batch to an SR image trained with L1 (+ extra terms). */
export interface ImageRestorationStage<B extends { readonly gt: Float32Tensor }> {
  readonly params: ParamStore;
  /** The batch as named graph inputs. */
  engineInputs(b: B): Record<string, Float32Tensor>;
  /** The network on those inputs, with head `out` (the SR image). */
  engineNetwork(): Network;
  recordFake(out: tf.Tensor): void;
  hasOutputTerms(step: number): boolean;
  outputTerms(out: tf.Tensor, gt: tf.Tensor, step: number): { terms: tf.Tensor[]; logs: Record<string, tf.Scalar> };
}

export class RestorationStep<B extends { readonly gt: Float32Tensor }> implements StepEngine<B> {
  private graphs = new Map<string, Promise<TrainGraph>>();

  constructor(private readonly cfg: TrainConfig, private readonly stage: ImageRestorationStage<B>) {}

  private graph(inputs: Record<string, Float32Tensor>): Promise<TrainGraph> {
    const shapes = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.shape]));
    const key = JSON.stringify(shapes);
    let g = this.graphs.get(key);
    if (!g) {
      g = TrainGraph.build(this.stage.engineNetwork(), shapes, { threads: engineThreads() });
      this.graphs.set(key, g);
    }
    return g;
  }

  async step(b: B, step: number): Promise<EngineStep> {
    const inputs = this.stage.engineInputs(b);
    const graph = await this.graph(inputs);
    const pass = await graph.forward(inputs, paramValues(this.stage.params));
    const out = pass.heads.out!;
    const head = l1Head(out, b.gt, this.cfg.losses.l1);
    let loss = head.loss;
    const logs: Record<string, number> = { l1: head.l1 };
    inScope(() => { this.stage.recordFake(fromNCHW(out)); });
    if (this.stage.hasOutputTerms(step)) {
      // Perceptual + adversarial terms and their gradient w.r.t. the output, on tfjs.
      const extra = inScope(() => {
        const gt = fromNCHW(b.gt);
        const termLogs: Record<string, number> = {};
        const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => {
          const r = this.stage.outputTerms(x, gt, step);
          for (const [k, t] of Object.entries(r.logs)) termLogs[k] = t.dataSync()[0]!;
          return tf.addN(r.terms) as tf.Scalar;
        })([fromNCHW(out)]);
        return { value: value.dataSync()[0]!, logs: termLogs, dOut: toNCHW(grads[0]!) };
      });
      // Summed in float32 as tfjs sums the terms' gradients.
      for (let i = 0; i < head.dOut.data.length; i++) head.dOut.data[i] = head.dOut.data[i]! + extra.dOut.data[i]!;
      loss = Math.fround(loss + extra.value);
      Object.assign(logs, extra.logs);
    }
    const grads = await graph.backward(pass, { out: head.dOut });
    return { loss, logs, grads };
  }

  async release(): Promise<void> {
    for (const g of this.graphs.values()) await (await g).release();
    this.graphs.clear();
  }
}
