// Benchmark: `refsr video` speed on a 180x144 -> 720x576 clip (Vid4's size) with a 720x576 keyframe, frames per
// second, for the released Ref-VSR size (num_blocks 30, 64 channels) and a reduced depth (num_blocks 5), at 1 and 2
// threads, and the bundled video model (its own reduced width and depth). Seeded random weights for the sizes:
// the time does not depend on the values. Each configuration runs in its own child process (peak RSS is its own);
// the clip runs as `refsr video` does by default (one temporal window, `auto` matching = the fast
// coarse-to-fine search at this size; reconstruction windows of --tile LR px, default 96; --tile 192 = whole frames)
// and, with --exact, also with the official exact matching. The first window
// builds the step graphs (cold); a second identical clip in the same process gives the warm figure.
// `--blocks` also takes `bundled`: the bundled video model (models/video.safetensors, its own size).
// Prints one JSON document on stdout. Usage: npx tsx bench/video.ts [--frames 3] [--blocks 30,5,bundled] [--threads 1,2] [--tile 96] [--exact]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { initWeights } from '../src/models/init-weights.ts';
import { refVsrSpec } from '../src/models/refvsr-bundle.ts';
import { WeightMap } from '../src/weights/weight-map.ts';
import { RefVsrModel } from '../src/pipeline/refvsr-model.ts';
import { upscaleClip, DEFAULT_VIDEO_TILE } from '../src/pipeline/refvsr-video.ts';
import { photoLike } from './support/photo-like.ts';
import { join } from 'node:path';
import { MODELS_DIR, DEFAULT_VIDEO_MODEL_NAME } from '../src/pipeline/model-registry.ts';
import type { MatchingMode } from '../src/pipeline/super-resolve.ts';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };


/** `bundled`: the bundled video model (models/video.safetensors); a number: seeded random weights of that num_blocks. */
async function loadModel(which: string, threads: number): Promise<RefVsrModel> {
  if (which === 'bundled') return RefVsrModel.load(join(MODELS_DIR, `${DEFAULT_VIDEO_MODEL_NAME}.safetensors`), { threads });
  const blocks = Number(which);
  const w = WeightMap.fromTensors(initWeights(refVsrSpec({ numBlocks: blocks, groups: 8 }), { seed: 1, std: 0.02, offsetStd: 0.002 }));
  return new RefVsrModel(w, { numBlocks: blocks, groups: 8 }, `random-${blocks}`, { threads });
}

async function child(which: string, threads: number, frames: number, matching: MatchingMode, tile: number): Promise<void> {
  const model = await loadModel(which, threads);
  const clipFrames = Array.from({ length: frames }, (_, i) => photoLike(180, 144, 3 + i, i));
  const keyframe = photoLike(720, 576, 99);
  const runs = [];
  for (const label of ['cold', 'warm']) {
    const t0 = performance.now();
    const r = await upscaleClip(model, { count: frames, read: async (i) => clipFrames[i]!, name: (i) => `frame ${i}` }, keyframe, { matching, tile, onFrame: async () => {} });
    const total = (performance.now() - t0) / 1000;
    runs.push({ run: label, seconds: Number(total.toFixed(2)), framesPerSecond: Number((frames / total).toFixed(4)), matchingSeconds: Number(r.seconds.matching.toFixed(2)), networkSeconds: Number(r.seconds.network.toFixed(2)), matching: r.matching });
  }
  await model.release();
  process.stdout.write(JSON.stringify({ runs, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), config: JSON.stringify({ numBlocks: model.config.numBlocks, midChannels: model.config.mid ?? 64, groups: model.config.groups }) }));
}

async function main(): Promise<void> {
  if (args[0] === '--child') {
    await child(args[1]!, Number(args[2]), Number(args[3]), args[4] as MatchingMode, Number(args[5]));
    return;
  }
  const frames = Number(flag('--frames') ?? 3);
  const blocks = (flag('--blocks') ?? '30,5').split(',');
  const threads = (flag('--threads') ?? '1,2').split(',').map(Number);
  const modes: MatchingMode[] = args.includes('--exact') ? ['auto', 'exact'] : ['auto'];
  const tile = Number(flag('--tile') ?? DEFAULT_VIDEO_TILE);
  const results = [];
  const load0 = loadavg()[0];
  for (const b of blocks) for (const t of threads) for (const m of modes) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(b), String(t), String(frames), m, String(tile)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`child failed (blocks ${b}, threads ${t}): ${r.stderr}`);
    const info = b === 'bundled' ? { model: 'bundled video model (models/video.safetensors)', ...JSON.parse(JSON.parse(r.stdout).config) } : { model: b === '30' ? 'released size (num_blocks 30)' : `random, num_blocks ${b}`, numBlocks: Number(b), midChannels: 64, groups: 8 };
    const { config: _c, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
    results.push({ ...info, threads: t, matchingMode: m, reconstructionTile: tile, ...rest });
    process.stderr.write(`done: ${JSON.stringify(results.at(-1))} (load ${loadavg()[0].toFixed(1)})\n`);
  }
  console.log(JSON.stringify({
    benchmark: `refsr video, 180x144 -> 720x576, keyframe 720x576, one temporal window, ${tile >= 180 ? 'whole-frame reconstruction' : `reconstruction in windows of ${tile} LR px`}`,
    frames, cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
    loadAverage1mAtStart: Number(load0.toFixed(2)), loadAverage1mAtEnd: Number(loadavg()[0].toFixed(2)),
    weights: 'seeded random for a num_blocks entry (speed does not depend on the values); the bundled model for `bundled`',
    results,
  }, null, 1));
}

await main();
