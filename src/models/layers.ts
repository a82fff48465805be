// Owns the building blocks shared by the networks: a named convolution and the residual block without BN
// (mmsr arch_util.ResidualBlockNoBN: x + conv2(relu(conv1(x)))).

import type { Ops } from '../graph/ops.ts';

export const LRELU_SLOPE = 0.1;

export function conv<T>(ops: Ops<T>, name: string, x: T, cin: number, cout: number, kernel = 3): T {
  const w = ops.param(`${name}.weight`, [cout, cin, kernel, kernel]);
  const b = ops.param(`${name}.bias`, [cout]);
  return ops.conv2d(x, w, b, { pad: (kernel - 1) / 2 });
}

export function residualBlock<T>(ops: Ops<T>, name: string, x: T, nf: number): T {
  const h = conv(ops, `${name}.conv2`, ops.relu(conv(ops, `${name}.conv1`, x, nf, nf)), nf, nf);
  return ops.add(x, h);
}

export function residualBody<T>(ops: Ops<T>, name: string, x: T, nf: number, blocks: number): T {
  let h = x;
  for (let i = 0; i < blocks; i++) h = residualBlock(ops, `${name}.${i}`, h, nf);
  return h;
}
