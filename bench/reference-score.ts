// Benchmark: the reference relevance score (src/matching/reference-score.ts, mean best-match correlation) of input /
// reference pairs with their own reference and with a shuffled one (the pair half the list away, so another scene), to set and check the
// "reference looks unrelated" threshold of `refsr upscale`. Pairs: examples/coffee-{hr,ref}.png and every pair of
// the given paired folders (input/NAME + ref/NAME: ../shared/data/wr-sr-dev, cufed-train-sample). The input is the
// ground truth bicubic-downscaled /4 (Pillow), mod-cropped to 4, limited to --max-side LR px; references to 4 MP,
// as upscale does. Prints one JSON document on stdout.
//
// Usage: npx tsx bench/reference-score.ts [--model NAME|PATH] [--limit N] [--max-side 128] DIR...

import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../src/image/decode.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import type { RgbImage } from '../src/image/rgb-image.ts';
import { RefSRModel } from '../src/pipeline/refsr-model.ts';
import { resolveModel } from '../src/pipeline/model-registry.ts';
import { buildReferenceCanvas, DEFAULT_REF_MAX_PIXELS } from '../src/pipeline/reference-canvas.ts';
import { correspondenceFeatures } from '../src/pipeline/super-resolve.ts';
import { matchRows } from '../src/matching/correspondence.ts';
import { referenceScore, UNRELATED_REFERENCE_SCORE } from '../src/matching/reference-score.ts';
import { repoRoot } from '../test/support/shared.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); if (i < 0) return undefined; const v = args[i + 1]; args.splice(i, 2); return v; };
const modelPath = resolveModel(flag('--model'));
const limit = Number(flag('--limit') ?? 1e9);
const maxSide = Number(flag('--max-side') ?? 128);

function crop(img: RgbImage, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
  return { width: w, height: h, data };
}

const pairs: { name: string; hr: string; ref: string }[] = [{ name: 'examples/coffee', hr: join(repoRoot, 'examples/coffee-hr.png'), ref: join(repoRoot, 'examples/coffee-ref.png') }];
for (const dir of args) {
  const refOf = (f: string) => [f, f.replace(/(\.[^.]+)$/, '_ref$1')].map((n) => join(dir, 'ref', n)).find((p) => existsSync(p));
  const files = readdirSync(join(dir, 'input')).filter((f) => refOf(f)).sort().slice(0, limit);
  for (const f of files) pairs.push({ name: `${dir.split('/').pop()}/${f}`, hr: join(dir, 'input', f), ref: refOf(f)! });
}

const model = await RefSRModel.load(modelPath, { threads: 1 });
const prepared: { name: string; lr: RgbImage; up: RgbImage; ref: RgbImage }[] = [];
for (const p of pairs) {
  const hr = await readImageFile(p.hr);
  const w = Math.min(maxSide * 4, hr.width - (hr.width % 4));
  const h = Math.min(maxSide * 4, hr.height - (hr.height % 4));
  const lr = pilResizeBicubic(crop(hr, w, h), w / 4, h / 4);
  const up = pilResizeBicubic(lr, w, h);
  const ref = buildReferenceCanvas([{ image: await readImageFile(p.ref), name: p.ref }], DEFAULT_REF_MAX_PIXELS).image;
  prepared.push({ name: p.name, lr, up, ref });
}

/** The score (mean) and, to compare candidate statistics, low quantiles of the per-position best-match scores. */
async function score(up: RgbImage, ref: RgbImage): Promise<{ mean: number; p10: number; p25: number }> {
  const { inFeat, refFeat } = await correspondenceFeatures(model, up, ref);
  const m = await matchRows(inFeat, refFeat.contras, { threads: 1 });
  const sorted = Float32Array.from(m.score!).sort();
  return { mean: referenceScore(m), p10: sorted[Math.floor(sorted.length * 0.1)]!, p25: sorted[Math.floor(sorted.length * 0.25)]! };
}

const rows: { name: string; own: number; shuffled: number; ownP10: number; shuffledP10: number; ownP25: number; shuffledP25: number }[] = [];
for (let i = 0; i < prepared.length; i++) {
  const p = prepared[i]!;
  const other = prepared[(i + Math.floor(prepared.length / 2)) % prepared.length]!;
  const a = await score(p.up, p.ref);
  const b = await score(p.up, other.ref);
  rows.push({ name: p.name, own: a.mean, shuffled: b.mean, ownP10: a.p10, shuffledP10: b.p10, ownP25: a.p25, shuffledP25: b.p25 });
  process.stderr.write(`${rows.length}/${prepared.length} ${p.name} own ${a.mean.toFixed(3)} (p10 ${a.p10.toFixed(3)}) shuffled ${b.mean.toFixed(3)} (p10 ${b.p10.toFixed(3)})\n`);
}
const own = rows.map((r) => r.own).sort((a, b) => a - b);
const shuf = rows.map((r) => r.shuffled).sort((a, b) => a - b);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const t = UNRELATED_REFERENCE_SCORE;
console.log(JSON.stringify({
  model: modelPath, pairs: rows.length, maxSideLr: maxSide, threshold: t,
  own: { mean: mean(own), min: own[0], max: own.at(-1), flaggedUnrelated: own.filter((v) => v < t).length },
  shuffled: { mean: mean(shuf), min: shuf[0], max: shuf.at(-1), flaggedUnrelated: shuf.filter((v) => v < t).length },
  rows,
}, null, 1));
