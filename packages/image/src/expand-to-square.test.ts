import { describe, expect, it } from 'vitest';
import { LLAVA_PAD_COLOUR, expandToSquare } from './expand-to-square.js';
import { CLIP_MEAN } from './normalize.js';
import { createRgbImage } from './rgb-image.js';

describe('expandToSquare', () => {
  it('uses the truncated CLIP mean as the default colour', () => {
    expect(LLAVA_PAD_COLOUR).toEqual(CLIP_MEAN.map((m) => Math.trunc(m * 255)));
  });

  it('centres a wide image vertically at (max - h) // 2', () => {
    const image = createRgbImage(5, 2, new Uint8Array(30).fill(9));
    const out = expandToSquare(image, [1, 2, 3]);
    expect([out.width, out.height]).toEqual([5, 5]);
    const rowOf = (y: number) => [...out.data.subarray(y * 15, y * 15 + 3)];
    // (5 - 2) // 2 = 1: rows 1 and 2 hold the image, the odd pixel of margin goes below.
    expect([0, 1, 2, 3, 4].map((y) => rowOf(y)[0])).toEqual([1, 9, 9, 1, 1]);
  });

  it('centres a tall image horizontally and returns a square one as is', () => {
    const tall = expandToSquare(createRgbImage(1, 4, new Uint8Array(12).fill(200)));
    expect([tall.width, tall.height]).toEqual([4, 4]);
    expect([...tall.data.subarray(0, 12)]).toEqual([122, 116, 104, 200, 200, 200, 122, 116, 104, 122, 116, 104]);
    const square = createRgbImage(3, 3);
    expect(expandToSquare(square)).toBe(square);
  });
});
