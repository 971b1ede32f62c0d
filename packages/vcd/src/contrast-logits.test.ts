import { describe, expect, it } from 'vitest';
import { contrastLogits, validateContrast } from './contrast-logits.js';
import { vcdContrast } from './vcd-method.js';

describe('contrastLogits', () => {
  const logits = Float32Array.of(2, 1, -1, 0.5);
  const counterpart = Float32Array.of(1, 2, 0, 0.4);

  it('VCD: (1 + α)·l − α·l′ on raw logits, −∞ below log β + max l', () => {
    const out = contrastLogits(logits, counterpart, vcdContrast({ alpha: 1, beta: 0.1 }));
    // cutoff = ln 0.1 + 2 ≈ −0.303: token 2 (−1) is cut.
    expect([...out]).toEqual([3, 0, -Infinity, Math.fround(0.6)]);
    expect(out.indexOf(Math.max(...out))).toBe(0); // token 1, likelier under the noised image, lost ground
  });

  it('PAI: γ·(log p − log p′) + log p′ on log-probabilities, cutoff log 0.1 + max log p', () => {
    const gamma = 1.1;
    const out = contrastLogits(logits, counterpart, { counterpart: 'text-only', alpha: gamma - 1, beta: 0.1, logSoftmax: true });
    const logp = (x: Float32Array) => {
      const m = Math.max(...x);
      const z = Math.log([...x].reduce((a, v) => a + Math.exp(v - m), 0)) + m;
      return [...x].map((v) => v - z);
    };
    const s = logp(logits);
    const u = logp(counterpart);
    const cutoff = Math.log(0.1) + Math.max(...s);
    s.forEach((v, i) => {
      if (v < cutoff) expect(out[i]).toBe(-Infinity);
      else expect(out[i]).toBeCloseTo(gamma * (v - u[i]!) + u[i]!, 6);
    });
  });

  it('α = 0 is the row itself (the same array, every value and candidate)', () => {
    expect(contrastLogits(logits, counterpart, vcdContrast({ alpha: 0 }))).toBe(logits);
  });

  it('refuses settings it cannot use, naming them', () => {
    expect(() => validateContrast(vcdContrast({ alpha: -1 }))).toThrow(/alpha must be a finite number ≥ 0, got -1/);
    expect(() => validateContrast(vcdContrast({ beta: 0 }))).toThrow(/beta .* must be in \(0, 1\], got 0/);
    expect(() => validateContrast(vcdContrast({ noiseStep: 1000 }))).toThrow(/noise step must be an integer in \[0, 999\], got 1000/);
    expect(() => contrastLogits(logits, Float32Array.of(1), vcdContrast())).toThrow(/4 and 1 logits/);
  });
});
