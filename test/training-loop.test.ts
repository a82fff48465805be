// The training loop as a user runs it: `refsr train` in a real process on a small image folder, Adam's update rule,
// config errors, a run killed with SIGKILL resuming on the same loss curve, and a restoration run whose exported
// model `refsr upscale` loads.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { repoRoot } from './support/shared.ts';
import { BIN, refsr as runRefsr } from './support/cli.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { tempDir } from './support/temp.ts';
import { initTfjs } from '../src/training/tfjs-backend.ts';
import { Adam } from '../src/training/adam.ts';
import { parseTrainConfig, learningRate, locationFree, TrainConfigError } from '../src/training/config.ts';
import { loadCheckpoint, saveCheckpoint } from '../src/training/checkpoint.ts';
import { readSafetensors } from '../src/weights/safetensors.ts';
import { seededExtractor, seededExtractorSeed } from '../src/training/extractor-source.ts';
import { readWeightFile } from '../src/weights/read-weight-file.ts';

const dir = tempDir('refsr-train-');
const photos = join(dir, 'photos');

/** A textured photo (the tests' one synthetic-image generator) written as PNG. */
const texture = (path: string, w: number, h: number, seed: number) => save(path, scene(w, h, seed));

const refsr = (args: string[]) => runRefsr(args, { timeoutMs: 300_000 });

function losses(runDir: string): number[] {
  return readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number })
    .filter((l) => l.loss !== undefined).map((l) => l.loss!);
}

const TEACHER_YAML = `stage: teacher
seed: 3
steps: 8
batch: 1
lr: 1.0e-4
checkpoint_every: 2
validate_every: 100
degraded_input: true
init: { std: he }
model: { trunk_widths: [8, 8, 16] }
data: { train: [photos], hold_out_every: 0, crop_size: 96 }
`;

// Inputs of the tests below (a hook, not a test: each test runs on its own).
before(async () => {
  mkdirSync(photos);
  for (let i = 0; i < 4; i++) await texture(join(photos, `p${i}.png`), 112, 104, i + 1);
  writeFileSync(join(dir, 'teacher.yaml'), TEACHER_YAML);
});

test('Adam follows PyTorch: bias-corrected moments, eps outside the root; per-parameter rates; state round-trips', async () => {
  await initTfjs();
  const w = tf.variable(tf.tensor1d([1, -2]));
  const frozen = tf.variable(tf.tensor1d([5]));
  const vars = new Map([['w', w], ['f', frozen]]);
  const adam = new Adam();
  const g = [0.5, -1];
  adam.apply(vars, { w: tf.tensor1d(g), f: tf.tensor1d([1]) }, (n) => (n === 'w' ? 0.1 : 0));
  // Step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps).
  const after1 = w.dataSync();
  assert.ok(Math.abs(after1[0]! - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-6);
  assert.ok(Math.abs(after1[1]! - (-2 + 0.1)) < 1e-6);
  assert.equal(frozen.dataSync()[0], 5, 'a rate of 0 leaves the parameter alone');
  // Step 2 by hand with torch's formulas.
  const g2 = [0.25, 0.5];
  const m = g.map((x, i) => 0.9 * 0.1 * x + 0.1 * g2[i]!);
  const v = g.map((x, i) => 0.999 * 0.001 * x * x + 0.001 * g2[i]! ** 2);
  const expected = [...after1].map((p, i) => p - (0.1 / (1 - 0.9 ** 2)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** 2) + 1e-8));
  const saved = adam.state();
  const resumed = new Adam();
  resumed.load(saved, adam.steps);
  resumed.apply(vars, { w: tf.tensor1d(g2) }, () => 0.1);
  const after2 = w.dataSync();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(after2[i]! - expected[i]!) < 1e-6, `${after2[i]} vs ${expected[i]}`);
});

