import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenFixtures } from '@vasink/image/testing';
import { roundHalfToEven, smartResize } from './smart-resize.js';

interface Golden {
  settings: { factor: number; minPixels: number; maxPixels: number }[];
  /** [height, width, settings index, resized height, resized width] or [height, width, settings index, error]. */
  cases: ([number, number, number, number, number] | [number, number, number, 'small' | 'aspect'])[];
}

// Written by tooling/fixtures/image/make_fixtures.py (transformers' smart_resize in Python).
const { readJson } = goldenFixtures(join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'preprocess'));
const golden = readJson<Golden>('smart-resize-golden.json');

describe('smartResize equals transformers v4.52 smart_resize', () => {
  it(`on ${golden.cases.length} (height, width, settings) cases`, () => {
    let checked = 0;
    for (const [height, width, index, ...expected] of golden.cases) {
      const settings = golden.settings[index];
      if (settings === undefined) throw new Error(`bad settings index ${index}`);
      const run = () => smartResize(height, width, settings);
      const [first, second] = expected;
      if (first === 'small') {
        expect(run, `${height}x${width}`).toThrow(/at least the factor/);
      } else if (first === 'aspect') {
        expect(run, `${height}x${width}`).toThrow(/aspect ratio must be at most 200/);
      } else {
        // v4.52 returns 0 where the floor underflows (and then fails to resize); we clamp to factor.
        const want = { height: Math.max(first, settings.factor), width: Math.max(second as number, settings.factor) };
        expect(run(), `${height}x${width} settings ${index}`).toEqual(want);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(3000);
  });

  it('rounds ties to even as Python does', () => {
    // 70 / 28 = 2.5 → 2; 98 / 28 = 3.5 → 4; 126 / 28 = 4.5 → 4.
    expect(smartResize(70, 98)).toEqual({ height: 56, width: 112 });
    expect(smartResize(126, 126)).toEqual({ height: 112, width: 112 });
    expect([0.5, 1.5, 2.5, 3.5, -0.5, 2.4, 2.6].map(roundHalfToEven)).toEqual([0, 2, 2, 4, 0, 2, 3]);
  });

  it('keeps results on the factor grid and within bounds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 28, max: 6000 }), fc.integer({ min: 28, max: 6000 }), (h, w) => {
        fc.pre(Math.max(h, w) / Math.min(h, w) <= 200);
        const out = smartResize(h, w);
        expect(out.height % 28).toBe(0);
        expect(out.width % 28).toBe(0);
        expect(out.height * out.width).toBeLessThanOrEqual(28 * 28 * 1280);
        expect(out.height * out.width).toBeGreaterThanOrEqual(56 * 56);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects non-integer sizes', () => {
    expect(() => smartResize(100.5, 100)).toThrow(/height must be a positive integer/);
  });
});
