// Owns the golden `refvsr` check (../shared/golden-next): the Ref-VSR network RefBasicVSRLRFeatConvAttnLargeNet on
// a short clip. Our own matching is checked with the near-tie rule; the network's output and its DCN window are
// checked with the golden flow_lr_i substituted for our matching (the case's recommended way), and, when our
// indices differ from the golden ones, also with our own matching, ignoring the 18x18 boxes around differing near
// ties that the case names.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { readSafetensors, type StoredTensor } from '../../weights/safetensors.ts';
import { WeightMap } from '../../weights/weight-map.ts';
import { fromHWC, toNCHW } from '../../image/layout.ts';
import { matchClip, runRefVsrNetwork, type ClipResult } from '../../pipeline/refvsr-clip.ts';
import { REFVSR_EXTRACTOR_PREFIX, type RefVsrConfig } from '../../models/refvsr-arch.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../models/vgg-features.ts';
import type { Float32Tensor } from '../../tensor/host-tensor.ts';

const NEAR_TIE = 1e-5;
const VGG_FILE = join('vgg', 'vgg_weights.safetensors');

/** The VGG weights of the same golden set: beside the case, or in the sibling `golden` folder (README). */
export function findVggWeights(caseDir: string): string {
  const root = dirname(caseDir);
  const candidates = [join(root, VGG_FILE), join(dirname(root), 'golden', VGG_FILE)];
  for (const d of existsSync(dirname(root)) ? readdirSync(dirname(root)).sort() : []) candidates.push(join(dirname(root), d, VGG_FILE));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`golden refvsr: no ${VGG_FILE} beside ${root} or in a sibling golden folder (the extractor weights)`);
  return found;
}

/** Generator weights without net_extractor.* plus the extractor built from the VGG weights (case.json external_weights). */
export async function refvsrGoldenWeights(caseDir: string): Promise<WeightMap> {
  const all = new Map<string, StoredTensor | Float32Tensor>((await readSafetensors(join(caseDir, 'weights.safetensors'))).tensors);
  const vgg = await readSafetensors(findVggWeights(caseDir));
  for (const b of [1, 2]) {
    const p = `${REFVSR_EXTRACTOR_PREFIX}feature_extraction_image${b}`;
    for (const [k, v] of vgg.tensors) all.set(`${p}.model.${k}`, v);
    all.set(`${p}.mean`, { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_MEAN) });
    all.set(`${p}.std`, { shape: [1, 3, 1, 1], data: Float32Array.from(IMAGENET_STD) });
  }
  return new WeightMap(all);
}

/** Frames of a U8 [T, H, W, 3] tensor as [1, 3, H, W] floats (u8 / 255). */
function frames(t: { shape: number[]; data: Uint8Array }): Float32Tensor[] {
  const [n, h, w] = t.shape as [number, number, number];
  return Array.from({ length: n }, (_, i) => toNCHW(fromHWC([h, w, 3], t.data.subarray(i * h * w * 3, (i + 1) * h * w * 3))));
}

function stack(ts: readonly Float32Tensor[]): Float32Array {
  const out = new Float32Array(ts.reduce((n, t) => n + t.data.length, 0));
  let o = 0;
  for (const t of ts) { out.set(t.data, o); o += t.data.length; }
  return out;
}

/** Channels [0, c) of a [1, C, H, W] tensor. */
function firstChannels(t: Float32Tensor, c: number): Float32Array {
  const [, , h, w] = t.shape as [number, number, number, number];
  return t.data.slice(0, c * h * w);
}

/** A [1, C, H, W] tensor's window rows [y0, y0+wh), cols [x0, x0+ww). */
function window(t: Float32Tensor, y0: number, x0: number, wh: number, ww: number): Float32Array {
  const [, c, h, w] = t.shape as [number, number, number, number];
  const out = new Float32Array(c * wh * ww);
  for (let k = 0; k < c; k++) for (let y = 0; y < wh; y++) out.set(t.data.subarray((k * h + y0 + y) * w + x0, (k * h + y0 + y) * w + x0 + ww), (k * wh + y) * ww);
  return out;
}

