// Owns the training surface (`refsr/train`): configs, the training loop and its stages. It needs the optional peer
// dependencies @tensorflow/tfjs-core, @tensorflow/tfjs-backend-cpu, @tensorflow/tfjs-backend-wasm and tsx (the tfjs
// interpreter of the network definitions and its gradient sources); inference (`refsr`) never loads them.
export { readTrainConfig, parseTrainConfig, TrainConfigError, type TrainConfig, type TrainStage } from './training/config.ts';
export { train, type TrainEvents, type TrainOptions, type TrainResult } from './training/train-loop.ts';
export { initTfjs, type TrainBackend } from './training/tfjs-backend.ts';
export { ContrastiveStage } from './training/stages/contrastive-stage.ts';
export { RestorationStage } from './training/stages/restoration-stage.ts';
export { CheckpointError } from './training/checkpoint.ts';
export { TrainingDataError } from './training/data/image-folder.ts';
export { writeCurve, readCurve } from './training/training-curve.ts';
export * from './errors/index.ts';
