// Owns SPyNet as BasicVSR and the Ref-VSR network use it (mmedit `SPyNet`, keys `spynet.basic_module.{0..5}.
// basic_module.{0..4}.conv.*`, buffers `spynet.mean/std`): the optical flow from a reference frame to a supporting
// frame, in pixels, channel 0 = x. Both frames are resized to the next multiple of 32 (bilinear, align_corners
// False), normalised with the ImageNet mean/std buffers and pooled into a 6-level pyramid; from the coarsest level
// up, each level upsamples the flow (x2, align_corners True), warps the supporting frame by it (border padding) and
// adds a five-conv residual; the flow is resized back and rescaled by w / w_up and h / h_up.

import type { Ops } from '../graph/ops.ts';
import { conv } from './layers.ts';

export const SPYNET_LEVELS = 6;
const BASIC_MODULE_WIDTHS = [8, 32, 64, 32, 16, 2] as const;

/** The next multiple of 32 (the size itself when it is one). */
export function spynetSize(n: number): number {
  return n % 32 === 0 ? n : 32 * (Math.floor(n / 32) + 1);
}

/** One pyramid level's residual flow: five 7x7 convs 8->32->64->32->16->2, ReLU after the first four. */
function basicModule<T>(ops: Ops<T>, name: string, x: T): T {
  let h = x;
  for (let k = 0; k < 5; k++) {
    h = conv(ops, `${name}.basic_module.${k}.conv`, h, BASIC_MODULE_WIDTHS[k]!, BASIC_MODULE_WIDTHS[k + 1]!, 7);
    if (k < 4) h = ops.relu(h);
  }
  return h;
}

/** `compute_flow` on frames whose sizes are multiples of 32. */
function computeFlow<T>(ops: Ops<T>, prefix: string, ref: T, supp: T): T {
  const mean = ops.param(`${prefix}.mean`, [1, 3, 1, 1]);
  const std = ops.param(`${prefix}.std`, [1, 3, 1, 1]);
  const refs = [ops.div(ops.sub(ref, mean), std)];
  const supps = [ops.div(ops.sub(supp, mean), std)];
  for (let l = 1; l < SPYNET_LEVELS; l++) {
    refs.unshift(ops.avgPool2x2(refs[0]!));
    supps.unshift(ops.avgPool2x2(supps[0]!));
  }
  const [n, , h0, w0] = ops.shape(refs[0]!) as [number, number, number, number];
  let flow = ops.constant(`${prefix}_zero_flow`, [n, 2, h0, w0], new Float32Array(n * 2 * h0 * w0));
  for (let l = 0; l < SPYNET_LEVELS; l++) {
    let flowUp = flow;
    if (l > 0) {
      const [, , h, w] = ops.shape(flow) as [number, number, number, number];
      flowUp = ops.mul(ops.resizeBilinear(flow, 2 * h, 2 * w, true), ops.constant(`${prefix}_two`, [], Float32Array.of(2)));
    }
    const input = ops.concat([refs[l]!, ops.flowWarp(supps[l]!, flowUp, 'border'), flowUp], 1);
    flow = ops.add(flowUp, basicModule(ops, `${prefix}.basic_module.${l}`, input));
  }
  return flow;
}

/** SPyNet.forward(ref, supp): flow [N, 2, h, w] (x, y) in pixels of the input frames [N, 3, h, w] in [0, 1]. */
export function spynetFlow<T>(ops: Ops<T>, ref: T, supp: T, prefix = 'spynet'): T {
  const [, , h, w] = ops.shape(ref) as [number, number, number, number];
  const hUp = spynetSize(h);
  const wUp = spynetSize(w);
  const resized = hUp !== h || wUp !== w;
  const up = (x: T) => (resized ? ops.resizeBilinear(x, hUp, wUp, false) : x);
  let flow = computeFlow(ops, prefix, up(ref), up(supp));
  if (resized) {
    flow = ops.resizeBilinear(flow, h, w, false);
    flow = ops.mul(flow, ops.constant(`${prefix}_flow_scale`, [1, 2, 1, 1], Float32Array.of(w / wUp, h / hUp)));
  }
  return flow;
}