test('config: defaults are the paper schedule; errors name the field; rates by longest prefix and decay', () => {
  const cfg = parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors }\n', join(dir, 'r.yaml'));
  assert.equal(cfg.batch, 9);
  assert.equal(cfg.lr, 1e-4);
  assert.equal(learningRate(cfg, 'dyn_agg_restore.small_offset_conv1.weight', 0), 1e-6);
  assert.equal(learningRate(cfg, 'dyn_agg_restore.medium_offset_conv2.bias', 0), 1e-5);
  assert.equal(learningRate(cfg, 'content_extractor.conv_first.weight', 0), 1e-4);
  const t = parseTrainConfig(TEACHER_YAML.replace('steps: 8', 'steps: 8\nlr_decay: { at: [4], factor: 0.5 }'), join(dir, 't.yaml'));
  assert.equal(learningRate(t, 'x', 3), 1e-4);
  assert.equal(learningRate(t, 'x', 4), 0.5e-4);
  assert.throws(() => parseTrainConfig('stage: nope\n', 'bad.yaml'), (e: Error) => e instanceof TrainConfigError && /bad\.yaml: "stage" must be/.test(e.message));
  assert.throws(() => parseTrainConfig('stage: teacher\ndata: { train: [x] }\nbatch: 0\n', 'b.yaml'), /"batch" must be a positive integer/);
  assert.throws(() => parseTrainConfig('stage: student\ndata: { train: [x] }\n', 's.yaml'), /needs init.extractor/);
  // The matching view: absent = sharp and left out of the config (older run folders keep their fingerprint).
  assert.equal(cfg.model.matchReference, undefined);
  const deg = parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors }\nmodel: { match_reference: degraded }\n', join(dir, 'r.yaml'));
  assert.equal(deg.model.matchReference, 'degraded');
  assert.notEqual(deg.fingerprint, cfg.fingerprint);
  assert.throws(() => parseTrainConfig('stage: restoration\ndata: { train: [x] }\ninit: { extractor: e.safetensors }\nmodel: { match_reference: blurry }\n', 'm.yaml'), /m\.yaml: model\.match_reference must be sharp or degraded/);
  assert.throws(() => parseTrainConfig('stage: teacher\n', 'd.yaml'), /data.train/);
  assert.throws(() => parseTrainConfig(': : :\n  - [', 'y.yaml'), /not valid YAML/);
  for (const f of readdirSync(join(repoRoot, 'configs')).filter((n) => n.endsWith('.yaml'))) {
    const c = parseTrainConfig(readFileSync(join(repoRoot, 'configs', f), 'utf8'), join(repoRoot, 'configs', f));
    assert.ok(f.includes(c.stage), `${f} configures ${c.stage}`);
  }
});

test('config fingerprint: the same config in another checkout has the same fingerprint; a pre-2026-12-07 checkpoint still resumes where it was written', async () => {
  const yaml = 'stage: restoration\ndata: { train: [../../shared/data/train], multiview: ../shared/mv }\ninit: { from: ../models/m.safetensors, extractor: ../models/m.safetensors, encoder: vgg19:../../shared/vgg.json }\n';
  const a = parseTrainConfig(yaml, join(dir, 'checkout-a', 'configs', 'r.yaml'));
  const b = parseTrainConfig(yaml, join(dir, 'elsewhere', 'checkout-b', 'configs', 'r.yaml'));
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.legacyFingerprint, b.legacyFingerprint, 'the old fingerprint hashed absolute paths');
  assert.notEqual(parseTrainConfig(yaml.replace('m.safetensors, encoder', 'n.safetensors, encoder'), join(dir, 'checkout-a', 'configs', 'r.yaml')).fingerprint, a.fingerprint);
  assert.deepEqual(locationFree({ p: join(dir, 'x', 'y.json'), v: `vgg19:${join(dir, 'v.json')}`, s: 'seeded:1', n: 3 }, join(dir, 'x')), { p: 'y.json', v: 'vgg19:../v.json', s: 'seeded:1', n: 3 });
  const state = { step: 3, adamSteps: 3, params: new Map([['w', { shape: [1], data: Float32Array.of(2) }]]), optimizer: new Map() };
  const ckpt = join(dir, 'legacy-checkpoint.safetensors');
  await saveCheckpoint(ckpt, { ...a, fingerprint: a.legacyFingerprint }, state);
  assert.equal((await loadCheckpoint(ckpt, a))!.step, 3, 'legacy fingerprint, same checkout: resumes');
  await assert.rejects(loadCheckpoint(ckpt, b), /was written by a different training configuration/);
  await saveCheckpoint(ckpt, a, state);
  assert.equal((await loadCheckpoint(ckpt, b))!.step, 3, 'new fingerprint: resumes in another checkout');
});

