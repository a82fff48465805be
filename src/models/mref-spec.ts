// Owns what an MRefSR restoration state_dict looks like: recognising one by its keys, reading its configuration
// (ngf, n_blocks, groups, reference widths) from the shapes, and the full expected key/shape list of a config
// (derived from the one network definition in mref-arch.ts, so the two cannot drift).

import { OnnxOps } from '../graph/onnx-ops.ts';
import { MREF_LEVELS, mrefRestorationNet, type MRefConfig, type MRefLevelKey } from './mref-arch.ts';
import { RefsrError } from '../errors/refsr-error.ts';
import type { RestorationConfig } from './restoration-net.ts';
import { VGG_WIDTHS } from './vgg-features.ts';

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
  const count = (body: string) => {
    let n = 0;
    while (shapeOf(`${body}.${n}.conv1.weight`)) n++;
    return n;
  };
  const blocks = count('content_extractor.body');
  // refsr's own light structure has no relu3_1 aggregation; the official network always has it.
  const smallAggregation = shapeOf('dyn_agg_restore.small_dyn_agg.weight') !== undefined;
  const omStage = smallAggregation ? 'small' : 'medium';
  const om = need(`dyn_agg_restore.${omStage}_dyn_agg.conv_offset_mask.weight`)[0]!;
  if (om % 27 !== 0) throw new MRefConfigError(`${omStage}_dyn_agg.conv_offset_mask has ${om} output channels, not a multiple of 27`);
  const refWidths = {} as Record<MRefLevelKey, number>;
  for (const { stage, key } of MREF_LEVELS) {
    // Without the relu3_1 aggregation its width is the relu2_1 width doubled (the VGG trunk's widths), as the encoder has it.
    refWidths[key] = stage === 'small' && !smallAggregation ? 2 * need('dyn_agg_restore.medium_dyn_agg.weight')[0]! : need(`dyn_agg_restore.${stage}_dyn_agg.weight`)[0]!;
  }
  const levelBlocks = { content: blocks, small: count('dyn_agg_restore.body_small'), medium: count('dyn_agg_restore.body_medium'), large: count('dyn_agg_restore.body_large') };
  return mrefConfig({ ngf, groups: om / 27, refWidths, levelBlocks, smallAggregation });
}

type MRefLevelBlocks = NonNullable<MRefConfig['levelBlocks']>;

/**
 * The one way an MRefConfig is built (so configs from weights, from metadata and from a single-reference config
 * compare as JSON): fixed key order, `levelBlocks` only when the counts differ, `smallAggregation` only when false.
 */
function mrefConfig(p: { ngf: number; groups: number; refWidths: Readonly<Record<MRefLevelKey, number>>; levelBlocks: MRefLevelBlocks; smallAggregation: boolean }): MRefConfig {
  const { content, small, medium, large } = p.levelBlocks;
  const uniform = small === content && medium === content && large === content;
  return {
    ngf: p.ngf, blocks: content, groups: p.groups,
    refWidths: { relu1_1: p.refWidths.relu1_1, relu2_1: p.refWidths.relu2_1, relu3_1: p.refWidths.relu3_1 },
    ...(uniform ? {} : { levelBlocks: { content, small, medium, large } }),
    ...(p.smallAggregation ? {} : { smallAggregation: false as const }),
  };
}

/** A config in its canonical form, as JSON (to compare a bundle's metadata with its weights). */
export function canonicalMRefConfig(c: MRefConfig): string {
  const b = c.levelBlocks ?? { content: c.blocks, small: c.blocks, medium: c.blocks, large: c.blocks };
  return JSON.stringify(mrefConfig({ ...c, levelBlocks: b, smallAggregation: c.smallAggregation !== false }));
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
  const ref = { relu3_1: cfg.smallAggregation === false ? undefined : level('relu3_1', 1), relu2_1: level('relu2_1', 2), relu1_1: level('relu1_1', 4) };
  mrefRestorationNet(ops, { lr: ops.input('lr', [1, 3, h, h]), refs: [ref] }, cfg);
  return spec;
}

/**
 * The multi-reference network with a single-reference config's structure (refsr's own models: the multi-reference
 * stage starts from a C2-Matching-structured model, and every weight but the fusion heads carries over by name).
 */
export function mrefConfigFromRestoration(r: RestorationConfig): MRefConfig {
  const [c1, c2, c3] = r.trunkWidths ?? VGG_WIDTHS;
  return mrefConfig({
    ngf: r.ngf, groups: r.groups, refWidths: { relu1_1: c1, relu2_1: c2, relu3_1: c3 },
    levelBlocks: { content: r.contentBlocks, small: r.smallBlocks, medium: r.mediumBlocks, large: r.largeBlocks }, smallAggregation: r.smallAggregation,
  });
}
