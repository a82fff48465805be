import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from './support/temp.ts';
import { writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, readImageFile, ImageInputError, DEFAULT_MAX_PIXELS } from '../src/image/decode.ts';
import { dataDir, dataSkip } from './support/shared.ts';

const dir = tempDir('refsr-decode-');

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
}

/** A deterministic w x h RGB pattern. */
function pattern(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  for (let i = 0; i < d.length; i++) d[i] = (i * 37 + (i >> 5)) & 255;
  return d;
}

/** A PNG of a signature, an IHDR claiming w x h RGB, one tiny IDAT and IEND (valid CRCs). */
function pngWithHeader(w: number, h: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Uint8Array) => { let c = 0xffffffff; for (const v of b) c = crcTable[(c ^ v) & 255]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set(Buffer.from(type, 'latin1'), 4);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(new Uint8Array(16))), chunk('IEND', new Uint8Array(0))]);
}

function fromRaw(data: Uint8Array, w: number, h: number, channels: 1 | 2 | 3 | 4) {
  return sharp(data, { raw: { width: w, height: h, channels } });
}

async function rejects(p: Promise<unknown>, file: string, words: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ImageInputError, `expected ImageInputError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
    assert.match(e.message, words);
    return true;
  });
}

interface BmpSpec {
  width: number;
  height: number;
  bpp: 8 | 24 | 32;
  topDown?: boolean;
  rgb: Uint8Array; // or palette indices for 8-bit
  alpha?: Uint8Array; // 32-bit with BI_BITFIELDS alpha mask
  palette?: Uint8Array; // RGB triples
  compression?: number;
}

/** Writes a BMP by hand (BITMAPINFOHEADER, or V4 when alpha is given). */
function makeBmp(s: BmpSpec): Uint8Array {
  const v4 = s.alpha !== undefined;
  const dib = v4 ? 108 : 40;
  const paletteBytes = s.bpp === 8 ? (s.palette!.length / 3) * 4 : 0;
  const stride = Math.floor((s.bpp * s.width + 31) / 32) * 4;
  const offset = 14 + dib + paletteBytes;
  const b = new Uint8Array(offset + stride * s.height);
  const dv = new DataView(b.buffer);
  b[0] = 0x42; b[1] = 0x4d;
  dv.setUint32(2, b.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, dib, true);
  dv.setInt32(18, s.width, true);
  dv.setInt32(22, s.topDown ? -s.height : s.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, s.bpp, true);
  dv.setUint32(30, s.compression ?? (v4 ? 3 : 0), true);
  if (s.bpp === 8) dv.setUint32(46, s.palette!.length / 3, true);
  if (v4) {
    dv.setUint32(54, 0x00ff0000, true);
    dv.setUint32(58, 0x0000ff00, true);
    dv.setUint32(62, 0x000000ff, true);
    dv.setUint32(66, 0xff000000, true);
  }
  for (let i = 0; i < paletteBytes / 4; i++) {
    b[14 + dib + i * 4] = s.palette![i * 3 + 2]!;
    b[14 + dib + i * 4 + 1] = s.palette![i * 3 + 1]!;
    b[14 + dib + i * 4 + 2] = s.palette![i * 3]!;
  }
  for (let y = 0; y < s.height; y++) {
    const row = offset + (s.topDown ? y : s.height - 1 - y) * stride;
    for (let x = 0; x < s.width; x++) {
      const i = y * s.width + x;
      if (s.bpp === 8) { b[row + x] = s.rgb[i]!; continue; }
      const p = row + x * (s.bpp / 8);
      b[p] = s.rgb[i * 3 + 2]!; b[p + 1] = s.rgb[i * 3 + 1]!; b[p + 2] = s.rgb[i * 3]!;
      if (s.bpp === 32) b[p + 3] = s.alpha ? s.alpha[i]! : 0x55; // 0x55: padding that must be ignored in BI_RGB
    }
  }
  return b;
}

describe('decodeImage: formats', () => {
  test('PNG, WebP (lossless) and TIFF decode exactly', async () => {
    const w = 13, h = 7, rgb = pattern(w, h);
    for (const [ext, enc] of [['png', fromRaw(rgb, w, h, 3).png()], ['webp', fromRaw(rgb, w, h, 3).webp({ lossless: true })], ['tif', fromRaw(rgb, w, h, 3).tiff({ compression: 'lzw' })]] as const) {
      const img = await decodeImage(await put(`rgb.${ext}`, await enc.toBuffer()));
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      assert.deepEqual(img.data, rgb, ext);
      assert.equal(img.hadAlpha, false);
    }
  });

  test('JPEG decodes to the right size and close colours', async () => {
    const w = 16, h = 8;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set([200, 100, 50], i * 3);
    const img = await decodeImage(await put('flat.jpg', await fromRaw(rgb, w, h, 3).jpeg({ quality: 95 }).toBuffer()));
    assert.equal(img.format, 'jpeg');
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    for (let i = 0; i < rgb.length; i++) assert.ok(Math.abs(img.data[i]! - rgb[i]!) <= 3);
  });

  test('a .png file that is really a JPEG is decoded as JPEG', async () => {
    const p = await put('liar.png', await fromRaw(pattern(8, 8), 8, 8, 3).jpeg().toBuffer());
    const img = await readImageFile(p);
    assert.equal(img.format, 'jpeg');
    assert.equal(img.width, 8);
  });

  test('bytes input form uses the given name in errors', async () => {
    await rejects(decodeImage({ bytes: new Uint8Array([1, 2, 3, 4, 5]), name: 'upload-42' }), 'upload-42', /not a recognised image/);
    const img = await decodeImage({ bytes: await fromRaw(pattern(3, 2), 3, 2, 3).png().toBuffer(), name: 'mem' });
    assert.deepEqual(img.data, pattern(3, 2));
  });
});

describe('decodeImage: colour conversions', () => {
  test('grayscale PNG becomes RGB with equal channels', async () => {
    const g = Uint8Array.from([0, 128, 255, 10, 20, 30]);
    const img = await decodeImage(await put('gray.png', await fromRaw(g, 3, 2, 1).toColourspace('b-w').png().toBuffer()));
    assert.deepEqual(Array.from(img.data), [...g].flatMap((v) => [v, v, v]));
  });

  test('16-bit PNG is scaled to 8 bits, not truncated', async () => {
    const v = new Uint16Array(2 * 1 * 3);
    v.set([0xffff, 0x8080, 0x4000, 0x0000, 0x1234, 0xfeff]);
    const png = await sharp(v, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(png).metadata()).depth, 'ushort');
    const img = await decodeImage(await put('deep.png', png));
    assert.deepEqual(Array.from(img.data), [255, 128, 64, 0, 0x12, 0xfe]);
  });

  test('RGBA is flattened onto white and reported; opaque RGBA is not reported', async () => {
    const rgba = Uint8Array.from([255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 10, 20, 30, 255]);
    const img = await decodeImage(await put('alpha.png', await fromRaw(rgba, 2, 2, 4).png().toBuffer()));
    assert.equal(img.hadAlpha, true);
    assert.deepEqual(Array.from(img.data), [255, 255, 255, 127, 255, 127, 0, 0, 255, 10, 20, 30]);
    const opaque = Uint8Array.from([1, 2, 3, 255, 4, 5, 6, 255]);
    const img2 = await decodeImage(await put('opaque.png', await fromRaw(opaque, 2, 1, 4).png().toBuffer()));
    assert.equal(img2.hadAlpha, false);
    assert.deepEqual(Array.from(img2.data), [1, 2, 3, 4, 5, 6]);
  });

  test('palette PNG becomes RGB', async () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0]);
    const png = await fromRaw(rgb, 2, 2, 3).png({ palette: true }).toBuffer();
    assert.equal((await sharp(png).metadata()).isPalette, true);
    assert.deepEqual((await decodeImage(await put('pal.png', png))).data, rgb);
  });

  test('EXIF orientation is applied', async () => {
    // 4x2 image, orientation 6 (rotate 90 clockwise to display) -> 2x4.
    const rgb = pattern(4, 2);
    const jpg = await fromRaw(rgb, 4, 2, 3).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    assert.equal((await sharp(jpg).metadata()).orientation, 6);
    const img = await decodeImage(await put('rotated.jpg', jpg));
    assert.equal(img.width, 2);
    assert.equal(img.height, 4);
  });

  test('EXIF orientation turns the picture the right way, not only to the right size', async () => {
    // 32x16 in four solid quadrants (red, green / blue, white) so JPEG's 8x8 blocks keep the colours.
    const [W, H] = [32, 16];
    const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]] as const; // TL, TR, BL, BR
    const rgb = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set(colours[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)]!, (y * W + x) * 3);
    // Which stored quadrant is displayed top-left, top-right, bottom-left, bottom-right (EXIF 2.3 orientation tags):
    // 6 = rotate 90 degrees clockwise to display, 8 = counter-clockwise, 3 = 180, 2 = mirror left-right.
    const expected: Record<number, [number, number, number, number]> = { 6: [2, 0, 3, 1], 8: [1, 3, 0, 2], 3: [3, 2, 1, 0], 2: [1, 0, 3, 2] };
    for (const [orientation, order] of Object.entries(expected)) {
      const jpg = await fromRaw(rgb, W, H, 3).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).withMetadata({ orientation: Number(orientation) }).toBuffer();
      const img = await decodeImage(await put(`turned${orientation}.jpg`, jpg));
      const turned = orientation === '6' || orientation === '8';
      assert.deepEqual([img.width, img.height], turned ? [H, W] : [W, H], `orientation ${orientation}: size`);
      const centres = [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const;
      centres.forEach(([fx, fy], k) => {
        const x = Math.floor(fx * img.width);
        const y = Math.floor(fy * img.height);
        const got = Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
        const want = colours[order[k]!]!;
        assert.ok(got.every((v, c) => Math.abs(v - want[c]!) <= 8), `orientation ${orientation}, quadrant ${k}: got ${got}, want ${want}`);
      });
    }
  });
});

describe('decodeImage: BMP', () => {
  const w = 5, h = 3, rgb = pattern(w, h);
  test('24-bit bottom-up and top-down (odd width, padded rows)', async () => {
    for (const topDown of [false, true]) {
      const img = await decodeImage(await put(`b24${topDown}.bmp`, makeBmp({ width: w, height: h, bpp: 24, rgb, topDown })));
      assert.equal(img.format, 'bmp');
      assert.deepEqual([img.width, img.height], [w, h]);
      assert.deepEqual(img.data, rgb);
    }
  });

  test('32-bit BI_RGB ignores the fourth byte', async () => {
    const img = await decodeImage(await put('b32.bmp', makeBmp({ width: w, height: h, bpp: 32, rgb })));
    assert.deepEqual(img.data, rgb);
    assert.equal(img.hadAlpha, false);
  });

  test('32-bit with an alpha mask is flattened onto white', async () => {
    const alpha = new Uint8Array(w * h).fill(255);
    alpha[0] = 0;
    const img = await decodeImage(await put('b32a.bmp', makeBmp({ width: w, height: h, bpp: 32, rgb, alpha })));
    assert.equal(img.hadAlpha, true);
    assert.deepEqual(Array.from(img.data.subarray(0, 3)), [255, 255, 255]);
    assert.deepEqual(img.data.subarray(3), rgb.subarray(3));
  });

  test('8-bit palettised', async () => {
    const palette = Uint8Array.from([0, 0, 0, 250, 10, 20, 30, 200, 100]);
    const idx = Uint8Array.from({ length: w * h }, (_, i) => i % 3);
    const img = await decodeImage(await put('b8.bmp', makeBmp({ width: w, height: h, bpp: 8, rgb: idx, palette })));
    assert.deepEqual(Array.from(img.data), [...idx].flatMap((i) => [...palette.subarray(i * 3, i * 3 + 3)]));
  });

  test('RLE, bad palette index and truncation are refused clearly', async () => {
    const rle = makeBmp({ width: w, height: h, bpp: 8, rgb: new Uint8Array(w * h), palette: new Uint8Array(6), compression: 1 });
    await rejects(decodeImage(await put('rle.bmp', rle)), 'rle.bmp', /RLE8.*not supported/);
    const bad = makeBmp({ width: w, height: h, bpp: 8, rgb: new Uint8Array(w * h).fill(7), palette: new Uint8Array(6) });
    await rejects(decodeImage(await put('badidx.bmp', bad)), 'badidx.bmp', /palette/);
    const full = makeBmp({ width: w, height: h, bpp: 24, rgb });
    await rejects(decodeImage(await put('cut.bmp', full.subarray(0, full.length - 10))), 'cut.bmp', /truncated/);
    await rejects(decodeImage(await put('cuthdr.bmp', full.subarray(0, 20))), 'cuthdr.bmp', /truncated/);
  });

  test('BMP pixel limit is checked from the header', async () => {
    await rejects(decodeImage(await put('bigbmp.bmp', makeBmp({ width: 100, height: 100, bpp: 24, rgb: pattern(100, 100) })), { maxPixels: 5000 }), 'bigbmp.bmp', /100x100.*5000/);
  });
});

describe('decodeImage: failures', () => {
  test('truncated PNG and JPEG are errors, not partial images', async () => {
    const w = 64, h = 48, rgb = pattern(w, h);
    const png = await fromRaw(rgb, w, h, 3).png().toBuffer();
    const jpg = await fromRaw(rgb, w, h, 3).jpeg().toBuffer();
    await rejects(decodeImage(await put('cut.png', png.subarray(0, Math.floor(png.length * 0.6)))), 'cut.png', /damaged or truncated/);
    await rejects(decodeImage(await put('cut.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.6)))), 'cut.jpg', /damaged or truncated/);
    await rejects(decodeImage(await put('hdr.png', png.subarray(0, 20))), 'hdr.png', /damaged or truncated/);
  });

  test('random bytes, empty file, missing file and folder', async () => {
    const noise = new Uint8Array(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 251;
    await rejects(decodeImage(await put('noise.png', noise)), 'noise.png', /not a recognised image/);
    await rejects(decodeImage(await put('empty.jpg', new Uint8Array(0))), 'empty.jpg', /empty/);
    await rejects(decodeImage(join(dir, 'nope.png')), 'nope.png', /not found/);
    await mkdir(join(dir, 'folder.png'));
    await rejects(decodeImage(join(dir, 'folder.png')), 'folder.png', /folder/);
    await rejects(decodeImage(await put('anim.gif', Buffer.from('GIF89a\x01\x00\x01\x00'))), 'anim.gif', /GIF.*not supported/);
  });

  test('zero-size PNG header is refused', async () => {
    const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
    const crc = (b: Uint8Array) => { let c = 0xffffffff; for (const v of b) c = crcTable[(c ^ v) & 255]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
    const chunk = (type: string, data: Uint8Array) => {
      const out = new Uint8Array(12 + data.length);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, data.length);
      out.set(Buffer.from(type, 'latin1'), 4);
      out.set(data, 8);
      dv.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
      return out;
    };
    const ihdr = new Uint8Array(13);
    new DataView(ihdr.buffer).setUint32(0, 0); // width 0
    new DataView(ihdr.buffer).setUint32(4, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(new Uint8Array(4))), chunk('IEND', new Uint8Array(0))]);
    await rejects(decodeImage(await put('zero.png', png)), 'zero.png', /zero size|damaged/);
  });

  test('a tiny file whose header claims a huge size is refused from the header, before any decoding', async () => {
    // A 90-byte PNG claiming 60000 x 60000 px (3.6 GP, 10.8 GB decoded) and a 54-byte BMP claiming 50000 x 50000.
    const png = pngWithHeader(60000, 60000);
    assert.ok(png.length < 100);
    const rss = process.memoryUsage().rss;
    await rejects(decodeImage(await put('huge.png', png)), 'huge.png', /60000x60000.*above the limit of 40/);
    const bmp = new Uint8Array(54);
    const dv = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    dv.setUint32(2, 54, true);
    dv.setUint32(10, 54, true);
    dv.setUint32(14, 40, true);
    dv.setInt32(18, 50000, true);
    dv.setInt32(22, 50000, true);
    dv.setUint16(26, 1, true);
    dv.setUint16(28, 24, true);
    await rejects(decodeImage(await put('huge.bmp', bmp)), 'huge.bmp', /50000x50000.*above the limit|damaged|truncated/);
    assert.ok(process.memoryUsage().rss - rss < 256 * 2 ** 20, 'nothing near the claimed size was allocated');
    // Within a raised limit the same PNG gets past the header check and fails as the truncated file it is.
    await rejects(decodeImage(await put('huge2.png', png), { maxPixels: 4e9 }), 'huge2.png', /damaged|truncated|corrupt/);
  });

  test('pixel limit is checked before decoding and names size and limit', async () => {
    assert.equal(DEFAULT_MAX_PIXELS, 40_000_000);
    const p = await put('big.png', await fromRaw(pattern(100, 100), 100, 100, 3).png().toBuffer());
    await rejects(decodeImage(p, { maxPixels: 5000 }), 'big.png', /100x100.*limit.*5000/);
    assert.equal((await decodeImage(p, { maxPixels: 10000 })).width, 100);
  });
});

describe('decodeImage: shared data', { skip: dataSkip }, () => {
  test('a few real BMP and mislabelled JPEG files decode', async () => {
    const found: string[] = [];
    for (const sub of ['train/t91', 'train/bsd200', 'cufed-train-sample/input']) {
      const names = await readdir(join(dataDir, sub)).catch(() => [] as string[]);
      found.push(...names.filter((n) => /\.(bmp|png)$/i.test(n)).slice(0, 2).map((n) => join(dataDir, sub, n)));
    }
    for (const p of found) {
      const img = await decodeImage(p);
      assert.ok(img.width > 0 && img.height > 0, p);
      assert.equal(img.data.length, img.width * img.height * 3);
    }
  });
});
