import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './support/temp.ts';
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeImage, outputFormatFor } from '../src/image/encode.ts';
import { decodeImage } from '../src/image/decode.ts';
import { OutputWriteError } from '../src/io/atomic-write.ts';
import { rgbImage } from '../src/image/rgb-image.ts';

const dir = tempDir('refsr-encode-');

const img = rgbImage(7, 5, Uint8Array.from({ length: 105 }, (_, i) => (i * 53) & 255));

describe('writeImage', () => {
  test('PNG, WebP and TIFF round trip exactly; JPEG closely; no temp file is left', async () => {
    for (const name of ['out.png', 'out.webp', 'out.tif', 'OUT.TIFF', 'noext']) {
      await writeImage(join(dir, name), img);
      assert.deepEqual((await decodeImage(join(dir, name))).data, img.data, name);
    }
    const flat = rgbImage(8, 8, new Uint8Array(192).fill(90));
    await writeImage(join(dir, 'out.jpg'), flat);
    const j = await decodeImage(join(dir, 'out.jpg'));
    assert.equal(j.format, 'jpeg');
    assert.ok(j.data.every((v) => Math.abs(v - 90) <= 1));
    const files = await readdir(dir);
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
  });

  test('unknown extension fails before any work', async () => {
    assert.throws(() => outputFormatFor('x.gif'), OutputWriteError);
    await assert.rejects(writeImage(join(dir, 'x.gif'), img), (e: unknown) => e instanceof OutputWriteError && /x\.gif/.test(e.message) && /\.png/.test(e.message));
    assert.equal(existsSync(join(dir, 'x.gif')), false);
  });

  test('writing into a missing folder gives OutputWriteError and no file', async () => {
    const target = join(dir, 'missing', 'sr.png');
    await assert.rejects(writeImage(target, img), (e: unknown) => e instanceof OutputWriteError && e.message.includes(target));
    assert.equal(existsSync(target), false);
    assert.equal(existsSync(join(dir, 'missing')), false);
  });

  test('an image whose data does not match its size is refused', async () => {
    const bad = { width: 4, height: 4, data: new Uint8Array(10) };
    await assert.rejects(writeImage(join(dir, 'bad.png'), bad), OutputWriteError);
    assert.equal(existsSync(join(dir, 'bad.png')), false);
  });
});
