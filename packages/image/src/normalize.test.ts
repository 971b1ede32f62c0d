import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD, normalize } from './normalize.js';
import { createRgbImage } from './rgb-image.js';

describe('normalize', () => {
  it('returns CHW float32 [3, H, W] with (x / 255 - mean) / std in float32', () => {
    const image = createRgbImage(2, 1, new Uint8Array([0, 128, 255, 10, 20, 30]));
    const out = normalize(image);
    expect(out.dtype).toBe('float32');
    expect(out.dims).toEqual([3, 1, 2]);
    const f = Math.fround;
    const expected = (v: number, c: number) => f(f(f(v * (1 / 255)) - f(CLIP_MEAN[c] as number)) / f(CLIP_STD[c] as number));
    const want = [expected(0, 0), expected(10, 0), expected(128, 1), expected(20, 1), expected(255, 2), expected(30, 2)];
    expect([...out.data]).toEqual(want);
    expect(Math.abs((out.data[0] as number) - -0.48145466 / 0.26862954)).toBeLessThan(1e-6);
  });

  it('takes other mean, std and rescale factor', () => {
    const out = normalize(createRgbImage(1, 1, new Uint8Array([2, 4, 6])), { mean: [0, 0, 0], std: [2, 2, 2], rescaleFactor: 1 });
    expect([...out.data]).toEqual([1, 2, 3]);
    expect(() => normalize(createRgbImage(1, 1), { std: [1, 0, 1] })).toThrow(/std non-zero/);
  });
});