test('train teacher: a SIGKILLed run resumes from its last checkpoint on the same loss curve', async () => {
  const cfg = join(dir, 'teacher.yaml');
  const straight = join(dir, 'run-straight');
  const r = refsr(['train', 'teacher', '-c', cfg, '-o', straight]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).finished, true);
  const reference = losses(straight);
  assert.equal(reference.length, 8);
  assert.ok(existsSync(join(straight, 'model.safetensors')));
  const exported = await readWeightFile(join(straight, 'model.safetensors'));
  assert.ok(exported.has('feature_extraction_image1.model.conv1_1.weight'));

  const killed = join(dir, 'run-killed');
  const child = spawn(process.execPath, [BIN, 'train', 'teacher', '-c', cfg, '-o', killed], { stdio: 'ignore' });
  // Kill it once a checkpoint past step 2 exists and it has logged a step beyond it.
  await new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const poll = setInterval(() => {
      const log = existsSync(join(killed, 'log.jsonl')) ? readFileSync(join(killed, 'log.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length : 0;
      if (log >= 5 && existsSync(join(killed, 'checkpoint.safetensors'))) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      } else if (Date.now() - t0 > 240_000) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error('the run never reached step 5'));
      }
    }, 20);
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const resumed = refsr(['train', 'teacher', '-c', cfg, '-o', killed]);
  assert.equal(resumed.code, 0, resumed.stderr);
  const info = JSON.parse(resumed.stdout) as { resumedFrom: number; finished: boolean };
  assert.ok(info.resumedFrom >= 2 && info.resumedFrom < 8, `resumed from ${info.resumedFrom}`);
  assert.match(resumed.stderr, /resuming at step/);
  assert.deepEqual(losses(killed), reference, 'the resumed run logs exactly the uninterrupted losses');

  // Ctrl-C (SIGTERM here) stops at a step boundary with a checkpoint and says so; the rerun completes the same curve.
  const cancelled = join(dir, 'run-cancelled');
  const stopped = spawn(process.execPath, [BIN, 'train', 'teacher', '-c', cfg, '-o', cancelled], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  stopped.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const n = existsSync(join(cancelled, 'log.jsonl')) ? readFileSync(join(cancelled, 'log.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length : 0;
      if (n >= 3) { clearInterval(poll); stopped.kill('SIGTERM'); resolve(); }
    }, 20);
  });
  const code = await new Promise((resolve) => stopped.once('exit', resolve));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /cancelled; checkpoint at step \d+ kept in .*rerun the same command to resume/);
  assert.equal(refsr(['train', 'teacher', '-c', cfg, '-o', cancelled]).code, 0);
  assert.deepEqual(losses(cancelled), reference);

  // A finished run is extended by raising `steps`: it resumes at its last step.
  writeFileSync(join(dir, 'teacher-longer.yaml'), TEACHER_YAML.replace('steps: 8', 'steps: 10'));
  const longer = refsr(['train', 'teacher', '-c', join(dir, 'teacher-longer.yaml'), '-o', straight]);
  assert.equal(longer.code, 0, longer.stderr);
  assert.deepEqual([JSON.parse(longer.stdout).resumedFrom, JSON.parse(longer.stdout).step], [8, 10]);
  assert.equal(losses(straight).length, 10);

  // A different config in the same folder is refused, naming the problem.
  writeFileSync(join(dir, 'teacher2.yaml'), TEACHER_YAML.replace('seed: 3', 'seed: 4'));
  const clash = refsr(['train', 'teacher', '-c', join(dir, 'teacher2.yaml'), '-o', killed]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /different training configuration/);

  // A folder another live process trains in is refused (its lock names the pid).
  const busy = join(dir, 'run-busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'run.lock'), String(process.pid));
  const refused = refsr(['train', 'teacher', '-c', cfg, '-o', busy]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`in use by another training process \\(pid ${process.pid}\\)`));
});

/** A restoration config small enough for a test: ngf 8, one block per stage, trunk widths 8/8/16. */
function tinyRestorationYaml(o: { seed: number; steps: number; validateEvery: number; data: string; extra?: string; matchReference?: string }): string {
  return `stage: restoration
seed: ${o.seed}
steps: ${o.steps}
batch: 2
lr: 1.0e-3
checkpoint_every: 1
validate_every: ${o.validateEvery}
init: { std: he, zero: [dyn_agg_restore.tail_large.2.weight], extractor: 'seeded:1' }
model: { ngf: 8, content_blocks: 1, small_blocks: 1, medium_blocks: 1, large_blocks: 1, small_aggregation: false, groups: 4, trunk_widths: [8, 8, 16]${o.matchReference ? `, match_reference: ${o.matchReference}` : ''} }
${o.extra ?? ''}data: { train: [photos], ${o.data}, pairs: { lr_patch: 8, ref_size: 48 } }
`;
}

test('seeded:N extractor: both branches start equal, the same for the same seed, different for another', () => {
  const a = seededExtractor(1, [8, 8, 16]);
  const b = seededExtractor(1, [8, 8, 16]);
  const c = seededExtractor(2, [8, 8, 16]);
  const k1 = 'feature_extraction_image1.model.conv1_1.weight';
  assert.deepEqual(a.get(k1)!.data, a.get(k1.replace('image1', 'image2'))!.data);
  assert.deepEqual(a.get(k1)!.data, b.get(k1)!.data);
  assert.notDeepEqual(a.get(k1)!.data, c.get(k1)!.data);
  assert.equal(seededExtractorSeed('seeded'), 1);
  assert.equal(seededExtractorSeed('seeded:7'), 7);
  assert.equal(seededExtractorSeed('seeded.safetensors'), undefined);
});

