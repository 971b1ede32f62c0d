import { describe, expect, it } from 'vitest';
import { addDiffusionNoise, diffusionAlphaBar } from './diffusion-noise.js';

describe('VCD diffusion noise', () => {
  it('ᾱ_t equals the released schedule (numpy float32 of the same formula: 0.99997765, 0.74479842, 0.08124918)', () => {
    // python3 -c "import numpy as np; b=np.linspace(-6,6,1000).astype(np.float32); b=(1/(1+np.exp(-b)))*(0.5e-2-1e-5)+1e-5; print(np.cumprod(1-b.astype(np.float32), dtype=np.float32)[[0,500,999]])"
    for (const [step, expected] of [[0, 0.9999776482582092], [500, 0.7447984218597412], [999, 0.0812491849064827]] as const) {
      expect(Math.abs(diffusionAlphaBar(step) - expected) / expected, `step ${step}`).toBeLessThan(1e-6);
    }
    expect(() => diffusionAlphaBar(1000)).toThrow(/integer in \[0, 999\], got 1000/);
    expect(() => diffusionAlphaBar(2.5)).toThrow(/got 2.5/);
  });

  it('is seeded: the same seed gives the same noised pixels, another seed others', () => {
    const pixels = Float32Array.from({ length: 3 * 24 * 24 }, (_, i) => Math.sin(i) * 2);
    const a = addDiffusionNoise(pixels, { step: 500, seed: 7 });
    expect([...addDiffusionNoise(pixels, { step: 500, seed: 7 })]).toEqual([...a]);
    expect(addDiffusionNoise(pixels, { step: 500, seed: 8 }).some((x, i) => x !== a[i])).toBe(true);
    expect(pixels[1]).toBe(Math.fround(Math.sin(1) * 2)); // the input is not touched
  });

  it('mixes √ᾱ·x with √(1 − ᾱ)·N(0, 1): the residual has the schedule\'s standard deviation', () => {
    const pixels = Float32Array.from({ length: 200_000 }, (_, i) => (i % 13) / 6 - 1);
    for (const step of [100, 500, 999]) {
      const alphaBar = diffusionAlphaBar(step);
      const noised = addDiffusionNoise(pixels, { step, seed: 3 });
      let sum = 0;
      let squares = 0;
      noised.forEach((x, i) => {
        const residual = x - Math.sqrt(alphaBar) * (pixels[i] as number);
        sum += residual;
        squares += residual * residual;
      });
      const mean = sum / pixels.length;
      const std = Math.sqrt(squares / pixels.length - mean * mean);
      expect(Math.abs(mean), `step ${step} mean`).toBeLessThan(0.01);
      expect(std / Math.sqrt(1 - alphaBar), `step ${step} std ratio`).toBeCloseTo(1, 2);
    }
  });
});
