import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixturePath, fromBase64, maxAbsDiff, readJson } from './__fixtures__/golden.js';
import { decodeImage } from './decode-image.js';
import { ImageDecodeError } from './errors.js';

interface DecodeGolden {
  pillow: string;
  files: Record<string, { mode: string; width: number; height: number; rgb: string; transparentMask?: string }>;
}

const golden = readJson<DecodeGolden>('decode-golden.json');
const tmp = mkdtempSync(join(tmpdir(), 'vasink-image-'));

/** A w x h RGB image, left half `left`, right half `right`. */
function halves(width: number, height: number, left: number[], right: number[]): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(x < width / 2 ? left : right, (y * width + x) * 3);
  }
  return data;
}

async function expectDecodeError(promise: Promise<unknown>, code: string, message: RegExp): Promise<ImageDecodeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageDecodeError);
  const decodeError = error as ImageDecodeError;
  expect(decodeError.code).toBe(code);
  expect(decodeError.message).toMatch(message);
  return decodeError;
}

describe(`decodeImage equals Pillow ${golden.pillow} Image.open(f).convert('RGB')`, () => {
  it.each(Object.entries(golden.files))('%s', async (name, expected) => {
    const image = await decodeImage(fixturePath(`decode/${name}`));
    expect([image.width, image.height]).toEqual([expected.width, expected.height]);
    const want = fromBase64(expected.rgb);
    if (expected.transparentMask === undefined) {
      expect(maxAbsDiff(image.data, want)).toBe(0);
      return;
    }
    // Known difference: libvips blacks out a GIF's transparent pixels, Pillow keeps their palette colour.
    const mask = fromBase64(expected.transparentMask);
    for (let p = 0; p < mask.length; p++) {
      const got = [...image.data.subarray(p * 3, p * 3 + 3)];
      expect(got).toEqual(mask[p] === 1 ? [0, 0, 0] : [...want.subarray(p * 3, p * 3 + 3)]);
    }
  });
});

