// Owns the map from golden case name (case.json "case") to the code that checks it, loaded on demand so a case's
// dependencies (ONNX Runtime, tfjs) load only when that case runs.

import type { GoldenCase } from './case-files.ts';
import type { CheckResult } from './tolerance.ts';

type Runner = (c: GoldenCase) => Promise<CheckResult[]>;

export const GOLDEN_RUNNERS: Record<string, () => Promise<Runner>> = {
  resize: async () => (await import('./cases/resize.ts')).run,
  metrics: async () => (await import('./cases/metrics.ts')).run,
  contras: async () => (await import('./cases/networks.ts')).runContras,
  vgg: async () => (await import('./cases/networks.ts')).runVgg,
  dcn: async () => (await import('./cases/networks.ts')).runDcn,
  restoration: async () => (await import('./cases/networks.ts')).runRestoration,
  matching: async () => (await import('./cases/matching.ts')).run,
  pipeline: async () => (await import('./cases/pipeline.ts')).run,
  losses: async () => (await import('./cases/losses.ts' as string) as { run: Runner }).run,
  refvsr: async () => (await import('./cases/refvsr.ts')).run,
  mref: async () => (await import('./cases/mref.ts')).run,
  homography: async () => (await import('./cases/homography.ts' as string) as { run: Runner }).run,
};
