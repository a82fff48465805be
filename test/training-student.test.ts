// A short `refsr train student` run as a user starts it: LR-side input (bicubic down/up), the frozen teacher's KL
// distillation in the loss, a checkpoint and an exported extractor whose input branch moved away from the teacher
// it started from while the teacher file is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refsr } from './support/cli.ts';
import { tempDir } from './support/temp.ts';
import { save, scene } from './support/eval-fixtures.ts';
import { readWeightFile } from '../src/weights/read-weight-file.ts';

test('train student: a short run logs triplet + distillation losses and exports a student that left its teacher', async () => {
  const dir = tempDir('refsr-student-');
  mkdirSync(join(dir, 'photos'));
  for (let i = 0; i < 3; i++) await save(join(dir, 'photos', `p${i}.png`), scene(112, 104, 40 + i));
  // The teacher: a short teacher run on the same photos (tiny widths), as the paper's schedule chains them.
  writeFileSync(join(dir, 'teacher.yaml'), `stage: teacher
seed: 3
steps: 2
batch: 1
lr: 1.0e-3
checkpoint_every: 2
validate_every: 100
init: { std: he }
model: { trunk_widths: [8, 8, 16] }
data: { train: [photos], hold_out_every: 0, crop_size: 96 }
`);
  const t = refsr(['train', 'teacher', '-c', join(dir, 'teacher.yaml'), '-o', join(dir, 'teacher')], { timeoutMs: 300_000 });
  assert.equal(t.code, 0, t.stderr);
  const teacherFile = join(dir, 'teacher', 'model.safetensors');
  const teacherBytes = readFileSync(teacherFile);
  writeFileSync(join(dir, 'student.yaml'), `stage: student
seed: 4
steps: 3
batch: 1
lr: 1.0e-3
checkpoint_every: 3
validate_every: 100
init: { extractor: teacher/model.safetensors }
model: { trunk_widths: [8, 8, 16] }
data: { train: [photos], hold_out_every: 0, crop_size: 96 }
losses: { margin: 1, safe_radius: 4, distill_weight: 15, temperature: 0.15 }
`);
  const run = join(dir, 'student');
  const r = refsr(['train', 'student', '-c', join(dir, 'student.yaml'), '-o', run], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).finished, true);
  const steps = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((l) => l.loss !== undefined);
  assert.equal(steps.length, 3);
  for (const s of steps) {
    assert.ok(Number.isFinite(s.loss) && Number.isFinite(s.distill), `step ${s.step}: ${JSON.stringify(s)}`);
    assert.ok(s.distill! > 0, 'the KL distillation term is part of the student loss');
  }
  assert.ok(existsSync(join(run, 'checkpoint.safetensors')));
  const student = await readWeightFile(join(run, 'model.safetensors'));
  const teacher = await readWeightFile(teacherFile);
  const key = 'feature_extraction_image1.model.conv1_1.weight';
  let moved = 0;
  const a = student.get(key)!.data;
  const b = teacher.get(key)!.data;
  for (let i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i]! - b[i]!));
  assert.ok(moved > 0, 'the student branch was trained');
  assert.deepEqual(readFileSync(teacherFile), teacherBytes, 'the frozen teacher file is not modified');
});
