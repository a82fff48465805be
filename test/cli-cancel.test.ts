// Ctrl-C for real: SIGINT delivered to the `refsr` process in the middle of the work (at the matching step) and
// during the final write (after the temp file is flushed, before the rename), for upscale, eval, match and
// robustness. Every case must exit 130 with the cancel message, no output file and no temp file left behind.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { refsrInterrupted, refsr } from './support/cli.ts';
import { writeTinyModelFile } from './support/tiny-model.ts';
import { tempDir } from './support/temp.ts';
import { makeImageSet, makeWrsr, save, scene } from './support/eval-fixtures.ts';

let model = '';
let inputs = '';

before(async () => {
  model = await writeTinyModelFile();
  inputs = tempDir('refsr-cancel-in-');
  await save(join(inputs, 'lr.png'), scene(24, 20, 1));
  await save(join(inputs, 'ref.png'), scene(60, 44, 2));
  await makeWrsr(join(inputs, 'wrsr'), 2);
  await makeImageSet(join(inputs, 'imgs'), 2);
});

type Command = { name: string; args: (out: string) => string[]; outputs: string[] };

const commands: Command[] = [
  { name: 'upscale', outputs: ['sr.png'], args: (o) => ['upscale', join(inputs, 'lr.png'), '--ref', join(inputs, 'ref.png'), '-o', join(o, 'sr.png'), '--model', model] },
  {
    name: 'eval', outputs: ['r.json', 'r.csv', 'r.html'],
    args: (o) => ['eval', join(inputs, 'wrsr'), '--protocol', 'wrsr', '--model', model, '--report', join(o, 'r.json'), '--csv', join(o, 'r.csv'), '--html', join(o, 'r.html')],
  },
  { name: 'match', outputs: ['m.png'], args: (o) => ['match', join(inputs, 'lr.png'), join(inputs, 'ref.png'), '--viz', join(o, 'm.png'), '--model', model] },
  {
    name: 'robustness', outputs: ['rob.json', 'rob.png'],
    args: (o) => ['robustness', join(inputs, 'imgs'), '--model', model, '--max-size', '40', '--limit', '1', '--report', join(o, 'rob.json'), '--chart', join(o, 'rob.png')],
  },
];

for (const cmd of commands) {
  for (const point of ['matching', 'write'] as const) {
    test(`${cmd.name}: Ctrl-C ${point === 'write' ? 'during the final write' : 'in the middle of matching'} exits 130 and leaves no file`, async () => {
      const out = tempDir(`refsr-cancel-${cmd.name}-`);
      const r = await refsrInterrupted(cmd.args(out), point);
      assert.ok(r.interrupted, `the process never reached the ${point} stall point: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.signal, null, `killed by ${r.signal} instead of exiting cleanly:\n${r.stderr}`);
      assert.equal(r.code, 130, r.stderr);
      assert.match(r.stderr, /refsr: cancelled; nothing was written/);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
      assert.deepEqual(readdirSync(out), [], `left behind: ${readdirSync(out).join(', ')}`);
      for (const f of cmd.outputs) assert.ok(!existsSync(join(out, f)));
    });
  }
}

test('without a cancel the same commands write every output (the stall points are inert when unset)', () => {
  for (const cmd of commands) {
    const out = tempDir(`refsr-nocancel-${cmd.name}-`);
    const r = refsr([...cmd.args(out), '-q']);
    assert.equal(r.code, 0, `${cmd.name}: ${r.stderr}`);
    assert.deepEqual(readdirSync(out).sort(), [...cmd.outputs].sort(), cmd.name);
  }
});