describe('decodeImage', () => {
  it('applies EXIF orientation 6 (rotate 90° clockwise) unless told not to', async () => {
    const jpeg = await sharp(halves(32, 16, [255, 0, 0], [0, 0, 255]), { raw: { width: 32, height: 16, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const upright = await decodeImage(jpeg);
    expect([upright.width, upright.height]).toEqual([16, 32]);
    const at = (x: number, y: number) => [...upright.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)];
    // The left (red) half ends up on top, the right (blue) half at the bottom.
    expect(at(8, 4)[0]).toBeGreaterThan(200);
    expect(at(8, 27)[2]).toBeGreaterThan(200);
    const raw = await decodeImage(jpeg, { autoOrient: false });
    expect([raw.width, raw.height]).toEqual([32, 16]);
  });

  it('drops alpha without compositing: a fully transparent pixel keeps its colour', async () => {
    const rgba = Buffer.from([10, 20, 30, 0, 200, 100, 50, 128, 1, 2, 3, 255]);
    const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
    const image = await decodeImage(png);
    expect([...image.data]).toEqual([10, 20, 30, 200, 100, 50, 1, 2, 3]);
  });

  it('replicates greyscale to three channels', async () => {
    const grey = Buffer.from([0, 77, 255, 128]);
    const png = await sharp(grey, { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const image = await decodeImage(png);
    expect([...image.data]).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255, 128, 128, 128]);
  });

  it('takes the first frame of an animated GIF', async () => {
    const frames = Buffer.concat([halves(8, 8, [255, 0, 0], [255, 0, 0]), halves(8, 8, [0, 0, 255], [0, 0, 255])]);
    const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } as never })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const image = await decodeImage(gif);
    expect([image.width, image.height]).toEqual([8, 8]);
    expect([...image.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });

  it('decodes lossless WebP exactly', async () => {
    const pixels = halves(6, 3, [1, 2, 3], [250, 128, 7]);
    const webp = await sharp(pixels, { raw: { width: 6, height: 3, channels: 3 } }).webp({ lossless: true }).toBuffer();
    expect((await decodeImage(webp)).data).toEqual(new Uint8Array(pixels));
  });

  it("converts CMYK JPEG with Pillow's formula", async () => {
    const cmyk = await sharp(halves(16, 8, [200, 40, 40], [40, 40, 200]), { raw: { width: 16, height: 8, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const image = await decodeImage(cmyk);
    expect([image.width, image.height, image.data.length]).toEqual([16, 8, 16 * 8 * 3]);
    const left = [...image.data.subarray((4 * 16 + 2) * 3, (4 * 16 + 2) * 3 + 3)];
    const right = [...image.data.subarray((4 * 16 + 13) * 3, (4 * 16 + 13) * 3 + 3)];
    // Reddish on the left, bluish on the right (Pillow ignores ICC, so not the exact source colours).
    expect(left[0]).toBeGreaterThan((left[2] as number) + 60);
    expect(right[2]).toBeGreaterThan((right[0] as number) + 60);
  });

  it('keeps the high byte of 16-bit samples', async () => {
    const samples = new Uint16Array([0x12ff, 0x00ff, 0xff80, 0x8001, 0x7fff, 0x0180]);
    const png = await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    expect([...(await decodeImage(png)).data]).toEqual([0x12, 0x00, 0xff, 0x80, 0x7f, 0x01]);
  });

  it('reads from a path', async () => {
    const image = await decodeImage(fixturePath('sources/gradient-37x23.png'));
    expect([image.width, image.height]).toEqual([37, 23]);
  });

  describe('errors', () => {
    it('0-byte input, naming the file', async () => {
      await expectDecodeError(decodeImage(new Uint8Array(0)), 'IMAGE_EMPTY', /^image is 0 bytes$/);
      const path = join(tmp, 'empty.jpg');
      writeFileSync(path, '');
      const error = await expectDecodeError(decodeImage(path), 'IMAGE_EMPTY', /empty\.jpg: image is 0 bytes/);
      expect(error.file).toBe(path);
      expect(error.details).toMatchObject({ file: path, bytes: 0 });
    });

    it('a missing file', async () => {
      await expectDecodeError(decodeImage(join(tmp, 'nope.png')), 'IMAGE_READ_FAILED', /nope\.png: image file does not exist/);
    });

    it('a FIFO or a directory is refused at once, never read (a FIFO with no writer would block forever)', async () => {
      const fifo = join(tmp, 'pipe.png');
      execFileSync('mkfifo', [fifo]);
      await expectDecodeError(decodeImage(fifo), 'IMAGE_READ_FAILED', /pipe\.png: is not a regular file \(a directory, FIFO or device\)/);
      await expectDecodeError(decodeImage(tmp), 'IMAGE_READ_FAILED', /is not a regular file/);
    });

    it('an unknown format', async () => {
      const path = join(tmp, 'notes.png');
      writeFileSync(path, 'these are not the pixels you are looking for');
      await expectDecodeError(decodeImage(path), 'IMAGE_UNKNOWN_FORMAT', /notes\.png: not a recognised image/);
    });

    it('a format sharp reads but we do not accept (SVG)', async () => {
      const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>');
      await expectDecodeError(decodeImage(svg), 'IMAGE_UNSUPPORTED_FORMAT', /svg images are not supported/);
    });

    it.each(['rings-q85.jpg', 'rings-rgba.png', 'rings-lossy.webp', 'two-frames.gif'])('truncated %s', async (name) => {
      const bytes = readFileSync(fixturePath(`decode/${name}`));
      const path = join(tmp, `cut-${name}`);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.2)));
      const message = new RegExp(`cut-${name.replace('.', '\\.')}: image data is truncated`);
      await expectDecodeError(decodeImage(path), 'IMAGE_TRUNCATED', message);
    });

    it('corrupt data', async () => {
      const bytes = new Uint8Array(readFileSync(fixturePath('decode/rings-rgba.png')));
      for (let i = Math.floor(bytes.length * 0.4); i < bytes.length * 0.6; i++) bytes[i] = ((bytes[i] as number) * 7 + 13) & 255;
      await expectDecodeError(decodeImage(bytes), 'IMAGE_CORRUPT', /^image data is corrupt: pngload_buffer/);
    });

    it('an image over the pixel limit (decompression-bomb guard)', async () => {
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000' } }).png().toBuffer();
      const path = join(tmp, 'big.png');
      writeFileSync(path, png);
      const error = await expectDecodeError(
        decodeImage(path, { maxPixels: 59_999 }),
        'IMAGE_TOO_LARGE',
        /big\.png: image is 300x200 = 60000 pixels, over the limit of 59999/,
      );
      expect(error.details).toMatchObject({ width: 300, height: 200, maxPixels: 59_999 });
      await expect(decodeImage(path, { maxPixels: 60_000 })).resolves.toMatchObject({ width: 300, height: 200 });
    });

    it('a bad maxPixels', async () => {
      await expect(decodeImage(new Uint8Array(4), { maxPixels: 0 })).rejects.toThrow(/maxPixels must be a positive integer/);
    });
  });
});
