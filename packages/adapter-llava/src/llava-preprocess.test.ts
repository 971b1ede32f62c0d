import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRgbImage } from '@vasink/image';
import { float32FromBytes, fromBase64, goldenFixtures, maxAbsDiff } from '@vasink/image/testing';
import { llavaPreprocess, llavaPreprocessImage } from './llava-preprocess.js';

// Written by tooling/fixtures/image/make_fixtures.py (Pillow + a numpy CLIPImageProcessor).
const { loadPng, loadSource, readJson } = goldenFixtures(join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'llava-1.5'));

interface LlavaCase {
  source: string;
  mode: 'pad' | 'hf';
  pixels336: string | null;
  tensor24: string;
  sample336Stride: number;
  sample336: string;
  sum336: number;
}

const golden = readJson<{ pillow: string; cases: LlavaCase[] }>('llava-golden.json');

describe(`llavaPreprocess equals the Pillow ${golden.pillow} + CLIPImageProcessor pipeline`, () => {
  it.each(golden.cases)('$source, mode $mode', async (c) => {
    const source = await loadSource(c.source);

    const small = llavaPreprocess(source, { mode: c.mode, size: 24 });
    expect(small.pixelValues.dims).toEqual([1, 3, 24, 24]);
    expect(maxAbsDiff(small.pixelValues.data, float32FromBytes(fromBase64(c.tensor24)))).toBeLessThanOrEqual(1e-4);

    const full = llavaPreprocess(source, { mode: c.mode });
    expect(full.pixelValues.dims).toEqual([1, 3, 336, 336]);
    const sample = float32FromBytes(fromBase64(c.sample336));
    const strided = full.pixelValues.data.filter((_, i) => i % c.sample336Stride === 0);
    expect(maxAbsDiff(strided, sample)).toBeLessThanOrEqual(1e-4);
    const sum = full.pixelValues.data.reduce((s, v) => s + v, 0);
    expect(Math.abs(sum - c.sum336)).toBeLessThan(1e-2);

    if (c.pixels336 !== null) {
      const expected = await loadPng(c.pixels336);
      expect(maxAbsDiff(llavaPreprocessImage(source, { mode: c.mode }).data, expected.data)).toBe(0);
    }
  });
});

describe('llavaPreprocess', () => {
  it("pads with the mean colour in 'pad' mode and crops in 'hf' mode", () => {
    // A 4 x 2 white image: 'pad' keeps the whole image between grey bands, 'hf' crops to white.
    const white = createRgbImage(4, 2, new Uint8Array(24).fill(255));
    const padded = llavaPreprocessImage(white, { mode: 'pad', size: 4 });
    expect([...padded.data.subarray(0, 3)]).toEqual([122, 116, 104]);
    expect([...padded.data.subarray(4 * 3 + 3, 4 * 3 + 6)]).toEqual([255, 255, 255]);
    const cropped = llavaPreprocessImage(white, { mode: 'hf', size: 4 });
    expect(cropped.data.every((v) => v === 255)).toBe(true);
  });

  it('rejects an unknown mode', () => {
    expect(() => llavaPreprocess(createRgbImage(2, 2), { mode: 'crop' as 'pad' })).toThrow(/mode must be/);
  });
});
