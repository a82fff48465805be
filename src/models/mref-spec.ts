// Owns what an MRefSR restoration state_dict looks like: recognising one by its keys, reading its configuration
// (ngf, n_blocks, groups, reference widths) from the shapes, and the full expected key/shape list of a config
// (derived from the one network definition in mref-arch.ts, so the two cannot drift).

import { OnnxOps } from '../graph/onnx-ops.ts';
import { MREF_LEVELS, mrefRestorationNet, type MRefConfig, type MRefLevelKey } from './mref-arch.ts';
import { RefsrError } from '../errors/refsr-error.ts';

/** A key only MRAPAFusion heads have (C2-Matching's heads are plain convs, `head_small.0.*`). */
export const MREF_PROBE_KEY = 'dyn_agg_restore.head_large.conv_emb1.0.weight';

export function isMRefStateDict(has: (key: string) => boolean): boolean {
  return has(MREF_PROBE_KEY) || has('dyn_agg_restore.head_small.conv_emb1.0.weight');
}

export class MRefConfigError extends RefsrError {
  constructor(message: string) { super(message); this.name = 'MRefConfigError'; }
}

/** The configuration of an MRefSR restoration state_dict, from its shapes; throws naming the key it needs. */
export function mrefConfigFromShapes(shapeOf: (key: string) => readonly number[] | undefined): MRefConfig {
  const need = (key: string): readonly number[] => {
    const s = shapeOf(key);
    if (!s) throw new MRefConfigError(`not an MRefSR restoration state_dict: missing "${key}"`);
    return s;
  };
  const ngf = need('content_extractor.conv_first.weight')[0]!;
  let blocks = 0;
  while (shapeOf(`content_extractor.body.${blocks}.conv1.weight`)) blocks++;
  const om = need('dyn_agg_restore.small_dyn_agg.conv_offset_mask.weight')[0]!;
  if (om % 27 !== 0) throw new MRefConfigError(`small_dyn_agg.conv_offset_mask has ${om} output channels, not a multiple of 27`);
  const refWidths = {} as Record<MRefLevelKey, number>;
  for (const { stage, key } of MREF_LEVELS) refWidths[key] = need(`dyn_agg_restore.${stage}_dyn_agg.weight`)[0]!;
  return { ngf, blocks, groups: om / 27, refWidths };
}

/** Every parameter key and shape an MRefSR restoration state_dict with this config holds (any t: weights are shared). */
export function mrefParamSpec(cfg: MRefConfig): Map<string, number[]> {
  const spec = new Map<string, number[]>();
  const ops = new OnnxOps((name, shape) => {
    spec.set(name, [...shape]);
    return { shape, data: new Float32Array(0) };
  });
  const h = 8;
  const level = (key: MRefLevelKey, s: number) => {
    const f = ops.input(`ref_${key}`, [1, cfg.refWidths[key], h * s, h * s]);
    return { ref: f, refLocal: f, preOffset: ops.input(`pre_${key}`, [1, 18, h * s, h * s]) };
  };
  const ref = { relu3_1: level('relu3_1', 1), relu2_1: level('relu2_1', 2), relu1_1: level('relu1_1', 4) };
  mrefRestorationNet(ops, { lr: ops.input('lr', [1, 3, h, h]), refs: [ref] }, cfg);
  return spec;
}
