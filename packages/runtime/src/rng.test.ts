import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { createRng } from './rng.js';

describe('createRng', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const take = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 8 }, () => rng.nextUint32());
    };
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    expect(take(2 ** 40 + 1)).not.toEqual(take(1));
    expect(take(0)).not.toEqual(take(2 ** 32));
  });

  it('gives uniform floats in [0, 1)', () => {
    const rng = createRng(7);
    const buckets = new Array<number>(10).fill(0);
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      if (!(u >= 0 && u < 1)) outside++;
      else buckets[Math.floor(u * 10)]!++;
    }
    expect(outside).toBe(0);
    const chiSquare = buckets.reduce((sum, count) => sum + (count - n / 10) ** 2 / (n / 10), 0);
    expect(chiSquare).toBeLessThan(40); // df 9: p < 1e-5 beyond ~37
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => createRng(1.5)).toThrow(InvalidArgumentError);
    expect(() => createRng(Number.NaN)).toThrow(InvalidArgumentError);
  });
});
