// Owns the provenance entry a training stage writes into the model it exports: which command, config, data and
// starting weights produced it. Paths are relative to the working directory so a shipped file names no machine.

import { relative } from 'node:path';
import type { TrainConfig } from './config.ts';
import { seededExtractorSeed, vggExtractorPath } from './extractor-source.ts';
import { VGG19_CREDIT } from '../models/vgg-init.ts';

function shown(path: string): string {
  return relative(process.cwd(), path) || '.';
}

/** The provenance entry's fields, in their written order (trainingProvenance serialises them). */
export function provenanceFields(cfg: TrainConfig, step: number): Record<string, unknown> {
  const spec = cfg.init.extractor;
  const vgg = spec === undefined ? undefined : vggExtractorPath(spec);
  const extractor = spec === undefined || seededExtractorSeed(spec) !== undefined ? spec : vgg !== undefined ? `vgg19:${shown(vgg)}` : shown(spec);
  return {
    trainedBy: `refsr train ${cfg.stage} -c ${shown(cfg.source)}`,
    steps: step,
    batch: cfg.batch,
    data: cfg.data.train.map(shown),
    ...(extractor ? { extractor } : {}),
    ...(cfg.init.encoder ? { encoder: `vgg19:${shown(vggExtractorPath(cfg.init.encoder)!)}` } : {}),
    ...(vgg !== undefined
      ? { derivedFrom: `${VGG19_CREDIT}: the contrastive extractor's start and the reference encoder` }
      : cfg.init.encoder
        ? { derivedFrom: `${VGG19_CREDIT}: the reference encoder, and the start of the teacher/student training of the contrastive extractor` }
        : {}),
    ...(cfg.init.from ? { from: shown(cfg.init.from) } : {}),
    configFingerprint: cfg.fingerprint,
    date: new Date().toISOString(),
  };
}

export function trainingProvenance(cfg: TrainConfig, step: number): string {
  return JSON.stringify(provenanceFields(cfg, step));
}

/**
 * trainingProvenance for a run warm-started from another model (`fromProvenance`: that file's provenance entry): when
 * the run itself names no VGG19 source, the starting model's `derivedFrom` credit is kept, so a model trained on from
 * a VGG-derived bundle still credits the VGG19 weights.
 */
export function inheritedProvenance(cfg: TrainConfig, step: number, fromProvenance: string | undefined): string {
  const p = provenanceFields(cfg, step);
  if (p.derivedFrom !== undefined) return JSON.stringify(p);
  let credit: unknown;
  try {
    credit = (JSON.parse(fromProvenance ?? '{}') as Record<string, unknown>).derivedFrom;
  } catch {
    // A starting model without JSON provenance: nothing to carry over.
  }
  return JSON.stringify(typeof credit === 'string' ? { ...p, derivedFrom: credit } : p);
}
