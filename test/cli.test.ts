// The `refsr` command line as a user runs it: a real process, real files, clear errors and no partial outputs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import { repoRoot, goldenDir, goldenSkip, prerequisite } from './support/shared.ts';
import { refsr } from './support/cli.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { readImageFile } from '../src/image/decode.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { psnrY } from '../src/metrics/index.ts';


const dir = tempDir();
const lr = join(dir, 'lr.png');
const ref = join(dir, 'ref.jpg');
let model = '';

// Inputs of every test below (a hook, not a test: each test runs on its own with --test-name-pattern).
before(async () => {
  await save(lr, scene(24, 20, 1));
  await save(join(dir, 'ref.png'), scene(60, 44, 2));
  await sharp(join(dir, 'ref.png')).jpeg().toFile(ref);
  model = await writeTinyModelFile();
});

test('upscale writes a 4x image and reports progress as plain lines off a TTY', () => {
  const out = join(dir, 'sr.png');
  const r = refsr(['upscale', lr, '--ref', ref, '-o', out, '--model', model]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /matching \d+%/);
  assert.match(r.stderr, /wrote .*sr\.png \(96x80\)/);
  return sharp(out).metadata().then((m) => assert.deepEqual([m.width, m.height], [96, 80]));
});

test('upscale with two references and JSON summary', () => {
  const out = join(dir, 'sr2.webp');
  const r = refsr(['upscale', lr, '-r', ref, '-r', join(dir, 'ref.png'), '-o', out, '--model', model, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.size, [96, 80]);
  assert.ok(existsSync(out));
});

test('without --model and no bundled default, the error says so', () => {
  const r = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'x.png'), '--model', 'no-such-model']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown model "no-such-model"/);
});

test('bad inputs: clear message naming the file, exit 1, nothing written', () => {
  const corrupt = join(dir, 'corrupt.png');
  writeFileSync(corrupt, Buffer.concat([readFileSync(lr).subarray(0, 40)]));
  const garbage = join(dir, 'garbage.jpg');
  writeFileSync(garbage, 'this is not an image at all');
  const cases: [string[], RegExp][] = [
    [['upscale', corrupt, '--ref', ref, '-o', join(dir, 'o1.png'), '--model', model], /corrupt\.png/],
    [['upscale', lr, '--ref', garbage, '-o', join(dir, 'o2.png'), '--model', model], /garbage\.jpg/],
    [['upscale', join(dir, 'missing.png'), '--ref', ref, '-o', join(dir, 'o3.png'), '--model', model], /missing\.png/],
    [['upscale', lr, '--ref', ref, '-o', join(dir, 'o4.xyz'), '--model', model], /o4\.xyz/],
    [['upscale', lr, '--ref', ref, '-o', join(dir, 'no-such-dir', 'o5.png'), '--model', model], /no-such-dir/],
    [['upscale', lr, '--ref', ref, '-o', join(dir, 'o6.png'), '--model', garbage], /garbage\.jpg/],
    [['upscale', lr, '--ref', ref, '-o', join(dir, 'o7.png'), '--model', model, '--max-pixels', '100'], /lr\.png.*limit/i],
  ];
  for (const [args, message] of cases) {
    const r = refsr(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace for an expected error');
  }
  const leftovers = readdirSync(dir).filter((f) => /^o\d|\.tmp$/.test(f));
  assert.deepEqual(leftovers, []);
});

// A real full disk: a 64 KiB tmpfs (needs root and mount; skips otherwise). The earlier output under the same name
// must survive untouched and no temp file may remain.
function smallDisk(): string | false {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const mnt = mkdtempSync(join(tmpdir(), 'refsr-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  process.on('exit', () => {
    if (m.status === 0) spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  return m.status === 0 ? mnt : false;
}
const fullDisk = smallDisk();

test('a full disk: clear error, exit 1, the previous output kept, no temp file', { skip: prerequisite(fullDisk !== false, 'the full-disk test needs root and a tmpfs mount to simulate a full disk') }, () => {
  const mnt = fullDisk as string;
  const out = join(mnt, 'sr.png');
  const previous = Buffer.from('the previous result');
  writeFileSync(out, previous);
  // Fill the rest of the 64 KiB so the new (incompressible, > 20 KB) PNG cannot fit.
  try { writeFileSync(join(mnt, 'filler'), randomBytes(60000)); } catch { /* whatever fits: the disk is full either way */ }
  const r = refsr(['upscale', lr, '--ref', ref, '-o', out, '--model', model, '-q']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /sr\.png: cannot write \(disk full\); nothing was written/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  assert.deepEqual(readFileSync(out), previous);
  assert.deepEqual(readdirSync(mnt).filter((f) => f.endsWith('.tmp')), []);
});

test('--max-input-pixels from the command line: the input is refused above it and accepted at it', () => {
  // lr.png is 24x20 = 480 px.
  const over = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'mip1.png'), '--model', model, '--max-input-pixels', '479', '-q']);
  assert.equal(over.code, 1, over.stderr);
  assert.match(over.stderr, /lr\.png: input is 24x20 \(0\.0 MP\); the limit is 0\.0 MP because the output is 16 times larger \(raise --max-input-pixels\)/);
  assert.ok(!existsSync(join(dir, 'mip1.png')));
  const at = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'mip2.png'), '--model', model, '--max-input-pixels', '480', '-q']);
  assert.equal(at.code, 0, at.stderr);
  assert.ok(existsSync(join(dir, 'mip2.png')));
  assert.equal(refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'mip3.png'), '--model', model, '--max-input-pixels', 'many']).code, 2, 'not a number: usage error');
});

