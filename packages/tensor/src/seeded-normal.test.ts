import { describe, expect, it } from 'vitest';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from './half.js';
import { seededNormal } from './seeded-normal.js';

function moments(values: Float32Array): { mean: number; std: number; maxAbs: number } {
  let sum = 0;
  let squares = 0;
  let maxAbs = 0;
  for (const v of values) {
    sum += v;
    squares += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(squares / values.length - mean * mean), maxAbs };
}

describe('seededNormal', () => {
  it('draws N(mean, std²) in float32, float16 and bfloat16 storage, bounded near ±4.3σ', () => {
    const wide = new Float32Array(1 << 20);
    seededNormal(1).fill(wide, { dtype: 'float32', std: 0.02 });
    const m = moments(wide);
    expect(Math.abs(m.mean)).toBeLessThan(1e-4);
    expect(m.std).toBeCloseTo(0.02, 3);
    expect(m.maxAbs).toBeLessThan(0.02 * 4.5);

    const half = new Uint16Array(1 << 18);
    seededNormal(2).fill(half, { dtype: 'float16', std: 3, mean: 1 });
    const h = moments(float16ArrayToFloat32(half));
    expect(h.mean).toBeCloseTo(1, 1);
    expect(h.std).toBeCloseTo(3, 1);
    const brain = new Uint16Array(1 << 18);
    seededNormal(2).fill(brain, { dtype: 'bfloat16', std: 3, mean: 1 });
    const b = moments(bfloat16ArrayToFloat32(brain));
    expect(b.std).toBeCloseTo(3, 1);
    // Same seed, same quantile indices: the two storages hold the same draws, rounded differently.
    const first = float16ArrayToFloat32(half.subarray(0, 8));
    const firstBrain = bfloat16ArrayToFloat32(brain.subarray(0, 8));
    for (let i = 0; i < 8; i++) expect(Math.abs((first[i] as number) - (firstBrain[i] as number))).toBeLessThan(0.1);
  });

  it('is deterministic per seed and key, and chunked fills equal one fill', () => {
    const whole = new Float32Array(1001);
    seededNormal(7, 'layers.0.q_proj.weight').fill(whole, { dtype: 'float32', std: 1 });
    const parts = new Float32Array(1001);
    const generator = seededNormal(7, 'layers.0.q_proj.weight');
    generator.fill(parts.subarray(0, 333), { dtype: 'float32', std: 1 });
    generator.fill(parts.subarray(333, 334), { dtype: 'float32', std: 1 });
    generator.fill(parts.subarray(334), { dtype: 'float32', std: 1 });
    expect(parts).toEqual(whole);
    const other = new Float32Array(1001);
    seededNormal(7, 'layers.0.k_proj.weight').fill(other, { dtype: 'float32', std: 1 });
    expect(other).not.toEqual(whole);
    const reseeded = new Float32Array(1001);
    seededNormal(8, 'layers.0.q_proj.weight').fill(reseeded, { dtype: 'float32', std: 1 });
    expect(reseeded).not.toEqual(whole);
  });

  it('refuses an unusable std or seed', () => {
    expect(() => seededNormal(1).fill(new Float32Array(2), { dtype: 'float32', std: -1 })).toThrow('finite std ≥ 0');
    expect(() => seededNormal(1).fill(new Float32Array(2), { dtype: 'float32', std: Number.NaN })).toThrow('finite std ≥ 0');
    expect(() => seededNormal(0.5)).toThrow('seed must be an integer');
  });
});
