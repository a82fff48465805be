// Owns the provenance entry a training stage writes into the model it exports: which command, config, data and
// starting weights produced it. Paths are relative to the working directory so a shipped file names no machine.

import { relative } from 'node:path';
import type { TrainConfig } from './config.ts';
import { seededExtractorSeed } from './extractor-source.ts';

function shown(path: string): string {
  return relative(process.cwd(), path) || '.';
}

export function trainingProvenance(cfg: TrainConfig, step: number): string {
  const extractor = cfg.init.extractor === undefined || seededExtractorSeed(cfg.init.extractor) !== undefined ? cfg.init.extractor : shown(cfg.init.extractor);
  return JSON.stringify({
    trainedBy: `refsr train ${cfg.stage} -c ${shown(cfg.source)}`,
    steps: step,
    batch: cfg.batch,
    data: cfg.data.train.map(shown),
    ...(extractor ? { extractor } : {}),
    ...(cfg.init.from ? { from: shown(cfg.init.from) } : {}),
    configFingerprint: cfg.fingerprint,
    date: new Date().toISOString(),
  });
}
