import { describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { imageCentricRows } from './image-centric-rows.js';

// Keys: 0 BOS (text sink) · 1 image sink · 2 image · 3 image · 4 text · 5 query itself.
const sinkFlags = createTensor('uint8', [1, 6], [1, 1, 0, 0, 0, 0]);
const imageMask = createTensor('uint8', [1, 6], [0, 1, 1, 1, 0, 0]);
const rowsOf = (rows: number[][]) => createTensor('float32', [1, rows.length, 1, 6], rows.flat());

describe('imageCentricRows', () => {
  it('computes A_img and r and applies ρ and m (hand-checked)', () => {
    const attention = rowsOf([
      [0.3, 0.1, 0.2, 0.1, 0.2, 0.1], // A_img 0.4, Σ_V 0.1 → r = 1 − 0.1/(0.4 + 3e-6) ≈ 0.7500019
      [0.5, 0.3, 0.05, 0.05, 0.05, 0.05], // A_img 0.4, Σ_V 0.3 → r ≈ 0.25: sink-dominated
      [0.8, 0.02, 0.05, 0.03, 0.05, 0.05], // A_img 0.1 < m
    ]);
    const out = imageCentricRows({
      attention,
      sinkFlags,
      imageMask,
      queryMask: createTensor('uint8', [1, 1], [1]),
      rho: 0.5,
      minImageAttention: 0.2,
    });
    expect(out.imageAttention.data[0]).toBeCloseTo(0.4, 6);
    expect(out.nonSinkRatio.data[0]).toBeCloseTo(1 - 0.1 / (0.4 + 3e-6), 6);
    expect(out.nonSinkRatio.data[1]).toBeCloseTo(1 - 0.3 / (0.4 + 3e-6), 6);
    expect(out.imageAttention.data[2]).toBeCloseTo(0.1, 6);
    expect([...out.selected.data]).toEqual([1, 0, 0]);
  });

  it('the 1e-6·|I| term of r decides a row with tiny image attention', () => {
    // |I| = 1000 image keys, A_img = 0.001, Σ_V = 0.0005: r = 1 − 0.0005/(0.001 + 0.001) = 0.75 (0.5 without the term).
    const keys = 1001;
    const image = new Uint8Array(keys).fill(1);
    image[0] = 0;
    const sinks = new Uint8Array(keys);
    sinks[1] = 1;
    const row = new Float32Array(keys);
    row[0] = 0.999;
    row[1] = 0.0005;
    for (let k = 2; k < keys; k++) row[k] = 0.0005 / 999;
    const out = imageCentricRows({
      attention: createTensor('float32', [1, 1, 1, keys], row),
      sinkFlags: createTensor('uint8', [1, keys], sinks),
      imageMask: createTensor('uint8', [1, keys], image),
      queryMask: createTensor('uint8', [1, 1], [1]),
      rho: 0.6,
      minImageAttention: 0.0005,
    });
    expect(out.nonSinkRatio.data[0]).toBeCloseTo(0.75, 5);
    expect(out.selected.data[0]).toBe(1);
  });

  it('selects nothing without visual sinks, image tokens, eligible queries or an active layer', () => {
    const attention = rowsOf([[0.3, 0.1, 0.2, 0.1, 0.2, 0.1]]);
    const base = { attention, imageMask, queryMask: createTensor('uint8', [1, 1], [1]), rho: 0, minImageAttention: 0 };
    // BOS is a sink but no image token is: |V| = 0.
    expect(imageCentricRows({ ...base, sinkFlags: createTensor('uint8', [1, 6], [1, 0, 0, 0, 0, 0]) }).selected.data[0]).toBe(0);
    // No image tokens at all: r is defined as 1 and nothing is selected.
    const noImage = imageCentricRows({ ...base, sinkFlags, imageMask: createTensor('uint8', [1, 6]) });
    expect(noImage.selected.data[0]).toBe(0);
    expect(noImage.nonSinkRatio.data[0]).toBe(1);
    expect(imageCentricRows({ ...base, sinkFlags, queryMask: createTensor('uint8', [1, 1], [0]) }).selected.data[0]).toBe(0);
    expect(imageCentricRows({ ...base, sinkFlags, layerActive: [0] }).selected.data[0]).toBe(0);
    expect(imageCentricRows({ ...base, sinkFlags, layerActive: [1] }).selected.data[0]).toBe(1);
  });

  it('r ≥ ρ and A_img ≥ m are inclusive', () => {
    const attention = rowsOf([[0.5, 0, 0.25, 0.25, 0, 0]]);
    const out = imageCentricRows({
      attention,
      sinkFlags,
      imageMask,
      queryMask: createTensor('uint8', [1, 1], [1]),
      rho: 1,
      minImageAttention: 0.5,
    });
    // Σ_V = 0 → r = 1 exactly; A_img = 0.5 exactly.
    expect(out.nonSinkRatio.data[0]).toBe(1);
    expect(out.selected.data[0]).toBe(1);
  });

  it('handles batch rows with different image positions, left padding and per-row parameters', () => {
    // Row 0: [pad, BOS, img-sink, img, text]; row 1: [BOS, text, img, img-sink, text].
    const attention = createTensor('float32', [2, 1, 1, 5], [0, 0.2, 0.1, 0.5, 0.2, 0.1, 0.1, 0.5, 0.1, 0.2]);
    const out = imageCentricRows({
      attention,
      sinkFlags: createTensor('uint8', [2, 5], [0, 1, 1, 0, 0, 1, 0, 0, 1, 0]),
      imageMask: createTensor('uint8', [2, 5], [0, 0, 1, 1, 0, 0, 0, 1, 1, 0]),
      queryMask: createTensor('uint8', [2, 1], [1, 1]),
      rho: [0.8, 0.9],
      minImageAttention: [0.2, 0.2],
    });
    // Row 0: A_img 0.6, Σ_V 0.1 → r ≈ 0.833 ≥ 0.8. Row 1: same r, but ρ = 0.9.
    expect(out.nonSinkRatio.data[0]).toBeCloseTo(1 - 0.1 / (0.6 + 2e-6), 6);
    expect(out.nonSinkRatio.data[1]).toBeCloseTo(1 - 0.1 / (0.6 + 2e-6), 6);
    expect([...out.selected.data]).toEqual([1, 0]);
  });

  it('rejects mismatched shapes with named errors', () => {
    const attention = rowsOf([[0.3, 0.1, 0.2, 0.1, 0.2, 0.1]]);
    expect(() =>
      imageCentricRows({
        attention,
        sinkFlags: createTensor('uint8', [1, 5]),
        imageMask,
        queryMask: createTensor('uint8', [1, 1]),
        rho: 0.5,
        minImageAttention: 0.2,
      }),
    ).toThrow('sinkFlags: expected dims [1, 6], got [1, 5]');
  });
});
