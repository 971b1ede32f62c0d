import { describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { redistributeAttention } from './redistribute-attention.js';

// Keys: 0 BOS (text sink) · 1 image sink · 2 image · 3 image · 4 text · 5 query itself.
const sinkFlags = createTensor('uint8', [1, 6], [1, 1, 0, 0, 0, 0]);
const imageMask = createTensor('uint8', [1, 6], [0, 1, 1, 1, 0, 0]);

describe('redistributeAttention', () => {
  it('moves p of all sink attention (text sinks included) onto visual non-sinks (hand-checked)', () => {
    const attention = createTensor('float32', [1, 2, 1, 6], [0.3, 0.1, 0.2, 0.1, 0.2, 0.1, 0.3, 0.1, 0.2, 0.1, 0.2, 0.1]);
    const out = redistributeAttention({
      attention,
      sinkFlags,
      imageMask,
      selected: createTensor('uint8', [1, 2, 1], [1, 0]),
      p: 0.5,
    });
    // Σ_S = 0.4 → B = 0.2; Σ_N = 0.3: image 0.2 → 0.2 + 0.2·0.2/0.3, image 0.1 → 0.1 + 0.2·0.1/0.3.
    const expected = [0.15, 0.05, 0.2 + 0.04 / 0.3, 0.1 + 0.02 / 0.3, 0.2, 0.1];
    expected.forEach((v, k) => expect(out.attention.data[k]).toBeCloseTo(v, 6));
    expect(out.moved.data[0]).toBeCloseTo(0.2, 6);
    expect([...out.applied.data]).toEqual([1, 0]);
    // The unselected head is bit-identical.
    expect([...out.attention.data.subarray(6)]).toEqual([...attention.data.subarray(6)]);
    // Rows still sum to 1.
    expect(out.attention.data.subarray(0, 6).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('leaves a row unchanged (no NaN) when the visual non-sinks have no attention', () => {
    const attention = createTensor('float32', [1, 1, 1, 6], [0.5, 0.3, 0, 0, 0.1, 0.1]);
    const out = redistributeAttention({ attention, sinkFlags, imageMask, selected: createTensor('uint8', [1, 1, 1], [1]), p: 0.6 });
    expect([...out.attention.data]).toEqual([...attention.data]);
    expect(out.moved.data[0]).toBe(0);
    expect(out.applied.data[0]).toBe(0);
  });

  it('p = 0 is the identity and p = 1 empties the sinks', () => {
    const attention = createTensor('float32', [1, 1, 1, 6], [0.3, 0.1, 0.2, 0.1, 0.2, 0.1]);
    const selected = createTensor('uint8', [1, 1, 1], [1]);
    expect([...redistributeAttention({ attention, sinkFlags, imageMask, selected, p: 0 }).attention.data]).toEqual([
      ...attention.data,
    ]);
    const all = redistributeAttention({ attention, sinkFlags, imageMask, selected, p: 1 });
    expect(all.attention.data[0]).toBe(0);
    expect(all.attention.data[1]).toBe(0);
    expect(all.attention.data[2]).toBeCloseTo(0.2 + 0.4 * (0.2 / 0.3), 6);
  });

  it('uses each row\'s own p and masks', () => {
    const attention = createTensor('float32', [2, 1, 1, 3], [0.5, 0.25, 0.25, 0.5, 0.25, 0.25]);
    const out = redistributeAttention({
      attention,
      sinkFlags: createTensor('uint8', [2, 3], [1, 0, 0, 0, 1, 0]),
      imageMask: createTensor('uint8', [2, 3], [0, 1, 1, 0, 1, 1]),
      selected: createTensor('uint8', [2, 1, 1], [1, 1]),
      p: [0.5, 1],
    });
    expect([...out.attention.data.subarray(0, 3)].map((v) => +v.toFixed(6))).toEqual([0.25, 0.375, 0.375]);
    expect([...out.attention.data.subarray(3, 6)].map((v) => +v.toFixed(6))).toEqual([0.5, 0, 0.5]);
  });
});
