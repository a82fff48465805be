// Owns the restoration step on the ONNX engine: RestorationNet forward + backward on ONNX Runtime for the batch the
// stage prepared (the frozen half already ran on ONNX Runtime in `prepare`), with the official L1 loss computed on
// the host in float64: loss = l1 * mean |out - gt|, d loss / d out = l1 * sign(out - gt) / numel (sign 0 at 0, as
// tf.abs's gradient). In the GAN phase the perceptual and adversarial terms run on tfjs on the network's output
// (the stage's own `outputTerms`, the same code as the tfjs engine): their gradient w.r.t. the output is added to
// the L1's before the backward graph. The critic's update (WGAN-GP) is the training loop's, as on tfjs.

import type { TrainConfig } from '../config.ts';
import type { RestorationBatch, RestorationStage } from '../stages/restoration-stage.ts';
import { restorationNet } from '../../models/restoration-net.ts';
import { TrainGraph, type Network } from './train-graph.ts';
import { paramValues } from './param-values.ts';
import { engineThreads, type EngineStep, type StepEngine } from './step-engine.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { l1Head } from './l1-head.ts';
import * as tf from '@tensorflow/tfjs-core';
import { fromNCHW, inScope, toNCHW } from '../tfjs-ops.ts';

const LEVELS = ['relu3_1', 'relu2_1', 'relu1_1'] as const;

export class RestorationStep implements StepEngine<RestorationBatch> {
  private graphs = new Map<string, Promise<TrainGraph>>();

  constructor(private readonly cfg: TrainConfig, private readonly stage: RestorationStage) {}

  private inputs(b: RestorationBatch): Record<string, Float32Tensor> {
    const out: Record<string, Float32Tensor> = { lr: b.lr };
    for (const l of LEVELS) {
      if (l === 'relu3_1' && !this.cfg.model.restoration.smallAggregation) continue;
      out[`ref_${l}`] = b.levels[l].ref;
      out[`loc_${l}`] = b.levels[l].refLocal;
      out[`pre_${l}`] = b.levels[l].preOffset;
    }
    return out;
  }

  private graph(inputs: Record<string, Float32Tensor>): Promise<TrainGraph> {
    const shapes = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.shape]));
    const key = JSON.stringify(shapes);
    let g = this.graphs.get(key);
    if (!g) {
      const cfg = this.cfg.model.restoration;
      const net: Network = (ops, ins) => {
        const level = (l: string) => ({ ref: ins[`ref_${l}`]!, refLocal: ins[`loc_${l}`]!, preOffset: ins[`pre_${l}`]! });
        return { out: restorationNet(ops, { lr: ins.lr!, relu3_1: cfg.smallAggregation ? level('relu3_1') : undefined, relu2_1: level('relu2_1'), relu1_1: level('relu1_1') }, cfg).out };
      };
      g = TrainGraph.build(net, shapes, { threads: engineThreads() });
      this.graphs.set(key, g);
    }
    return g;
  }

  async step(b: RestorationBatch, step: number): Promise<EngineStep> {
    const inputs = this.inputs(b);
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
