// Benchmark: how much a restoration model gains from the right reference on the held-out synthetic pairs of a
// training config (the samples its validation uses: same seed, same held-out photos): mean PSNR-Y gain over bicubic
// with each sample's own reference and with the next sample's (an irrelevant one), for the sharp and the degraded
// matching view of the reference. Prints one JSON document on stdout.
//
// Usage: npx tsx bench/reference-gain.ts --model PATH --config CONFIG.yaml [--samples 32] [--threads N]

import { readTrainConfig } from '../src/training/config.ts';
import { restorationImages, validationSamples } from '../src/training/stages/restoration-stage.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { superResolve } from '../src/pipeline/super-resolve.ts';
import { fromNCHW } from '../src/image/layout.ts';
import { psnrY } from '../src/metrics/index.ts';
import { MATCH_REFERENCE_VIEWS } from '../src/matching/reference-view.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const modelPath = flag('--model');
const configPath = flag('--config');
if (!modelPath || !configPath) {
  process.stderr.write('usage: npx tsx bench/reference-gain.ts --model PATH --config CONFIG.yaml [--samples 32] [--threads N]\n');
  process.exit(2);
}
const count = Number(flag('--samples') ?? 32);
const threads = flag('--threads') ? Number(flag('--threads')) : undefined;

const cfg = await readTrainConfig(configPath);
const { val } = await restorationImages(cfg);
if (val.length === 0) throw new Error(`${configPath}: no held-out photos`);
const samples = validationSamples(cfg, val, count);

const base = await RefSRModel.load(modelPath, { threads });
const views: Record<string, { own: number; shuffled: number }> = {};
for (const view of MATCH_REFERENCE_VIEWS) {
  const model = new RefSRModel(base.weights, { ...base.info, matchReference: view }, modelPath, { threads });
  let own = 0;
  let shuffled = 0;
  for (const [i, s] of samples.entries()) {
    const bicubic = psnrY(s.up, s.gt, 4);
    own += psnrY(fromNCHW((await superResolve(model, s.lr, s.up, s.ref, { matching: 'exact' })).sr), s.gt, 4) - bicubic;
    const other = samples[(i + 1) % samples.length]!.ref;
    shuffled += psnrY(fromNCHW((await superResolve(model, s.lr, s.up, other, { matching: 'exact' })).sr), s.gt, 4) - bicubic;
    process.stderr.write(`${view} ${i + 1}/${samples.length}\r`);
  }
  views[view] = { own: +(own / count).toFixed(3), shuffled: +(shuffled / count).toFixed(3) };
  await model.release();
}
process.stderr.write('\n');
console.log(JSON.stringify({
  benchmark: 'reference-gain', model: modelPath, modelView: base.info.matchReference, config: configPath, samples: count,
  note: 'mean PSNR-Y gain over bicubic (dB) on held-out synthetic pairs, with each sample\'s own reference and with the next sample\'s',
  views,
}, null, 2));
