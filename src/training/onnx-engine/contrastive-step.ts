// Owns the teacher and student steps on the ONNX engine: both ContrasExtractorSep branches (forward + backward) on
// ONNX Runtime, the frozen teacher's branches (student) as a forward-only graph, and the contrastive loss in
// between, whose gradients w.r.t. the two features are fed back into the backward graph. The teacher's triplet loss
// is the TripletHead (similarities on ONNX Runtime, the rest on the host); the student's loss (triplet + KL
// distillation) runs on tfjs, the same loss code as the tfjs engine.

import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../config.ts';
import type { ContrastiveBatch, ContrastiveStage } from '../stages/contrastive-stage.ts';
import { contrasBranch } from '../../models/contras-extractor.ts';
import { contrastiveLoss } from '../losses/contrastive.ts';
import { fromNCHW, toNCHW, inScope } from '../tfjs-ops.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';
import { TrainGraph, type Network } from './train-graph.ts';
import { paramValues } from './param-values.ts';
import { engineThreads, type EngineStep, type StepEngine } from './step-engine.ts';
import { TripletHead } from './triplet-head.ts';

export class ContrastiveStep implements StepEngine<ContrastiveBatch> {
  private graphs = new Map<string, Promise<TrainGraph>>();
  private readonly triplet = new TripletHead(engineThreads());

  constructor(private readonly cfg: TrainConfig, private readonly stage: ContrastiveStage) {}

  private graph(key: string, a: readonly number[], b: readonly number[], forwardOnly: boolean): Promise<TrainGraph> {
    const k = `${key}:${a}:${b}`;
    let g = this.graphs.get(k);
    if (!g) {
      const widths = this.cfg.model.trunkWidths;
      const net: Network = (ops, ins) => ({ feat1: contrasBranch(ops, 1, ins.in1!, widths), feat2: contrasBranch(ops, 2, ins.in2!, widths) });
      g = TrainGraph.build(net, { in1: a, in2: b }, { threads: engineThreads(), forwardOnly });
      this.graphs.set(k, g);
    }
    return g;
  }

  async step(b: ContrastiveBatch): Promise<EngineStep> {
    const student = await this.graph('student', b.in1.shape, b.in2.shape, false);
    const pass = await student.forward({ in1: b.in1, in2: b.in2 }, paramValues(this.stage.params));
    let teacher: Record<string, Float32Tensor> | undefined;
    if (this.stage.teacher && b.teacherIn1) {
      const tg = await this.graph('teacher', b.teacherIn1.shape, b.in2.shape, true);
      teacher = (await tg.forward({ in1: b.teacherIn1, in2: b.in2 }, paramValues(this.stage.teacher))).heads;
    }
    const l = this.cfg.losses;
    if (!teacher) {
      const r = await this.triplet.lossAndGrads(pass.heads.feat1!, pass.heads.feat2!, b.coords, { margin: l.margin, safeRadius: l.safeRadius });
      const grads = await student.backward(pass, { feat1: r.dFeat1, feat2: r.dFeat2 });
      return { loss: r.loss, logs: { pos_dist: r.posDist, neg_dist: r.negDist }, grads };
    }
    const head = inScope(() => {
      const f1 = fromNCHW(pass.heads.feat1!);
      const f2 = fromNCHW(pass.heads.feat2!);
      const t = teacher ? { feat1: fromNCHW(teacher.feat1!), feat2: fromNCHW(teacher.feat2!) } : undefined;
      let logs: Record<string, number> = {};
      const { value, grads } = tf.valueAndGrads((x1: tf.Tensor, x2: tf.Tensor) => {
        const r = contrastiveLoss({ feat1: x1, feat2: x2, coords: b.coords, teacher: t }, { margin: l.margin, safeRadius: l.safeRadius }, { weight: l.distillWeight, temperature: l.temperature });
        logs = { pos_dist: r.posDist.dataSync()[0]!, neg_dist: r.negDist.dataSync()[0]!, ...(r.distill ? { distill: r.distill.dataSync()[0]! } : {}) };
        return r.loss;
      })([f1, f2]);
      return { loss: value.dataSync()[0]!, logs, d1: toNCHW(grads[0]!), d2: toNCHW(grads[1]!) };
    });
    const grads = await student.backward(pass, { feat1: head.d1, feat2: head.d2 });
    return { loss: head.loss, logs: head.logs, grads };
  }

  async release(): Promise<void> {
    for (const g of this.graphs.values()) await (await g).release();
    this.graphs.clear();
    await this.triplet.release();
  }
}
