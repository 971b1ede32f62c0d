import { describe, expect, it } from 'vitest';
import { markTokens } from './mark-tokens.js';
import { createRgbImage } from './rgb-image.js';

describe('markTokens', () => {
  it('outlines exactly the cells of the given tokens', () => {
    // 3 x 2 grid (rows x cols) over a 20 x 30 image: cells are 10 x 10.
    const image = createRgbImage(20, 30);
    const out = markTokens(image, [3], { rows: 3, cols: 2 }, [0, 255, 0]);
    const green = (x: number, y: number) => out.data[(y * 20 + x) * 3 + 1] === 255;
    // Token 3 = row 1, col 1: x 10..19, y 10..19; outline 1 px wide.
    expect(green(10, 10) && green(19, 19) && green(15, 10) && green(10, 15)).toBe(true);
    expect(green(15, 15)).toBe(false);
    expect(green(9, 10) || green(15, 9) || green(15, 20)).toBe(false);
    expect(image.data.every((v) => v === 0)).toBe(true);
  });

  it('defaults to red and rejects indices outside the grid', () => {
    const out = markTokens(createRgbImage(4, 4), [0], { rows: 2, cols: 2 });
    expect([...out.data.subarray(0, 3)]).toEqual([255, 0, 0]);
    expect(() => markTokens(createRgbImage(4, 4), [4], { rows: 2, cols: 2 })).toThrow(/outside the 2x2 grid/);
    expect(() => markTokens(createRgbImage(4, 4), [0], { rows: 2, cols: 2 }, [256, 0, 0])).toThrow(/0\.\.255/);
  });
});
