// `refsr video` as a user runs it, on a random Ref-VSR model (num_blocks 1) and LR frames of the network's minimum
// 64x64: a folder of frames in natural order to a folder of PNGs (names kept), a rerun that skips what is done,
// Ctrl-C after the first frame (the frame stays, no temp file), every bad input with its one-line error, and with
// Debian's ffmpeg a lossless video file in (same frames as the folder run) and an .mp4 out.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { refsr, refsrInterrupted } from './support/cli.ts';
import { tempDir } from './support/temp.ts';
import { prerequisite } from './support/shared.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyRefVsrFile } from './support/tiny-refvsr.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { readImageFile } from '../src/image/decode.ts';
import { crop } from '../src/image/layout.ts';
import { ffmpegAvailable } from '../src/video/ffmpeg.ts';
import { MODELS_DIR, DEFAULT_VIDEO_MODEL_NAME } from '../src/pipeline/model-registry.ts';

const ffmpegSkip = prerequisite(ffmpegAvailable(), 'ffmpeg is not installed (Debian: apt-get install ffmpeg); the video-file tests of refsr video are skipped');

let model = '';
let dir = '';
const NAMES = ['f1', 'f2', 'f10']; // natural order: f1, f2, f10 (a plain sort would put f10 second)

before(async () => {
  model = await writeTinyRefVsrFile();
  dir = tempDir('refsr-video-cli-');
  const big = scene(80, 72, 4);
  mkdirSync(join(dir, 'clip'));
  mkdirSync(join(dir, 'numbered'));
  for (let i = 0; i < 3; i++) {
    const f = crop(big, 2 * i, i, 64, 64);
    await save(join(dir, 'clip', `${NAMES[i]}.png`), f);
    await save(join(dir, 'numbered', `${String(i).padStart(3, '0')}.png`), f);
  }
  await save(join(dir, 'key.png'), scene(48, 40, 6));
});

const args = (input: string, out: string, ...more: string[]) => ['video', input, '--ref', join(dir, 'key.png'), '-o', out, '--model', model, '--window', '2', ...more];
const pngs = (d: string) => readdirSync(d).filter((f) => f.endsWith('.png')).sort();