test('train restoration: a few steps from the seeded extractor give a model bundle that refsr upscale loads', async () => {
  writeFileSync(join(dir, 'restoration.yaml'), tinyRestorationYaml({ seed: 1, steps: 3, validateEvery: 3, data: 'hold_out_every: 4, val_samples: 1', matchReference: 'degraded' }));
  const run = join(dir, 'run-restoration');
  const r = refsr(['train', 'restoration', '-c', join(dir, 'restoration.yaml'), '-o', run]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /validation at step 3: \{"psnr_y":/);
  const log = readFileSync(join(run, 'log.jsonl'), 'utf8');
  assert.match(log, /"gain_db"/);
  const model = JSON.parse(r.stdout).model as string;
  const metadata = (await readSafetensors(model)).metadata;
  assert.equal(metadata['refsr.match_reference'], 'degraded', 'the matching view the network was trained with travels with it');
  const provenance = JSON.parse(metadata['refsr.provenance']!);
  assert.equal(provenance.extractor, 'seeded:1');
  assert.equal(provenance.steps, 3);
  assert.ok(!provenance.data[0].startsWith('/'), `data paths are relative: ${provenance.data[0]}`);
  const lr = join(dir, 'lr.png');
  await texture(lr, 20, 16, 9);
  const out = join(dir, 'sr.png');
  const up = refsr(['upscale', lr, '--ref', join(photos, 'p1.png'), '-o', out, '--model', model]);
  assert.equal(up.code, 0, up.stderr);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [80, 64]);
});

test('train restoration with the GAN phase: perceptual + WGAN-GP after the warm-up, critic checkpointed, resumed run on the same curve', async () => {
  const yaml = join(dir, 'restoration-gan.yaml');
  writeFileSync(yaml, tinyRestorationYaml({
    seed: 3, steps: 4, validateEvery: 100, data: 'hold_out_every: 0',
    extra: 'losses: { perceptual: 1.0e-2, perceptual_layer: relu2_1, gan: 1.0e-3, warmup: 1 }\ncritic: { ndf: 4, lr: 1.0e-3 }\n',
  }));
  const lines = (run: string) => readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((l) => 'loss' in l);
  const straight = join(dir, 'run-gan-straight');
  const r = refsr(['train', 'restoration', '-c', yaml, '-o', straight, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const log = lines(straight);
  assert.equal(log.length, 4);
  assert.ok(!('gan' in log[0]!) && !('critic_loss' in log[0]!) && !('perceptual' in log[0]!), 'step 1 is L1-only warm-up');
  for (const l of log.slice(1)) {
    for (const k of ['l1', 'perceptual', 'gan', 'critic_loss', 'd_real', 'd_fake', 'gp']) assert.ok(Number.isFinite(l[k]), `step ${l.step} logs ${k}`);
    assert.ok(Math.abs(l.loss! - (l.l1! + l.perceptual! + l.gan!)) < 1e-5, 'the generator loss is L1 + perceptual + GAN');
  }
  const ckpt = await readSafetensors(join(straight, 'checkpoint.safetensors'));
  assert.ok(ckpt.tensors.has('param.net_d.conv_block1.0.weight'), 'the critic is checkpointed');
  assert.ok([...ckpt.tensors.keys()].some((k) => k.startsWith('adam.m.net_d.')), "and so are its Adam moments");
  assert.equal(JSON.parse(ckpt.metadata['refsr.checkpoint']!).criticAdamSteps, 3);
  const exported = await readWeightFile(join(straight, 'model.safetensors'));
  assert.ok(!exported.keys().some((k) => k.includes('conv_block')), 'the exported model holds no critic');

  const split = join(dir, 'run-gan-split');
  const first = refsr(['train', 'restoration', '-c', yaml, '-o', split, '-q', '--max-steps', '2']);
  assert.equal(first.code, 0, first.stderr);
  const rest = refsr(['train', 'restoration', '-c', yaml, '-o', split, '-q']);
  assert.equal(rest.code, 0, rest.stderr);
  assert.equal(JSON.parse(rest.stdout).resumedFrom, 2);
  const strip = (ls: Record<string, number>[]) => ls.map(({ seconds: _s, ...l }) => l);
  assert.deepEqual(strip(lines(split)), strip(log), 'resuming mid-GAN phase follows the uninterrupted curve');
});
