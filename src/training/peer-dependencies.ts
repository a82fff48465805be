// Owns the check that training's optional peer dependencies are installed (tfjs-core and its cpu and wasm backends,
// the tfjs interpreter of the network definitions; tsx, which loads tfjs's gradient sources), so `refsr train` on an
// install without them says what to install instead of failing on a module path. Inference never needs them.

import { createRequire } from 'node:module';
import { RefsrError } from '../errors/refsr-error.ts';

export const TRAINING_PEERS: Readonly<Record<string, string>> = {
  '@tensorflow/tfjs-core': '4.22',
  '@tensorflow/tfjs-backend-cpu': '4.22',
  '@tensorflow/tfjs-backend-wasm': '4.22',
  tsx: '^4',
};

/** Resolvable entry per package (tsx exports no main, so one of its sub-paths). */
const PROBES: Readonly<Record<string, string>> = { tsx: 'tsx/cjs/api' };

export class TrainingDependencyError extends RefsrError {
  constructor(readonly missing: string[]) {
    super(`training needs the optional dependencies ${missing.join(', ')}, which are not installed (inference does not): npm install ${missing.map((m) => `${m}@${TRAINING_PEERS[m]}`).join(' ')}`);
    this.name = 'TrainingDependencyError';
  }
}

/** The training peers that cannot be resolved from refsr's own folder. */
export function missingTrainingPeers(): string[] {
  const req = createRequire(import.meta.url);
  return Object.keys(TRAINING_PEERS).filter((name) => {
    try {
      req.resolve(PROBES[name] ?? name);
      return false;
    } catch {
      return true;
    }
  });
}

export function requireTrainingPeers(): void {
  const missing = missingTrainingPeers();
  if (missing.length) throw new TrainingDependencyError(missing);
}
