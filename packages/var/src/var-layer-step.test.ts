import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { imageCentricRows } from '@vasink/head-select';
import { createTensor } from '@vasink/tensor';
import { varLayerStep } from './var-layer-step.js';
import { HIDDEN, SINK_DIMS, makeScenario, paramsTensor } from '../test/scenario.js';

function plantedHidden(tokens: number, planted: readonly number[]) {
  const data = new Float32Array(tokens * HIDDEN).fill(0.5);
  for (const t of planted) data[t * HIDDEN + 5] = 40;
  return data;
}

describe('varLayerStep (hand-checked)', () => {
  // Prefill of 6 tokens: [BOS, img-sink, img, img, txt, txt]; the BOS and token 1 are planted.
  const keys = 6;
  const hidden = createTensor('float32', [1, keys, HIDDEN], plantedHidden(keys, [0, 1]));
  const attentionRow = [0.3, 0.1, 0.2, 0.1, 0.2, 0.1];
  const attention = new Float32Array(4 * keys * keys);
  // Head 0: every query row q < 4 is causal junk; rows 4 and 5 carry attentionRow-shaped mass.
  for (let h = 0; h < 4; h++) {
    for (let q = 0; q < keys; q++) {
      const base = (h * keys + q) * keys;
      if (q >= 4) attentionRow.forEach((v, k) => (attention[base + k] = k <= q ? v : 0));
      else for (let k = 0; k <= q; k++) attention[base + k] = 1 / (q + 1);
    }
  }
  // Row q = 4 sums to 0.9 over keys ≤ 4: renormalise to a proper softmax row.
  for (let h = 0; h < 4; h++) for (let k = 0; k <= 4; k++) attention[(h * keys + 4) * keys + k]! /= 0.9;
  const step = (overrides: { params?: number[]; layerActive?: number[] } = {}) =>
    varLayerStep({
      hidden,
      attention: createTensor('float32', [1, 4, keys, keys], attention),
      pastSinkFlags: createTensor('uint8', [1, 0]),
      detect: true,
      attentionMask: createTensor('uint8', [1, keys], [1, 1, 1, 1, 1, 1]),
      imageMask: createTensor('uint8', [1, keys], [0, 1, 1, 1, 0, 0]),
      queryMask: createTensor('uint8', [1, keys], [0, 0, 0, 0, 1, 1]),
      params: createTensor('float32', [1, 4], overrides.params ?? [5, 0.5, 0.5, 0.2]),
      layerActive: overrides.layerActive ?? [1],
      sinkDims: SINK_DIMS,
    });

  it('detects sinks, selects eligible rows only and redistributes them', () => {
    const out = step();
    expect([...out.sinkFlags.data]).toEqual([1, 1, 0, 0, 0, 0]);
    // Rows q = 0..3 (before and inside the image) are never selected; q = 4 and 5 are, in every head.
    for (let h = 0; h < 4; h++) expect([...out.selected.data.subarray(h * keys, (h + 1) * keys)]).toEqual([0, 0, 0, 0, 1, 1]);
    const row5 = out.attention.data.subarray((0 * keys + 5) * keys, (0 * keys + 6) * keys);
    [0.15, 0.05, 0.2 + 0.04 / 0.3, 0.1 + 0.02 / 0.3, 0.2, 0.1].forEach((v, k) => expect(row5[k]).toBeCloseTo(v, 6));
    expect(out.moved.data[5]).toBeCloseTo(0.2, 6);
    // Unselected rows are bit-identical.
    expect([...out.attention.data.subarray(0, 4 * keys)]).toEqual([...attention.subarray(0, 4 * keys)]);
  });

  it('τ is strict: a token with φ == τ is not a sink', () => {
    const phi = step().score.data[1]!;
    expect(step({ params: [phi, 0.5, 0.5, 0.2] }).sinkFlags.data[1]).toBe(0);
    expect(step({ params: [Math.fround(phi * 0.999), 0.5, 0.5, 0.2] }).sinkFlags.data[1]).toBe(1);
  });

  it('an inactive layer (VAR off for the row) changes nothing but still reports sinks', () => {
    const out = step({ layerActive: [0] });
    expect([...out.attention.data]).toEqual([...attention]);
    expect([...out.selected.data].every((v) => v === 0)).toBe(true);
    expect([...out.sinkFlags.data]).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('ρ = 0 with all image attention on sinks selects the row yet leaves it unchanged, without NaN', () => {
    const only = createTensor('float32', [1, 1, 1, 3], [0.5, 0.5, 0]);
    const out = varLayerStep({
      hidden: createTensor('float32', [1, 1, HIDDEN], plantedHidden(1, [])),
      attention: only,
      pastSinkFlags: createTensor('uint8', [1, 2], [1, 1]),
      detect: false,
      attentionMask: createTensor('uint8', [1, 3], [1, 1, 1]),
      imageMask: createTensor('uint8', [1, 3], [0, 1, 0]),
      queryMask: createTensor('uint8', [1, 1], [1]),
      params: createTensor('float32', [1, 4], [20, 0, 0.6, 0.2]),
      layerActive: [1],
      sinkDims: SINK_DIMS,
    });
    expect(out.selected.data[0]).toBe(1);
    expect([...out.attention.data]).toEqual([0.5, 0.5, 0]);
    expect(out.moved.data[0]).toBe(0);
  });

  it('at decode, carries the past flags and never makes the new token a sink', () => {
    const out = varLayerStep({
      hidden: createTensor('float32', [1, 1, HIDDEN], plantedHidden(1, [0])), // massive, but generated
      attention: createTensor('float32', [1, 1, 1, 4], [0.4, 0.1, 0.3, 0.2]),
      pastSinkFlags: createTensor('uint8', [1, 3], [1, 1, 0]),
      detect: false,
      attentionMask: createTensor('uint8', [1, 4], [1, 1, 1, 1]),
      imageMask: createTensor('uint8', [1, 4], [0, 1, 1, 0]),
      queryMask: createTensor('uint8', [1, 1], [1]),
      params: createTensor('float32', [1, 4], [5, 0.5, 0.5, 0.2]),
      layerActive: [1],
      sinkDims: SINK_DIMS,
    });
    expect([...out.sinkFlags.data]).toEqual([1, 1, 0, 0]);
    // A_img = 0.4, Σ_V = 0.1 → r ≈ 0.75 ≥ 0.5: Σ_S = 0.5 → B = 0.25 all onto the one non-sink image token.
    [0.2, 0.05, 0.55, 0.2].forEach((v, k) => expect(out.attention.data[k]).toBeCloseTo(v, 6));
  });
});

const scenarioArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  batch: fc.integer({ min: 1, max: 3 }),
  heads: fc.integer({ min: 1, max: 4 }),
  keys: fc.integer({ min: 8, max: 20 }),
  phase: fc.constantFrom('prefill' as const, 'decode' as const),
});
const rowParamsArb = fc.array(
  fc.tuple(
    fc.double({ min: 3, max: 7, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.double({ min: 0, max: 0.6, noNaN: true }),
  ),
  { minLength: 3, maxLength: 3 },
);

describe('varLayerStep (properties)', () => {
  it('keeps rows summing to 1, unselected rows bit-identical, sinks at (1 − p)·α and moved = p·Σ sinks', () => {
    let redistributedRows = 0;
    let untouchedRows = 0;
    fc.assert(
      fc.property(scenarioArb, rowParamsArb, (shape, rows) => {
        const s = makeScenario(shape);
        const params = paramsTensor(rows.slice(0, s.batch) as [number, number, number, number][]);
        const out = varLayerStep({ ...s, params, layerActive: new Array(s.batch).fill(1), sinkDims: SINK_DIMS });
        // Planted tokens are exactly the sinks (φ is far from τ by construction).
        for (let b = 0; b < s.batch; b++) {
          for (let k = 0; k < s.keys; k++) {
            const real = s.attentionMask.data[b * s.keys + k] === 1;
            expect(out.sinkFlags.data[b * s.keys + k]).toBe(real ? s.planted[b * s.keys + k] : 0);
          }
        }
        for (let b = 0; b < s.batch; b++) {
          const p = params.data[b * 4 + 2]!;
          for (let h = 0; h < s.heads; h++) {
            for (let q = 0; q < s.queries; q++) {
              const row = (b * s.heads + h) * s.queries + q;
              const base = row * s.keys;
              const before = s.attention.data.subarray(base, base + s.keys);
              const after = out.attention.data.subarray(base, base + s.keys);
              const sumBefore = before.reduce((a, v) => a + v, 0);
              const sumAfter = after.reduce((a, v) => a + v, 0);
              expect(Math.abs(sumAfter - sumBefore)).toBeLessThan(1e-5);
              if (out.moved.data[row] === 0) {
                expect([...after]).toEqual([...before]);
                untouchedRows++;
                continue;
              }
              redistributedRows++;
              expect(out.selected.data[row]).toBe(1);
              let sinkMass = 0;
              for (let k = 0; k < s.keys; k++) {
                if (out.sinkFlags.data[b * s.keys + k]) {
                  sinkMass += before[k]!;
                  expect(after[k]).toBe(Math.fround((1 - p) * before[k]!));
                } else if (!s.imageMask.data[b * s.keys + k]) {
                  expect(after[k]).toBe(before[k]);
                }
              }
              expect(out.moved.data[row]).toBeCloseTo(p * sinkMass, 6);
            }
          }
        }
      }),
      { numRuns: 150 },
    );
    // The generator must exercise both branches, or the properties above say nothing.
    expect(redistributedRows).toBeGreaterThan(100);
    expect(untouchedRows).toBeGreaterThan(100);
  });

  it('p = 0 is the identity; ineligible queries are never selected', () => {
    fc.assert(
      fc.property(scenarioArb, rowParamsArb, (shape, rows) => {
        const s = makeScenario(shape);
        const params = paramsTensor(rows.slice(0, s.batch).map(([tau, rho, , m]) => [tau, rho, 0, m] as const));
        const out = varLayerStep({ ...s, params, layerActive: new Array(s.batch).fill(1), sinkDims: SINK_DIMS });
        expect([...out.attention.data]).toEqual([...s.attention.data]);
        for (let b = 0; b < s.batch; b++) {
          for (let h = 0; h < s.heads; h++) {
            for (let q = 0; q < s.queries; q++) {
              if (!s.queryMask.data[b * s.queries + q]) expect(out.selected.data[(b * s.heads + h) * s.queries + q]).toBe(0);
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('selects exactly the rows the head rule selects on the step\'s sink flags', () => {
    fc.assert(
      fc.property(scenarioArb, rowParamsArb, (shape, rows) => {
        const s = makeScenario(shape);
        const params = paramsTensor(rows.slice(0, s.batch) as [number, number, number, number][]);
        const out = varLayerStep({ ...s, params, layerActive: new Array(s.batch).fill(1), sinkDims: SINK_DIMS });
        const column = (c: number) => Array.from({ length: s.batch }, (_, b) => params.data[b * 4 + c]!);
        const expected = imageCentricRows({
          attention: s.attention,
          sinkFlags: out.sinkFlags,
          imageMask: s.imageMask,
          queryMask: s.queryMask,
          rho: column(1),
          minImageAttention: column(3),
        });
        expect([...out.selected.data]).toEqual([...expected.selected.data]);
      }),
      { numRuns: 50 },
    );
  });
});
