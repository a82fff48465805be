// Owns the golden `homography` case: the contrastive training pair (official image_pair_generation inside
// ContrasDataset.__getitem__) rebuilt from the recorded numpy draws: H and H^-1 (also against the float64 values in
// case.json), the warped image, its truncated bicubic down/up copy and the ground-truth coordinate grid.

import type { GoldenCase } from '../case-files.ts';
import { checkTensor, type CheckResult } from '../tolerance.ts';
import { fromHWC } from '../../image/layout.ts';
import { contrasSample, drawsFromRecord } from '../../training/data/homography.ts';

interface HomographyJson {
  random_draws: { fn: string; value: number }[];
  image_pair_generation_args?: { random_perturb_range?: [number, number]; cropping_window_size?: number };
  H_float64?: number[][];
  H_inverse_float64?: number[][];
  rect2_tl_tr_br_bl?: number[][];
}

export async function run(c: GoldenCase): Promise<CheckResult[]> {
  const json = c.json as unknown as HomographyJson;
  const img = await c.u8('img');
  const args = json.image_pair_generation_args ?? {};
  const sample = contrasSample(fromHWC(img.shape, img.data), drawsFromRecord(json.random_draws), {
    perturbRange: args.random_perturb_range,
    window: args.cropping_window_size,
  });
  const ours: Record<string, ArrayLike<number>> = {
    img: img.data,
    img_in: sample.imgIn.data,
    img_in_up: sample.imgInUp.data,
    img_ref: sample.imgRef.data,
    img_ref_up: sample.imgRefUp.data,
    transformed_coordinate: sample.transformedCoordinate,
    H: sample.H,
    H_inverse: sample.Hinv,
  };
  const out: CheckResult[] = [];
  for (const t of c.json.tensors) {
    const mine = ours[t.name];
    if (!mine) {
      out.push({ case: c.name, name: t.name, error: Infinity, bound: 0, pass: false, detail: 'no check implemented for this tensor' });
      continue;
    }
    const golden = t.dtype === 'U8' ? (await c.u8(t.name)).data : (await c.f32(t.name)).data;
    out.push(checkTensor(c.name, t.name, mine, golden, t.tolerance));
  }
  // The float64 matrices recorded in case.json, with the tolerance of their F32 copies.
  for (const [key, mine, tolOf] of [['H_float64', sample.H, 'H'], ['H_inverse_float64', sample.Hinv, 'H_inverse']] as const) {
    const m = json[key];
    if (m && c.has(tolOf)) out.push(checkTensor(c.name, key, mine, m.flat(), c.entry(tolOf).tolerance));
  }
  if (json.rect2_tl_tr_br_bl) {
    out.push(checkTensor(c.name, 'rect2_tl_tr_br_bl', sample.rect2.flat(), json.rect2_tl_tr_br_bl.flat(), { kind: 'exact' }));
  }
  return out;
}
