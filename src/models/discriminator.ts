// Owns ImageDiscriminator, the WGAN-GP critic of restoration training (official discriminator_arch): five blocks
// [conv3 s1, BN, LeakyReLU 0.2, conv3 s2, BN, LeakyReLU 0.2] with widths ndf x (1, 2, 4, 8, 16), global average
// pool, 1x1 conv to 1024, LeakyReLU 0.2, 1x1 conv to 1, Sigmoid. BatchNorm runs in train mode. Official keys
// (conv_blockK.0 / .1 / .3 / .4, out_block.1 / .3).

import type { TrainOps } from '../training/train-ops.ts';
import { conv } from './layers.ts';

export const DISCRIMINATOR_SLOPE = 0.2;
export const BN_EPS = 1e-5;

export function imageDiscriminator<T>(ops: TrainOps<T>, x: T, ndf = 32, inChannels = 3): T {
  let fea = x;
  let cin = inChannels;
  [1, 2, 4, 8, 16].forEach((mult, i) => {
    const cout = ndf * mult;
    const p = `conv_block${i + 1}`;
    fea = ops.leakyRelu(ops.batchNormTrain(conv(ops, `${p}.0`, fea, cin, cout), `${p}.1`, cout, BN_EPS), DISCRIMINATOR_SLOPE);
    const w = ops.param(`${p}.3.weight`, [cout, cout, 3, 3]);
    const b = ops.param(`${p}.3.bias`, [cout]);
    fea = ops.leakyRelu(ops.batchNormTrain(ops.conv2d(fea, w, b, { pad: 1, stride: 2 }), `${p}.4`, cout, BN_EPS), DISCRIMINATOR_SLOPE);
    cin = cout;
  });
  fea = ops.leakyRelu(conv(ops, 'out_block.1', ops.globalAvgPool(fea), ndf * 16, 1024, 1), DISCRIMINATOR_SLOPE);
  return ops.sigmoid(conv(ops, 'out_block.3', fea, 1024, 1, 1));
}
