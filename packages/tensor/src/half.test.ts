import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  bfloat16ArrayToFloat32,
} from './half.js';

describe('float16', () => {
  it('converts hand-checked values', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to Infinity
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie → even (0)
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie → even (2)
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.NaN) & 0x3ff).not.toBe(0);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even → 1.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('round-trips every finite half exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >>> 10) & 0x1f;
      if (exponent === 0x1f) continue;
      expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).toBe(bits);
    }
  });

  it('rounds to the nearest representable half', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const bits = float32ToFloat16Bits(x);
        const y = float16BitsToFloat32(bits);
        const up = float16BitsToFloat32(bits + 1);
        const ulp = Math.abs(up - y) || 2 ** -24;
        expect(Math.abs(y - x)).toBeLessThanOrEqual(ulp / 2 + 1e-30);
      }),
    );
  });
});

describe('bfloat16', () => {
  it('converts hand-checked values', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(-1.5)).toBe(0xbfc0);
    expect(bfloat16BitsToFloat32(0x4049)).toBeCloseTo(3.140625, 10);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even → 1.
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(float32ToBfloat16Bits(Number.NaN)).toBe(0x7fc0);
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
  });

  it('array conversions agree with scalar ones', () => {
    const values = new Float32Array([0, -0, 1, 3.3, -1e30, 1e-30, 123.456]);
    const bits = float32ArrayToBfloat16(values);
    const back = bfloat16ArrayToFloat32(bits);
    values.forEach((v, i) => {
      expect(bits[i]).toBe(float32ToBfloat16Bits(v));
      expect(back[i]).toBe(bfloat16BitsToFloat32(bits[i]!));
    });
  });
});

describe('float16 arrays', () => {
  it('widen every half exactly (NaN stays NaN)', async () => {
    const { float16ArrayToFloat32 } = await import('./half.js');
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const wide = float16ArrayToFloat32(all);
    for (let h = 0; h < 0x10000; h++) {
      const expected = float16BitsToFloat32(h);
      if (Number.isNaN(expected)) expect(Number.isNaN(wide[h])).toBe(true);
      else expect(Object.is(wide[h], Math.fround(expected))).toBe(true);
    }
  });
});
