// Benchmark: the robustness study (C2-Matching section 5.4 / Fig. 6) on ../shared/data/set14 (or --data DIR): every
// image, centre-cropped to --max-size px, is its own reference after identity / scale (0.8-1.0, 0.6-0.8, 0.4-0.6) /
// rotation (0-15, 15-45, 45-90 degrees) transformations with known ground truth; per group the AEE (LR pixels) of
// refsr's correspondences (the model's contrastive extractor) and of the SRNTT-style VGG19 relu3_1 baseline
// (against the reference itself and against the reference degraded like the input), PCK@1 cell, and PSNR-Y of
// refsr and bicubic. Prints one JSON document on stdout (progress on stderr).
//
// Usage: npx tsx bench/robustness.ts --model PATH [--extractor STAGE_OUTPUT] [--data DIR] [--vgg-baseline WEIGHTS] [--limit N]
//   [--max-size 192] [--seed 1] [--out FULL_REPORT.json] [--chart CHART.png] [--match-reference sharp|degraded]
// (--match-reference overrides the matching view the bundle names, to compare both views of one extractor;
// --extractor FILE replaces the bundle's contrastive extractor by a teacher or student stage output, so a trained
// correspondence network is measured without a restoration network of its own.)
//
// Reading the numbers: the refsr columns (AEE refsr, PSNR refsr) measure the model given with --model, with the
// matching view of the reference its bundle names (sharp, or degraded like the input). An untrained extractor (the
// bundled model's seeded one) gives random-projection features: poor against the sharp reference, much better
// against the degraded one; a bundle converted from the golden test weights has a random extractor whose numbers
// say nothing about C2-Matching. The VGG baseline columns use real ImageNet VGG19
// weights (the bundle's `vgg.*`, or --vgg-baseline, e.g. ../shared/data/vgg19-conv3_1/vgg19_relu3_1_oihw.json) and
// are meaningful whatever the restoration and extractor weights are.

import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { readTensorFile } from '../src/weights/read-weight-file.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { MATCH_REFERENCE_VIEWS, type MatchReference } from '../src/matching/reference-view.ts';
import { FeatureExtractor } from '../src/eval/features.ts';
import { listImageSet } from '../src/eval/datasets.ts';
import { readImageFile } from '../src/image/decode.ts';
import { DEFAULT_MAX_SIZE, imageName, runRobustness } from '../src/robustness/study.ts';
import { formatTable, jsonTable, writeRobustnessOutputs } from '../src/robustness/report.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.REFSR_SHARED ?? resolve(repoRoot, '..', 'shared');

const modelPath = flag('--model');
if (!modelPath) {
  process.stderr.write('usage: npx tsx bench/robustness.ts --model PATH [--extractor STAGE_OUTPUT] [--data DIR] [--vgg-baseline WEIGHTS] [--limit N] [--max-size PX] [--seed N] [--out FILE] [--chart FILE.png]\n'
    + '(import a model with `refsr convert`; refsr numbers measure that model\'s own extractor, the VGG baseline needs real VGG19 weights)\n');
  process.exit(2);
}
const dataDir = flag('--data') ?? join(shared, 'data', 'set14');
if (!existsSync(dataDir)) {
  process.stderr.write(`data folder not found: ${dataDir} (../shared/data is needed, or pass --data DIR)\n`);
  process.exit(1);
}
const limit = flag('--limit') ? Number(flag('--limit')) : undefined;
const maxSize = Number(flag('--max-size') ?? DEFAULT_MAX_SIZE);
const seed = Number(flag('--seed') ?? 1);
const vggFile = flag('--vgg-baseline');

const view = flag('--match-reference');
if (view !== undefined && !MATCH_REFERENCE_VIEWS.includes(view as MatchReference)) {
  process.stderr.write(`--match-reference must be ${MATCH_REFERENCE_VIEWS.join(' or ')}\n`);
  process.exit(2);
}
const loaded = await RefSRModel.load(modelPath);
const extractorFile = flag('--extractor');
let weights = loaded.weights;
if (extractorFile) {
  const merged = new Map(loaded.weights.keys().map((k) => [k, loaded.weights.get(k)!] as const));
  const stage = await readTensorFile(extractorFile);
  let replaced = 0;
  for (const [k, t] of stage.tensors) {
    if (k.startsWith('feature_extraction_image') && merged.has(k)) { merged.set(k, t); replaced++; }
  }
  if (replaced === 0) {
    process.stderr.write(`${extractorFile}: no contrastive extractor weights (feature_extraction_image1/2.*) matching the model's\n`);
    process.exit(1);
  }
  weights = WeightMap.fromTensors(merged, loaded.weights.metadata);
}
const model = view || extractorFile ? new RefSRModel(weights, { ...loaded.info, ...(view ? { matchReference: view as MatchReference } : {}) }, modelPath) : loaded;
const vgg = vggFile ? await FeatureExtractor.vggFromFile(vggFile) : new FeatureExtractor(model.weights, model.info.vggInput);
const files = listImageSet(dataDir).slice(0, limit);
const images = [];
for (const f of files) images.push({ name: imageName(f), image: await readImageFile(f) });
const report = await runRobustness(model, images, { dataset: dataDir, model: modelPath, vggBaseline: vggFile ?? `${modelPath} (vgg.*)` }, {
  seed, maxSize, vgg,
  onSample: (s, done, total) => process.stderr.write(`${done}/${total} ${s.image} ${s.group} ${s.param.toFixed(2)}: AEE refsr ${(s.epe.refsr!.sum / Math.max(1, s.epe.refsr!.count)).toFixed(2)} vgg ${(s.epe.vgg!.sum / Math.max(1, s.epe.vgg!.count)).toFixed(2)}\n`),
});
await model.release();
await vgg.release();
await writeRobustnessOutputs(report, { json: flag('--out'), chart: flag('--chart') });
process.stderr.write(`${formatTable(report)}\n`);
console.log(JSON.stringify({
  benchmark: 'robustness', dataset: dataDir, model: modelPath, matchReference: model.info.matchReference, vggBaseline: report.vggBaseline, images: report.images.length,
  maxSize, seed, seconds: +report.seconds.toFixed(1),
  note: 'refsr columns measure the model\'s own contrastive extractor and matching view (an untrained extractor is weak); the VGG baseline columns use the VGG weights named in vggBaseline',
  table: jsonTable(report),
}, null, 2));