test('folder in, folder out: natural order, names kept, 4x frames, a line per frame; a rerun skips finished windows', async () => {
  const out = join(dir, 'out');
  const r = refsr(args(join(dir, 'clip'), out), { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(pngs(out), ['f1.png', 'f10.png', 'f2.png']);
  assert.match(r.stderr, /frame 1\/3 written: f1\.png[\s\S]*frame 2\/3 written: f2\.png[\s\S]*frame 3\/3 written: f10\.png/);
  const sr = await readImageFile(join(out, 'f10.png'));
  assert.deepEqual([sr.width, sr.height], [256, 256]);
  // Windows [f1 f2] (owns f1, f2) and [f2 f10] (owns f10): without f10 only the second window runs again.
  const kept = statSync(join(out, 'f1.png')).mtimeMs;
  unlinkSync(join(out, 'f10.png'));
  const again = refsr(args(join(dir, 'clip'), out), { timeoutMs: 600_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 frames already in .* were kept/);
  assert.doesNotMatch(again.stderr, /written: f1\.png/);
  assert.equal(statSync(join(out, 'f1.png')).mtimeMs, kept);
  assert.deepEqual(await readImageFile(join(out, 'f10.png')), sr);
});

test('Ctrl-C after the first frame: exit 130, that frame kept, no temp file', async () => {
  const out = join(dir, 'cancelled');
  const r = await refsrInterrupted(args(join(dir, 'clip'), out), 'video-frame', { timeoutMs: 600_000 });
  assert.ok(r.interrupted, r.stderr);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /cancelled; kept the 1 frame written to .*cancelled \(rerun the same command to continue\)/);
  assert.deepEqual(readdirSync(out), ['f1.png']);
});

test('bad inputs: one clear line each, exit 1, nothing written', async () => {
  const bad = (name: string, frames: [string, Parameters<typeof save>[1] | string][]) => {
    const d = join(dir, name);
    mkdirSync(d);
    return Promise.all(frames.map(([f, img]) => (typeof img === 'string' ? writeFileSync(join(d, f), img) : save(join(d, f), img)))).then(() => d);
  };
  const cases: { args: string[]; error: RegExp; env?: Record<string, string> }[] = [
    { args: args(await bad('sizes', [['a.png', scene(64, 64, 1)], ['b.png', scene(68, 64, 2)]]), join(dir, 'o1')), error: /b\.png is 68x64 but the clip's first frame .*a\.png is 64x64: every frame of a clip must have the same size/ },
    { args: args(await bad('broken', [['a.png', scene(64, 64, 1)], ['b.png', 'not an image']]), join(dir, 'o2')), error: /b\.png: .*not a recognised image/ },
    { args: args(await bad('small', [['a.png', scene(40, 64, 1)], ['b.png', scene(40, 64, 2)]]), join(dir, 'o3')), error: /a\.png is 40x64: the Ref-VSR network needs LR frames of at least 64x64/ },
    { args: args(await bad('empty', []), join(dir, 'o4')), error: /empty: the folder holds no frame images/ },
    { args: args(join(dir, 'clip.mp4'), join(dir, 'o5')), error: /clip\.mp4: not found/ },
    { args: [...args(join(dir, 'clip'), join(dir, 'o6')).slice(0, -4), '--model', await writeTinyModelFile()], error: /is an image model \(c2-matching\), not a Ref-VSR video model/ },
    { args: args(join(dir, 'clip'), join(dir, 'no', 'such', 'out')), error: /cannot create the output folder \(its parent folder does not exist\)/ },
  ];
  writeFileSync(join(dir, 'fake.mp4'), 'x');
  cases.push({ args: args(join(dir, 'fake.mp4'), join(dir, 'o7')), error: /fake\.mp4: reading a video file needs ffmpeg, which is not installed \(Debian\/Ubuntu: apt-get install ffmpeg\); or pass a folder of frames/, env: { REFSR_FFMPEG: '/nonexistent/ffmpeg' } });
  cases.push({ args: args(join(dir, 'clip'), join(dir, 'o8.mp4')), error: /o8\.mp4: writing a video file needs ffmpeg, which is not installed/, env: { REFSR_FFMPEG: '/nonexistent/ffmpeg' } });
  if (!existsSync(join(MODELS_DIR, `${DEFAULT_VIDEO_MODEL_NAME}.safetensors`))) {
    cases.push({ args: ['video', join(dir, 'clip'), '--ref', join(dir, 'key.png'), '-o', join(dir, 'o9')], error: /the bundled video model \(models\/video\.safetensors\) is not installed: pass a Ref-VSR model with --model PATH \(import the official C2-Matching Ref-VSR checkpoint with `refsr convert/ });
  }
  for (const c of cases) {
    const r = refsr(c.args, { timeoutMs: 600_000, env: c.env });
    assert.equal(r.code, 1, `${c.args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, c.error);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    const out = c.args[c.args.indexOf('-o') + 1]!;
    assert.ok(!existsSync(out) || pngs(out).length === 0, `${out} has frames`);
  }
});

const bundledVideo = join(MODELS_DIR, `${DEFAULT_VIDEO_MODEL_NAME}.safetensors`);
test('the bundled video model: `refsr video` without --model uses it; `upscale` refuses it with the command to use', { skip: existsSync(bundledVideo) ? false : 'models/video.safetensors is not in this checkout' }, async () => {
  const out = join(dir, 'bundled');
  const r = refsr(['video', join(dir, 'clip'), '--ref', join(dir, 'key.png'), '-o', out], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(pngs(out), ['f1.png', 'f10.png', 'f2.png']);
  const sr = await readImageFile(join(out, 'f2.png'));
  assert.deepEqual([sr.width, sr.height], [256, 256]);
  const u = refsr(['upscale', join(dir, 'clip', 'f1.png'), '--ref', join(dir, 'key.png'), '-o', join(dir, 'u.png'), '--model', 'video']);
  assert.equal(u.code, 1);
  assert.match(u.stderr, /is a Ref-VSR video model: use it with `refsr video CLIP --ref KEYFRAME --model \.\.\.`/);
  assert.ok(!existsSync(join(dir, 'u.png')));
});

test('video files (ffmpeg): a lossless .mkv gives the same frames as the folder; an .mp4 out has every frame', { skip: ffmpegSkip }, async () => {
  const mkv = join(dir, 'clip.mkv');
  const enc = spawnSync('ffmpeg', ['-v', 'error', '-y', '-framerate', '10', '-i', join(dir, 'numbered', '%03d.png'), '-c:v', 'ffv1', '-pix_fmt', 'gbrp', mkv]);
  assert.equal(enc.status, 0, String(enc.stderr));
  const folder = join(dir, 'from-video');
  const r = refsr(args(mkv, folder), { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(pngs(folder), ['000000.png', '000001.png', '000002.png']);
  for (const [i, name] of NAMES.entries()) {
    assert.deepEqual(await readImageFile(join(folder, `00000${i}.png`)), await readImageFile(join(dir, 'out', `${name}.png`)), `frame ${i}`);
  }
  const mp4 = join(dir, 'sr.mp4');
  const v = refsr(args(join(dir, 'numbered'), mp4), { timeoutMs: 600_000 });
  assert.equal(v.code, 0, v.stderr);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames', '-of', 'csv=p=0', mp4], { encoding: 'utf8' });
  assert.equal(probe.stdout.trim(), '256,256,3');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});
