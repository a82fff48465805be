// The Vid4 protocol of `refsr eval-video`: BI degradation (MATLAB bicubic /4) and the official GenerateUpImages,
// both protocols labelled in the report, frame 0 (the keyframe's own frame) never scored, the bicubic baseline equal
// to a direct computation, the JSON report and table from the CLI; and the README's bicubic Vid4 figures pinned on
// ../shared/data/vid4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateVid4, degradeBI, bicubicX4, generateUpImage, formatVid4Table, PROTOCOL_LABELS } from '../src/eval/vid4.ts';
import { RefVsrModel } from '../src/pipeline/refvsr-model.ts';
import { pilResizeBicubic } from '../src/image/pil-bicubic.ts';
import { crop } from '../src/image/layout.ts';
import { psnrY } from '../src/metrics/psnr.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { tempDir } from './support/temp.ts';
import { dataDir, dataSkip } from './support/shared.ts';
import { refsr } from './support/cli.ts';
import { writeTinyRefVsrFile } from './support/tiny-refvsr.ts';

test('BI degradation and GenerateUpImages: sizes and definitions', () => {
  const gt = scene(72, 56, 3);
  const lr = degradeBI(gt);
  assert.deepEqual([lr.width, lr.height], [18, 14]);
  assert.deepEqual([bicubicX4(lr).width, bicubicX4(lr).height], [72, 56]);
  assert.deepEqual(generateUpImage(gt), pilResizeBicubic(pilResizeBicubic(gt, 18, 14), 72, 56));
  assert.notDeepEqual(generateUpImage(gt).data, pilResizeBicubic(lr, 72, 56).data, 'the two protocols must see different matching inputs');
});

test('both protocols, labelled, frame 0 excluded, bicubic as computed directly; the CLI writes the report and table', async () => {
  const dir = tempDir('refsr-vid4-');
  const big = scene(280, 272, 8);
  const gts = [0, 1, 2].map((i) => crop(big, 3 * i, 2 * i, 256, 256));
  mkdirSync(join(dir, 'clipa'));
  for (const [i, g] of gts.entries()) await save(join(dir, 'clipa', `${i}.png`), g);
  const modelPath = await writeTinyRefVsrFile();
  const model = await RefVsrModel.load(modelPath, { threads: 2 });
  try {
    const r = await evaluateVid4(dir, model, { matching: 'fast' });
    assert.deepEqual(r.protocols.map((p) => [p.name, p.label]), [['as-released', PROTOCOL_LABELS['as-released']], ['honest', PROTOCOL_LABELS.honest]]);
    for (const p of r.protocols) {
      assert.deepEqual(p.perClip.clipa!.frames.map((f) => f.frame), [1, 2]);
      for (const f of p.perClip.clipa!.frames) assert.ok(Number.isFinite(f.psnrY) && f.ssimY > 0 && f.ssimY <= 1);
    }
    const direct = [1, 2].map((i) => psnrY(bicubicX4(degradeBI(gts[i]!)), gts[i]!, 0));
    assert.ok(Math.abs(r.bicubic.perClip.clipa!.psnrY - (direct[0]! + direct[1]!) / 2) < 1e-9);
    const table = formatVid4Table(r);
    assert.match(table, /\(a\) as released: matching input = bicubic x4 of bicubic \/4 of the GROUND TRUTH/);
    assert.match(table, /\(b\) honest: matching input = bicubic x4 of the LR frame only/);
  } finally {
    await model.release();
  }
  const report = join(dir, 'r.json');
  const cli = refsr(['eval-video', dir, '--model', modelPath, '--protocol', 'honest', '--matching', 'fast', '--frames', '2', '--report', report, '--note', 'random weights', '-q'], { timeoutMs: 600_000 });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /model, \(b\) honest/);
  assert.doesNotMatch(cli.stdout, /as-released/);
  const json = JSON.parse(readFileSync(report, 'utf8'));
  assert.equal(json.note, 'random weights');
  assert.deepEqual(json.protocols[0].perClip.clipa.frames.map((f: { frame: number }) => f.frame), [1]);
});

test('README figures: bicubic on Vid4 calendar / city (15 frames, frame 0 excluded)', { skip: dataSkip || (existsSync(join(dataDir, 'vid4')) ? false : 'no ../shared/data/vid4') }, async () => {
  const r = await evaluateVid4(join(dataDir, 'vid4'), undefined);
  assert.deepEqual(r.framesPerClip, { calendar: 15, city: 15 });
  assert.ok(Math.abs(r.bicubic.perClip.calendar!.psnrY - 20.28) < 0.01, String(r.bicubic.perClip.calendar!.psnrY));
  assert.ok(Math.abs(r.bicubic.perClip.city!.psnrY - 25.16) < 0.01, String(r.bicubic.perClip.city!.psnrY));
  assert.ok(Math.abs(r.bicubic.mean.ssimY - 0.5811) < 0.0001, String(r.bicubic.mean.ssimY));
});