function windowOrigin(c: GoldenCase, name: string): [number, number] {
  const m = /rows (\d+)\.\.\d+, cols (\d+)\.\.\d+/.exec(String(c.entry(name).meaning ?? ''));
  if (!m) throw new Error(`golden refvsr: cannot read the window of ${name} from its meaning`);
  return [Number(m[1]), Number(m[2])];
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const args = (c.json.constructor as unknown as { args?: { mid_channels?: number; num_blocks?: number; groups?: number } } | undefined)?.args ?? {};
  if ((args.mid_channels ?? 64) !== 64) throw new Error(`golden refvsr: mid_channels ${args.mid_channels} (the network fixes 64)`);
  const cfg: RefVsrConfig = { numBlocks: args.num_blocks ?? 1, groups: args.groups ?? 8 };
  const weights = await refvsrGoldenWeights(c.dir);
  const lrs = frames(await c.u8('lrs_u8'));
  const ups = frames(await c.u8('ups_u8'));
  const kf = await c.u8('keyframe_u8');
  const keyframe = toNCHW(fromHWC(kf.shape, kf.data));
  const t = lrs.length;
  const results: CheckResult[] = [];
  const tensorCheck = (name: string, ours: ArrayLike<number>, golden: ArrayLike<number>, ignore?: (i: number) => boolean) => results.push(checkTensor(c.name, name, ours, golden, c.entry(name).tolerance, ignore));

  // Matching, per frame, with the near-tie rule.
  const m = await matchClip(weights, { lrs, ups, keyframe }, { withMargin: true });
  const goldenFlows: Float32Tensor[] = [];
  const tiesDiffering: [number, number][][] = [];
  for (let i = 0; i < t; i++) {
    const ours = m.matches[i]!;
    const gIdx = await c.ints(`max_idx_${i}`);
    const gMargin = (await c.f32(`margin_${i}`)).data;
    const pw = ours.w - 2;
    const tie = (p: number) => gMargin[p]! < NEAR_TIE && ours.index[p] !== gIdx[p];
    tiesDiffering.push([...ours.index.keys()].filter(tie).map((p) => [Math.floor(p / pw), p % pw]));
    tensorCheck(`max_idx_${i}`, ours.index, gIdx, tie);
    tensorCheck(`max_val_${i}`, ours.score!, (await c.f32(`max_val_${i}`)).data, tie);
    tensorCheck(`margin_${i}`, ours.margin!, gMargin, tie);
    const gFlow = await c.f32(`flow_lr_${i}`);
    goldenFlows.push(gFlow);
    tensorCheck(`flow_lr_${i}`, m.flows[i]!.data, gFlow.data, (e) => {
      const cell = Math.floor(e / 2);
      const y = Math.floor(cell / ours.w);
      const x = cell % ours.w;
      return y < ours.h - 2 && x < pw && tie(y * pw + x);
    });
  }

  // The network with the golden matching substituted (recommended by the case).
  const net = await runRefVsrNetwork(weights, cfg, lrs, m.refRelu1_1, goldenFlows);
  tensorCheck('flows_backward', stack(net.flowsBackward), (await c.f32('flows_backward')).data);
  tensorCheck('flows_forward', stack(net.flowsForward), (await c.f32('flows_forward')).data);
  const probe = 1;
  const channels = (await c.f32('lr_feat_1_c8')).shape[1]!;
  tensorCheck('lr_feat_1_c8', firstChannels(net.lrFeats[probe]!, channels), (await c.f32('lr_feat_1_c8')).data);
  tensorCheck('feat_backward_1_c8', firstChannels(net.featsBackward[probe]!, channels), (await c.f32('feat_backward_1_c8')).data);
  tensorCheck('feat_forward_1_c8', firstChannels(net.featsForward[probe]!, channels), (await c.f32('feat_forward_1_c8')).data);
  const win = await c.f32('dyn_agg_1_win');
  const [wy, wx] = windowOrigin(c, 'dyn_agg_1_win');
  const [wh, ww] = [win.shape[2]!, win.shape[3]!];
  tensorCheck('dyn_agg_1_win', window(net.dynAggs[probe]!, wy, wx, wh, ww), win.data);
  const gOut = await c.f32('out');
  tensorCheck('out', stack(net.out), gOut.data);

  // With our own matching when it differs at near ties: the boxes the case names are ignored.
  if (tiesDiffering.some((d) => d.length > 0)) {
    const own = await runRefVsrNetwork(weights, cfg, lrs, m.refRelu1_1, m.flows);
    results.push(...(await checkOwnMatching(c, own, tiesDiffering)));
  }
  return results;
}

/** Inside the HR box rows 4y+lo..4y+hi, cols 4x+lo..4x+hi of any (y, x) in `ties` (LR patch positions). */
function inTieBox(ties: readonly (readonly [number, number])[], y: number, x: number, lo: number, hi: number): boolean {
  return ties.some(([ty, tx]) => y >= 4 * ty + lo && y <= 4 * ty + hi && x >= 4 * tx + lo && x <= 4 * tx + hi);
}

/**
 * `out` and `dyn_agg_1_win` of a run on our own matching, where it differs from the golden indices at the near
 * ties `ties[frame]` (LR (y, x)): the case's rule ignores rows 4y-3..4y+14, cols 4x-3..4x+14 of that frame of
 * `out`, and rows 4y..4y+11, cols 4x..4x+11 of the DCN output.
 */
export async function checkOwnMatching(c: GoldenCase, own: ClipResult, ties: readonly (readonly (readonly [number, number])[])[]): Promise<CheckResult[]> {
  const gOut = await c.f32('out');
  const win = await c.f32('dyn_agg_1_win');
  const [wy, wx] = windowOrigin(c, 'dyn_agg_1_win');
  const [wh, ww] = [win.shape[2]!, win.shape[3]!];
  const [H, W] = [gOut.shape[3]!, gOut.shape[4]!];
  const probe = 1;
  const outCheck = checkTensor(c.name, 'out (own matching)', stack(own.out), gOut.data, c.entry('out').tolerance, (e) => {
    const p = e % (H * W);
    return inTieBox(ties[Math.floor(e / (3 * H * W))]!, Math.floor(p / W), p % W, -3, 14);
  });
  const dynCheck = checkTensor(c.name, 'dyn_agg_1_win (own matching)', window(own.dynAggs[probe]!, wy, wx, wh, ww), win.data, c.entry('dyn_agg_1_win').tolerance, (e) => {
    const p = e % (wh * ww);
    return inTieBox(ties[probe]!, wy + Math.floor(p / ww), wx + (p % ww), 0, 11);
  });
  return [outCheck, dynCheck];
}
