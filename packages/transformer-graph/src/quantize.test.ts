import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { seededRandom } from '@vasink/test-utils';
import { assertQuantScheme, canQuantize, dequantizeBlockwise, quantizeBlockwise } from './quantize.js';

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * 0.05);
}

describe('quantizeBlockwise / dequantizeBlockwise', () => {
  it('int4: hand-computed block — scale = extreme / −8, codes low nibble first, extreme exact', () => {
    // One block of 16: extreme −0.8 → scale 0.1; value v → round(v / 0.1) + 8.
    const values = Float32Array.from([-0.8, 0.1, 0.3, -0.1, 0, 0.7, 0.3, -0.3, 0.2, -0.2, 0.4, -0.4, 0.5, -0.5, 0.6, -0.6]);
    const q = quantizeBlockwise(values, [1, 16], { bits: 4, blockSize: 16 });
    expect(q.scales[0]).toBeCloseTo(0.1, 7);
    // codes round(v / 0.1) + 8: −0.8 → 0, 0.1 → 9, 0.3 → 11, −0.1 → 7
    expect(q.codes[0]).toBe(0 | (9 << 4));
    expect(q.codes[1]).toBe(11 | (7 << 4));
    const back = dequantizeBlockwise(q);
    expect(back[0]).toBe(Math.fround(-0.8));
    expect(back[5]).toBeCloseTo(0.7, 6);
    // A positive extreme cannot be stored as +8: the block's scale is negative then, so it maps to code 0.
    const positive = quantizeBlockwise(Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? 0.8 : 0.01 * i)), [1, 16], { bits: 4, blockSize: 16 });
    expect(positive.scales[0]).toBeCloseTo(-0.1, 7);
    expect(dequantizeBlockwise(positive)[3]).toBe(Math.fround(0.8));
  });

  for (const bits of [4, 8] as const) {
    for (const scaleDtype of ['float32', 'float16'] as const) {
      it(`int${bits}, ${scaleDtype} scales: values within half a step, one step where clamped; zero blocks stay zero`, () => {
        const rows = 6;
        const cols = 128;
        const values = randomMatrix(rows, cols, bits * 7 + (scaleDtype === 'float16' ? 1 : 0));
        values.fill(0, 2 * cols, 2 * cols + 32); // one all-zero block
        const q = quantizeBlockwise(values, [rows, cols], { bits, blockSize: 32, scaleDtype });
        expect(q.codes.length).toBe((rows * cols * bits) / 8);
        expect(q.scales.length).toBe(rows * 4);
        const back = dequantizeBlockwise(q);
        for (let i = 0; i < values.length; i++) {
          const s = q.scales[Math.floor(i / 32)] as number;
          const v = values[i] as number;
          // Codes reach (2^(bits−1) − 1)·|s| on the side opposite the extreme: values beyond are clamped (≤ one step off).
          // float16 scales are rounded before the codes are chosen, so the extreme itself may clamp by 2^-11 relative.
          const clamped = v / s + (1 << (bits - 1)) > (1 << bits) - 1.5 || v / s + (1 << (bits - 1)) < -0.5;
          expect(Math.abs((back[i] as number) - v)).toBeLessThanOrEqual((clamped ? Math.abs(s) : Math.abs(s) / 2) + 1e-7);
        }
        for (let i = 2 * cols; i < 2 * cols + 32; i++) expect(back[i]).toBe(0);
        let worst = 0;
        values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (back[i] as number)))));
        // One step is (largest |w| in the block) / 2^(bits−1); the data's largest |w| is 0.05.
        expect(worst).toBeLessThanOrEqual(0.05 / (1 << (bits - 1)) + 1e-7);
      });
    }
  }

  it('rejects bad schemes and shapes with messages naming them', () => {
    expect(() => assertQuantScheme({ bits: 3 as 4, blockSize: 32 })).toThrow(/bits must be 4 or 8, got 3/);
    expect(() => assertQuantScheme({ bits: 4, blockSize: 48 })).toThrow(/power of two ≥ 16, got 48/);
    expect(() => assertQuantScheme({ bits: 4, blockSize: 8 })).toThrow(InvalidArgumentError);
    expect(canQuantize([4, 96], 32)).toBe(true);
    expect(canQuantize([4, 100], 32)).toBe(false);
    expect(canQuantize([96], 32)).toBe(false);
    expect(() => quantizeBlockwise(new Float32Array(400), [4, 100], { bits: 4, blockSize: 32 })).toThrow(/\[4, 100\] matrix in blocks of 32/);
  });
});
