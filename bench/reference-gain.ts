// Benchmark: how much a restoration model gains from the right reference on the held-out pairs of a training config
// (the samples its validation uses: same seed, same held-out photos and scenes): mean PSNR-Y gain over bicubic with
// each sample's own reference and with a shuffled one, for the sharp and the degraded matching view of the
// reference (src/training/reference-gain.ts, the figures the training curve shows).
// - synthetic pairs only (a config without multi-view data): --samples pairs, the shuffled reference is the next
//   sample's (as the first model's README figures);
// - with the config's held-out multi-view scenes: --samples synthetic + --samples multi-view pairs, the shuffled
//   reference is the one half the list away (a multi-view pair gets a synthetic pair's), per source as well.
// Prints one JSON document on stdout.
//
// Usage: npx tsx bench/reference-gain.ts --model PATH --config CONFIG.yaml [--samples 32] [--threads N] [--view sharp|degraded]

import { readTrainConfig } from '../src/training/config.ts';
import { multiviewValidationSamples, pairSources, restorationImages, validationSamples } from '../src/training/stages/restoration-stage.ts';
import { referenceGainFigures } from '../src/training/reference-gain.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { MATCH_REFERENCE_VIEWS, type MatchReference } from '../src/matching/reference-view.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const modelPath = flag('--model');
const configPath = flag('--config');
if (!modelPath || !configPath) {
  process.stderr.write('usage: npx tsx bench/reference-gain.ts --model PATH --config CONFIG.yaml [--samples 32] [--threads N] [--view sharp|degraded]\n');
  process.exit(2);
}
const count = Number(flag('--samples') ?? 32);
const threads = flag('--threads') ? Number(flag('--threads')) : undefined;
const onlyView = flag('--view') as MatchReference | undefined;

const cfg = await readTrainConfig(configPath);
const { val } = await restorationImages(cfg);
if (val.length === 0) throw new Error(`${configPath}: no held-out photos`);
const synthetic = validationSamples(cfg, val, count);
const multiview = cfg.data.multiview ? multiviewValidationSamples(cfg, (await pairSources(cfg)).valScenes, count) : [];

const base = await RefSRModel.load(modelPath, { threads });
const views: Record<string, Record<string, number>> = {};
for (const view of onlyView ? [onlyView] : MATCH_REFERENCE_VIEWS) {
  const model = new RefSRModel(base.weights, { ...base.info, matchReference: view }, modelPath, { threads });
  const f = await referenceGainFigures(model, synthetic, multiview, {
    offset: multiview.length ? undefined : 1,
    onPair: (i, n) => process.stderr.write(`${view} ${i}/${n}\r`),
  });
  views[view] = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, +v.toFixed(3)]));
  await model.release();
}
process.stderr.write('\n');
console.log(JSON.stringify({
  benchmark: 'reference-gain', model: modelPath, modelView: base.info.matchReference, config: configPath,
  samples: { synthetic: synthetic.length, multiview: multiview.length },
  note: 'mean PSNR-Y gain over bicubic (dB) on held-out pairs, with each sample\'s own reference (gain_db) and a shuffled one (shuffled_gain_db)',
  views,
}, null, 2));
