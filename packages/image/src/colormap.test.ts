import { describe, expect, it } from 'vitest';
import { colormap, colormapIndex, colormapTable } from './colormap.js';

describe('colormap', () => {
  it("holds matplotlib's viridis and jet end points", () => {
    expect(colormap('viridis', 0)).toEqual([68, 1, 84]);
    expect(colormap('viridis', 1)).toEqual([253, 231, 37]);
    expect(colormap('jet', 0)).toEqual([0, 0, 128]);
    expect(colormap('jet', 1)).toEqual([128, 0, 0]);
    expect(colormapTable('viridis')).toHaveLength(768);
  });

  it('bins [0, 1] into 256 levels, clipping outside and mapping NaN to 0', () => {
    expect([0, 0.5, 255.5 / 256, 1, -3, 7, Number.NaN].map(colormapIndex)).toEqual([0, 128, 255, 255, 0, 255, 0]);
  });

  it('rejects an unknown name', () => {
    expect(() => colormap('magma' as 'jet', 0.5)).toThrow(/unknown colormap "magma"/);
  });
});
