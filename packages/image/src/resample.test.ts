import { describe, expect, it } from 'vitest';
import { loadPng, loadSource, maxAbsDiff, readJson } from './__fixtures__/golden.js';
import { resample, resizeBicubic, resizeBilinear } from './resample.js';
import { createRgbImage } from './rgb-image.js';

interface ResizeCase {
  source: string;
  filter: 'bicubic' | 'bilinear';
  width: number;
  height: number;
  expected: string;
  verticalFirstForTallImages?: boolean;
}

const golden = readJson<{ pillow: string; cases: ResizeCase[] }>('resize-golden.json');

describe(`resize equals Pillow ${golden.pillow} Image.resize`, () => {
  it.each(golden.cases)('$source → $width x $height ($filter)', async (c) => {
    const source = await loadSource(c.source);
    const expected = await loadPng(c.expected);
    const options = { verticalFirstForTallImages: c.verticalFirstForTallImages ?? false };
    const resize = c.filter === 'bicubic' ? resizeBicubic : resizeBilinear;
    const actual = resize(source, c.width, c.height, options);
    expect([actual.width, actual.height]).toEqual([c.width, c.height]);
    expect(maxAbsDiff(actual.data, expected.data)).toBe(0);
  });

  it('the Pillow ≥ 12.2 tall-image order differs from the classic one on the fixture', async () => {
    const source = await loadSource('tall-3x400');
    const classic = resizeBicubic(source, 2, 50);
    const verticalFirst = resizeBicubic(source, 2, 50, { verticalFirstForTallImages: true });
    expect(maxAbsDiff(classic.data, verticalFirst.data)).toBeGreaterThan(0);
  });
});

describe('resample', () => {
  it('returns a copy when the size is unchanged', () => {
    const image = createRgbImage(2, 1, new Uint8Array([1, 2, 3, 4, 5, 6]));
    const out = resample(image, 2, 1, 'bicubic');
    expect(out.data).toEqual(image.data);
    expect(out.data).not.toBe(image.data);
  });

  it('keeps a constant image constant', () => {
    const image = createRgbImage(9, 5, new Uint8Array(9 * 5 * 3).fill(77));
    for (const [w, h] of [
      [20, 3],
      [1, 1],
      [4, 17],
    ] as const) {
      expect(resizeBicubic(image, w, h).data.every((v) => v === 77)).toBe(true);
    }
  });

  it('rejects bad sizes', () => {
    const image = createRgbImage(2, 2);
    expect(() => resizeBicubic(image, 0, 2)).toThrow(/positive integers/);
    expect(() => resizeBicubic(image, 2.5, 2)).toThrow(/positive integers/);
    expect(() => resizeBicubic({ width: 2, height: 2, data: new Uint8Array(3) }, 1, 1)).toThrow(/needs a Uint8Array of 12 bytes/);
  });
});
