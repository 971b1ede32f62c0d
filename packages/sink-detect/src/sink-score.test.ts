import { describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { assertSinkDims, detectSinks, sinkFlags, sinkScore } from './sink-score.js';

describe('sinkScore', () => {
  it('matches a hand-computed φ', () => {
    // x = [3, 4, 0, 0]: mean(x²) = 25/4, RMS = sqrt(6.25 + 1e-6); φ over dims {1} = 4 / RMS.
    const hidden = createTensor('float32', [1, 2, 4], [3, 4, 0, 0, -8, 0, 0, 0]);
    const phi = sinkScore(hidden, [1, 0]);
    expect(phi.dims).toEqual([1, 2]);
    expect(phi.data[0]).toBeCloseTo(4 / Math.sqrt(6.25 + 1e-6), 6);
    // second token: |−8| at dim 0, mean(x²) = 16 → φ = 8 / sqrt(16 + 1e-6) ≈ 2 (= sqrt(D) for one-hot energy).
    expect(phi.data[1]).toBeCloseTo(8 / Math.sqrt(16 + 1e-6), 6);
  });

  it('is bounded by sqrt(D / k) when the energy sits in k dims', () => {
    const dim = 512;
    const data = new Float32Array(dim);
    data[7] = 1000;
    const phi = sinkScore(createTensor('float32', [1, 1, dim], data), [7]);
    expect(phi.data[0]).toBeCloseTo(Math.sqrt(dim), 3);
  });

  it('returns 0 for an all-zero token instead of NaN (ε in the RMS)', () => {
    const phi = sinkScore(createTensor('float32', [1, 1, 4]), [0]);
    expect(phi.data[0]).toBe(0);
  });

  it('rejects bad sink dims clearly', () => {
    const hidden = createTensor('float32', [1, 1, 4]);
    expect(() => sinkScore(hidden, [])).toThrow(/sink dims are empty/);
    expect(() => sinkScore(hidden, [4])).toThrow('sink dim 4 is not an integer in [0, 4)');
    expect(() => assertSinkDims([1, 1])).toThrow('sink dim 1 is listed twice');
    expect(() => sinkScore(createTensor('float32', [4]), [0])).toThrow(/hidden: expected dims \[batch, tokens, dim\]/);
  });
});

describe('sinkFlags', () => {
  it('uses a strict > against τ', () => {
    const score = createTensor('float32', [1, 3], [20, 20.001, 19.999]);
    expect([...sinkFlags({ score, tau: 20 }).data]).toEqual([0, 1, 0]);
  });

  it('takes τ per row and honours candidates', () => {
    const score = createTensor('float32', [2, 3], [30, 30, 5, 30, 30, 5]);
    const candidates = createTensor('uint8', [2, 3], [1, 0, 1, 1, 1, 1]);
    const flags = sinkFlags({ score, tau: [20, 40], candidates });
    expect([...flags.data]).toEqual([1, 0, 0, 0, 0, 0]);
    expect(() => sinkFlags({ score, tau: [20] })).toThrow('tau: expected one value per batch row (2), got 1');
  });

  it('detectSinks composes score and flags on left-padded rows', () => {
    const dim = 64;
    const hidden = new Float32Array(2 * 3 * dim).fill(0.1);
    hidden[0 * dim + 5] = 100; // row 0 token 0 (padding): massive but not a candidate
    hidden[(1 * 3 + 1) * dim + 5] = 100; // row 1 token 1: a sink
    const { flags, score } = detectSinks({
      hidden: createTensor('float32', [2, 3, dim], hidden),
      sinkDims: [5],
      tau: 5,
      candidates: createTensor('uint8', [2, 3], [0, 1, 1, 1, 1, 1]),
    });
    expect(score.data[0]).toBeGreaterThan(5);
    expect([...flags.data]).toEqual([0, 0, 0, 0, 1, 0]);
  });
});
