// Owns the ONNX engine's entry point for the training loop: one step's loss, logged scalars and parameter
// gradients for a stage (teacher, student, restoration with its L1, perceptual and adversarial terms), computed on
// ONNX Runtime (the multi-reference and video stages through the restoration step, with their own networks and one L1 head); the loop applies the same Adam to them as with the tfjs engine (and updates restoration's critic on
// tfjs), so checkpoints are the same and a run resumes on either engine. A stage the engine does not know is
// refused here with a message naming engine: tfjs.

import type { TrainConfig } from '../config.ts';
import type { TrainingStage } from '../train-loop.ts';
import { ContrastiveStage } from '../stages/contrastive-stage.ts';
import { RestorationStage } from '../stages/restoration-stage.ts';
import { MultiReferenceStage } from '../stages/multi-reference-stage.ts';
import { VideoStage } from '../stages/video-stage.ts';
import { ContrastiveStep } from './contrastive-step.ts';
import { RestorationStep } from './restoration-step.ts';
import { UnsupportedByOnnxEngine, type StepEngine } from './step-engine.ts';

export { UnsupportedByOnnxEngine, type StepEngine, type EngineStep } from './step-engine.ts';

export function createOnnxEngine<B>(cfg: TrainConfig, stage: TrainingStage<B>): StepEngine<B> {
  if (stage instanceof ContrastiveStage) return new ContrastiveStep(cfg, stage) as unknown as StepEngine<B>;
  if (stage instanceof RestorationStage) return new RestorationStep(cfg, stage) as unknown as StepEngine<B>;
  if (stage instanceof MultiReferenceStage) return new RestorationStep(cfg, stage) as unknown as StepEngine<B>;
  if (stage instanceof VideoStage) return new RestorationStep(cfg, stage) as unknown as StepEngine<B>;
  throw new UnsupportedByOnnxEngine(`the ONNX engine does not know the ${cfg.stage} stage's network`);
}
