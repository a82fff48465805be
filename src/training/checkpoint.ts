// Owns training checkpoints: one safetensors file per run folder holding the trainable parameters (official key
// names), Adam's moments (`adam.m.*`, `adam.v.*`) and, in `__metadata__`, the step reached, the stage and the
// config fingerprint. Written atomically (temp file + rename), so a run killed at any moment resumes from the last
// complete checkpoint.

import { existsSync } from 'node:fs';
import { readSafetensors, writeSafetensors, toFloat32, type TensorToWrite } from '../weights/safetensors.ts';
import type { Float32Tensor } from '../tensor/host-tensor.ts';
import type { TrainConfig } from './config.ts';
import { RefsrError } from '../errors/refsr-error.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const META_KEY = 'refsr.checkpoint';

export interface CheckpointState {
  readonly step: number;
  readonly adamSteps: number;
  /** Updates of the critic's Adam (restoration with a WGAN-GP critic), when there is one. */
  readonly criticAdamSteps?: number;
  readonly params: Map<string, Float32Tensor>;
  readonly optimizer: Map<string, Float32Tensor>;
}

interface CheckpointMeta {
  readonly stage: string;
  readonly step: number;
  readonly adamSteps: number;
  readonly criticAdamSteps?: number;
  readonly fingerprint: string;
}

export class CheckpointError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'CheckpointError'; }
}

export async function saveCheckpoint(path: string, cfg: TrainConfig, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, TensorToWrite>();
  for (const [k, t] of state.params) tensors.set(`param.${k}`, { dtype: 'F32', shape: t.shape, data: t.data });
  for (const [k, t] of state.optimizer) tensors.set(k, { dtype: 'F32', shape: t.shape, data: t.data });
  const meta: CheckpointMeta = { stage: cfg.stage, step: state.step, adamSteps: state.adamSteps, criticAdamSteps: state.criticAdamSteps, fingerprint: cfg.fingerprint };
  await writeSafetensors(path, tensors, { [META_KEY]: JSON.stringify(meta) });
}

/** The checkpoint at `path`, or undefined when there is none; refuses one written under a different config. */
export async function loadCheckpoint(path: string, cfg: TrainConfig): Promise<CheckpointState | undefined> {
  if (!existsSync(path)) return undefined;
  const file = await readSafetensors(path);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(file.metadata[META_KEY] ?? '') as CheckpointMeta;
  } catch {
    throw new CheckpointError(`${path}: not a refsr training checkpoint (no ${META_KEY} metadata)`);
  }
  // A checkpoint from before 2026-12-07 records the fingerprint over absolute paths: valid in the checkout that wrote it.
  if (meta.stage !== cfg.stage || (meta.fingerprint !== cfg.fingerprint && meta.fingerprint !== cfg.legacyFingerprint)) {
    throw new CheckpointError(`${path} was written by a different training configuration (stage ${meta.stage}, fingerprint ${meta.fingerprint}; this config: ${cfg.stage}, ${cfg.fingerprint}); use another --out folder or --restart`);
  }
  const params = new Map<string, Float32Tensor>();
  const optimizer = new Map<string, Float32Tensor>();
  for (const [k, t] of file.tensors) {
    if (k.startsWith('param.')) params.set(k.slice('param.'.length), toFloat32(t, k));
    else if (k.startsWith('adam.')) optimizer.set(k, toFloat32(t, k));
  }
  return { step: meta.step, adamSteps: meta.adamSteps, criticAdamSteps: meta.criticAdamSteps, params, optimizer };
}
