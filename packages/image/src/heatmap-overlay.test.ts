import { describe, expect, it } from 'vitest';
import { colormap, colormapTable } from './colormap.js';
import { overlayHeatmap } from './heatmap-overlay.js';
import { createRgbImage } from './rgb-image.js';

const grey = (width: number, height: number) => createRgbImage(width, height, new Uint8Array(width * height * 3).fill(128));
const pixel = (image: { width: number; data: Uint8Array }, x: number, y: number) => [
  ...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3),
];

describe('overlayHeatmap', () => {
  it('keeps the image size and puts the hottest colour over the hottest cell', () => {
    // 4 x 3 grid over a 44 x 33 image (11-pixel cells); cell (row 2, col 1) = index 9 is hottest.
    const values = new Float32Array(12).map((_, i) => (i === 9 ? 5 : i * 0.1));
    for (const upsample of ['bilinear', 'nearest'] as const) {
      for (const name of ['viridis', 'jet'] as const) {
        const out = overlayHeatmap(grey(44, 33), values, { rows: 3, cols: 4 }, { alpha: 1, colormap: name, upsample });
        expect([out.width, out.height, out.data.length]).toEqual([44, 33, 44 * 33 * 3]);
        // Cell (2, 1) spans x 11..21, y 22..32; its centre pixel (16, 27) carries the cell's own value.
        expect(pixel(out, 16, 27)).toEqual([...colormap(name, 1)]);
        expect(pixel(out, 0, 0)).toEqual([...colormap(name, 0)]);
        // Every pixel of the hottest level lies inside that cell.
        const table = colormapTable(name);
        const level = (x: number, y: number) => {
          const [r, g, b] = pixel(out, x, y) as [number, number, number];
          let best = 0;
          let bestDistance = Number.POSITIVE_INFINITY;
          for (let i = 0; i < 256; i++) {
            const d =
              (r - (table[i * 3] as number)) ** 2 + (g - (table[i * 3 + 1] as number)) ** 2 + (b - (table[i * 3 + 2] as number)) ** 2;
            if (d < bestDistance) [best, bestDistance] = [i, d];
          }
          return best;
        };
        for (let y = 0; y < 33; y++) {
          for (let x = 0; x < 44; x++) {
            const inside = x >= 11 && x <= 21 && y >= 22 && y <= 32;
            if (level(x, y) === 255) expect(inside, `${x},${y}`).toBe(true);
          }
        }
      }
    }
  });

  it('blends with alpha and honours an explicit range', () => {
    const image = createRgbImage(2, 1, new Uint8Array([0, 0, 0, 200, 200, 200]));
    const out = overlayHeatmap(image, [0, 10], { rows: 1, cols: 2 }, { alpha: 0.5, range: [0, 20], upsample: 'nearest' });
    const [r, g, b] = colormap('viridis', 0.5);
    expect(pixel(out, 1, 0)).toEqual([Math.round(100 + r / 2), Math.round(100 + g / 2), Math.round(100 + b / 2)]);
    const [r0, g0, b0] = colormap('viridis', 0);
    expect(pixel(out, 0, 0)).toEqual([Math.round(r0 / 2), Math.round(g0 / 2), Math.round(b0 / 2)]);
  });

  it('interpolates smoothly between cell centres with bilinear upsampling', () => {
    const out = overlayHeatmap(grey(8, 1), [0, 1], { rows: 1, cols: 2 }, { alpha: 1 });
    const greens = Array.from({ length: 8 }, (_, x) => pixel(out, x, 0)[1] as number);
    // viridis' green channel rises monotonically from 0 to 1.
    for (let x = 1; x < 8; x++) expect(greens[x]).toBeGreaterThanOrEqual(greens[x - 1] as number);
    expect(new Set(greens).size).toBeGreaterThan(3);
  });

  it('rejects a value count that does not match the grid, and bad alpha', () => {
    expect(() => overlayHeatmap(grey(4, 4), [1, 2, 3], { rows: 2, cols: 2 })).toThrow(/3 values for a 2x2 grid/);
    expect(() => overlayHeatmap(grey(4, 4), [1, 2, 3, 4], { rows: 2, cols: 2 }, { alpha: 2 })).toThrow(/alpha/);
    expect(() => overlayHeatmap(grey(4, 4), [1], { rows: 0, cols: 1 })).toThrow(/positive integers/);
  });

  it('handles a constant map and non-finite values', () => {
    const out = overlayHeatmap(grey(4, 4), [3, 3, Number.NaN, 3], { rows: 2, cols: 2 }, { alpha: 1 });
    expect(pixel(out, 0, 0)).toEqual([...colormap('viridis', 0)]);
  });
});
