import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RgbImage, createRgbImage, normalize } from '@vasink/image';
import { float32FromBytes, fromBase64, goldenFixtures, maxAbsDiff } from '@vasink/image/testing';
import { qwen2vlPreprocess, qwen2vlPreprocessImage } from './qwen2vl-preprocess.js';

// Written by tooling/fixtures/image/make_fixtures.py (Pillow + a numpy Qwen2VLImageProcessor).
const { loadSource, readFloat32, readJson } = goldenFixtures(join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'preprocess'));

interface QwenCase {
  name: string;
  source: string;
  minPixels: number;
  maxPixels: number;
  patches: string;
  rows: number;
  cols: number;
  gridThw: [number, number, number];
  resized: [number, number];
}

const golden = readJson<{ pillow: string; cases: QwenCase[] }>('qwen2vl-golden.json');

describe(`qwen2vlPreprocess equals Qwen2VLImageProcessor (slow, Pillow ${golden.pillow})`, () => {
  it.each(golden.cases)('$name: $source → grid $gridThw', async (c) => {
    const source = await loadSource(c.source);
    const options = { minPixels: c.minPixels, maxPixels: c.maxPixels };
    const out = qwen2vlPreprocess(source, options);
    expect(out.gridThw).toEqual([c.gridThw]);
    expect(out.pixelValues.dims).toEqual([c.rows, c.cols]);
    expect(maxAbsDiff(out.pixelValues.data, readFloat32(c.patches))).toBeLessThanOrEqual(1e-4);
    const resized = qwen2vlPreprocessImage(source, options);
    expect([resized.height, resized.width]).toEqual(c.resized);
  });

  it('concatenates several images in order', async () => {
    const [a, b] = golden.cases;
    if (a === undefined || b === undefined) throw new Error('need two cases');
    expect(a.minPixels === b.minPixels && a.maxPixels === b.maxPixels).toBe(true);
    const images = [await loadSource(a.source), await loadSource(b.source)];
    const out = qwen2vlPreprocess(images, { minPixels: a.minPixels, maxPixels: a.maxPixels });
    expect(out.gridThw).toEqual([a.gridThw, b.gridThw]);
    const expected = new Float32Array(out.pixelValues.data.length);
    expected.set(readFloat32(a.patches), 0);
    expected.set(readFloat32(b.patches), a.rows * a.cols);
    expect(maxAbsDiff(out.pixelValues.data, expected)).toBeLessThanOrEqual(1e-4);
  });
});

interface SizeCase {
  width: number;
  height: number;
  resized: [number, number];
  gridThw: [number, number, number];
  tokens: number;
  pixelsSha256: string;
  patchSum: number;
  sampleStride: number;
  sample: string;
}

const sizes = readJson<{ minPixels: number; maxPixels: number; cases: SizeCase[] }>('qwen2vl-sizes-golden.json');

/** The fixture script's source: (3x² + 5y² + 7xy + 85c + 11·⌊x/7⌋·⌊y/5⌋) mod 256. */
function patternImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (3 * x * x + 5 * y * y + 7 * x * y + 85 * c + 11 * Math.floor(x / 7) * Math.floor(y / 5)) % 256;
    }
  }
  return createRgbImage(width, height, data);
}

describe(`qwen2vlPreprocess on ${sizes.cases.length} sizes, aspect ratios up to 178 (Qwen2-VL and Qwen2.5-VL share this processor)`, () => {
  it.each(sizes.cases)('$width x $height → $resized, $tokens tokens', (c) => {
    const source = patternImage(c.width, c.height);
    const options = { minPixels: sizes.minPixels, maxPixels: sizes.maxPixels };
    const view = qwen2vlPreprocessImage(source, options);
    expect([view.height, view.width]).toEqual(c.resized);
    // Zero pixel difference: the resized uint8 image hashes as Pillow's.
    expect(createHash('sha256').update(view.data).digest('hex')).toBe(c.pixelsSha256);
    const out = qwen2vlPreprocess(source, options);
    expect(out.gridThw).toEqual([c.gridThw]);
    const [t, h, w] = c.gridThw;
    expect((t * h * w) / 4).toBe(c.tokens);
    const data = out.pixelValues.data;
    const strided = data.filter((_, i) => i % c.sampleStride === 0);
    expect(maxAbsDiff(strided, float32FromBytes(fromBase64(c.sample)))).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(data.reduce((sum, v) => sum + v, 0) - c.patchSum)).toBeLessThan(1e-6 * data.length);
  });
});

describe('qwen2vlPreprocess', () => {
  it('puts each 2x2 merge block of 14-pixel patches in consecutive rows, channel-frame-y-x inside', () => {
    // 56 x 28 (w x h) image whose pixel value encodes its position.
    const width = 56;
    const height = 28;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 200], (y * width + x) * 3);
    const image = createRgbImage(width, height, data);
    const out = qwen2vlPreprocess(image, { minPixels: 28 * 28, maxPixels: 28 * 28 * 4 });
    expect(out.gridThw).toEqual([[1, 2, 4]]);
    const chw = normalize(image).data;
    const value = (c: number, y: number, x: number) => chw[c * height * width + y * width + x];
    const row = (r: number) => out.pixelValues.data.subarray(r * 1176, (r + 1) * 1176);
    // Row 1 = merge block (0, 0), patch (mh 0, mw 1): x from 14; row 2 = patch (1, 0): y from 14.
    expect(row(1)[0]).toBe(value(0, 0, 14));
    expect(row(2)[0]).toBe(value(0, 14, 0));
    // Row 4 = merge block (0, 1): x from 28.
    expect(row(4)[0]).toBe(value(0, 0, 28));
    // Inside a row: frame 1 repeats frame 0; channel 1 starts after 2 frames of 196.
    expect(row(5)[196 + 15]).toBe(value(0, 1, 28 + 14 + 1));
    expect(row(5)[15]).toBe(row(5)[196 + 15]);
    expect(row(5)[392]).toBe(value(1, 0, 42));
  });

  it('rejects an empty list and images below the factor', () => {
    expect(() => qwen2vlPreprocess([])).toThrow(/at least one image/);
    expect(() => qwen2vlPreprocess(createRgbImage(27, 100))).toThrow(/at least the factor 28/);
  });
});