test('a tiny file claiming a huge size: one clear line from the header, exit 1, quickly', () => {
  // A 67-byte PNG whose header says 50000 x 40000 (2 GP); the default --max-pixels is 40 MP.
  const huge = join(dir, 'huge.png');
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAw1AAAJxACAIAAAAShjFYAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [50000, 40000]);
  writeFileSync(huge, png);
  const t0 = performance.now();
  const r = refsr(['upscale', huge, '--ref', ref, '-o', join(dir, 'huge-sr.png'), '--model', model]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /huge\.png: image is 50000x40000 \(2000\.0 megapixels\), above the limit of 40\.0 megapixels/);
  assert.ok(performance.now() - t0 < 30_000);
  assert.ok(!existsSync(join(dir, 'huge-sr.png')));
});

test('usage errors exit 2', () => {
  assert.equal(refsr(['upscale', lr, '-o', join(dir, 'x.png')]).code, 2);
  assert.equal(refsr(['frobnicate']).code, 2);
});

test('eval runs the WR-SR protocol on a folder and writes JSON and CSV reports', () => {
  const ds = tempDir('refsr-ds-');
  const mk = (p: string, src: string) => writeFileSync(p, readFileSync(src));
  spawnSync('mkdir', ['-p', join(ds, 'input'), join(ds, 'ref')]);
  mk(join(ds, 'input', '001.png'), join(dir, 'ref.png'));
  mk(join(ds, 'ref', '001_ref.png'), ref);
  const report = join(dir, 'report.json');
  const r = refsr(['eval', ds, '--protocol', 'wrsr', '--model', model, '--report', report, '--csv', join(dir, 'report.csv'), '-q']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(report, 'utf8'));
  assert.equal(j.images, 1);
  assert.ok(Number.isFinite(j.mean.refsr.psnrY) && Number.isFinite(j.mean.bicubic.psnrY));
  assert.match(readFileSync(join(dir, 'report.csv'), 'utf8'), /^name,width,height,psnr_y/);
  const bad = refsr(['eval', dir, '--protocol', 'wrsr', '--model', model]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not a WR-SR folder/);
});

test('convert assembles official-format checkpoints (safetensors and .pth) into a model that upscales', { skip: goldenSkip }, () => {
  const out = join(dir, 'golden-model.safetensors');
  const r = refsr(['convert', join(goldenDir, 'restoration', 'weights.safetensors'), '--extractor', join(goldenDir, 'contras', 'weights_zip.pth'), '--vgg', join(goldenDir, 'vgg', 'vgg_weights.safetensors'), '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /full C2-Matching.*8,865,547 parameters/);
  const up = refsr(['upscale', lr, '--ref', ref, '-o', join(dir, 'golden-sr.png'), '--model', out, '-q']);
  assert.equal(up.code, 0, up.stderr);
  const missing = refsr(['convert', join(goldenDir, 'restoration', 'weights.safetensors'), '-o', join(dir, 'incomplete.safetensors')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing \d+ keys: .*contrastive extractor \(--extractor\).*VGG19 \(--vgg\)/);
  assert.ok(!existsSync(join(dir, 'incomplete.safetensors')));
});

test("README's main command: the bundled default model upscales the example pair, better than bicubic", async () => {
  const out = join(dir, 'coffee-x4.png');
  const r = refsr(['upscale', 'examples/coffee-lr.png', '--ref', 'examples/coffee-ref.png', '-o', out], { cwd: repoRoot, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  const sr = await readImageFile(out);
  assert.deepEqual([sr.width, sr.height], [400, 320]);
  const hr = await readImageFile(join(repoRoot, 'examples', 'coffee-hr.png'));
  const lrImg = await readImageFile(join(repoRoot, 'examples', 'coffee-lr.png'));
  const bicubic = pilResizeBicubic(lrImg, 400, 320);
  assert.ok(psnrY(sr, hr) > psnrY(bicubic, hr), `refsr ${psnrY(sr, hr).toFixed(2)} dB vs bicubic ${psnrY(bicubic, hr).toFixed(2)} dB`);
  // The README's figures for this pair (Bundled model): 28.18 dB PSNR-Y (third model 28.07, v1 27.46), bicubic 26.30.
  assert.ok(Math.abs(psnrY(sr, hr) - 28.18) <= 0.05, `refsr PSNR-Y ${psnrY(sr, hr).toFixed(3)} dB; the README says 28.18`);
  assert.ok(Math.abs(psnrY(bicubic, hr) - 26.30) <= 0.05, `bicubic PSNR-Y ${psnrY(bicubic, hr).toFixed(3)} dB; the README says 26.30`);

  // --low-memory changes how ONNX Runtime allocates, not what it computes.
  const low = join(dir, 'coffee-x4-low.png');
  const l = refsr(['upscale', 'examples/coffee-lr.png', '--ref', 'examples/coffee-ref.png', '-o', low, '--low-memory', '-q'], { cwd: repoRoot, timeoutMs: 300_000 });
  assert.equal(l.code, 0, l.stderr);
  assert.deepEqual((await readImageFile(low)).data, sr.data);
});
