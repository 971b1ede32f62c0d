import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError, seededRandom } from '@vasink/test-utils';
import { imageCentricRows } from './image-centric-rows.js';
import { emitImageCentricRows } from './image-centric-rows-graph.js';

/** Softmax rows with a causal/padding-like random mask of zeros. */
function randomAttention(random: () => number, batch: number, heads: number, queries: number, keys: number) {
  const data = new Float32Array(batch * heads * queries * keys);
  for (let row = 0; row < batch * heads * queries; row++) {
    let sum = 0;
    const base = row * keys;
    for (let k = 0; k < keys; k++) {
      const value = random() < 0.15 ? 0 : Math.exp(random() * 6 - 3);
      data[base + k] = value;
      sum += value;
    }
    for (let k = 0; k < keys; k++) data[base + k] = sum > 0 ? data[base + k]! / sum : 0;
  }
  return createTensor('float32', [batch, heads, queries, keys], data);
}

describe('emitImageCentricRows', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const attention = g.input('attention', 'float32', ['batch', 'heads', 'query', 'key']);
    const sinkMask = g.input('sink_mask', 'bool', ['batch', 'key']);
    const imageMask = g.input('image_mask', 'bool', ['batch', 'key']);
    const queryMask = g.input('query_mask', 'bool', ['batch', 'query']);
    const rho = g.input('rho', 'float32', ['batch']);
    const minImageAttention = g.input('min_image_attention', 'float32', ['batch']);
    const layerActive = g.input('layer_active', 'bool', ['batch']);
    const rows = emitImageCentricRows(g, { attention, sinkMask, imageMask, queryMask, rho, minImageAttention, layerActive });
    g.output(g.cast(rows.selected, 'uint8'), { name: 'selected' });
    g.output(rows.imageAttention, { name: 'image_attention' });
    g.output(rows.nonSinkRatio, { name: 'non_sink_ratio' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  it('equals the reference on random rows (thresholds kept away from the row statistics)', async () => {
    let selectedRows = 0;
    let rejectedRows = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batch: fc.integer({ min: 1, max: 3 }),
          heads: fc.integer({ min: 1, max: 4 }),
          queries: fc.integer({ min: 1, max: 6 }),
          keys: fc.integer({ min: 2, max: 24 }),
          rho: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
          minImage: fc.array(fc.double({ min: 0, max: 0.8, noNaN: true }), { minLength: 3, maxLength: 3 }),
        }),
        async ({ seed, batch, heads, queries, keys, rho, minImage }) => {
          const random = seededRandom(seed);
          const attention = randomAttention(random, batch, heads, queries, keys);
          const imageMask = createTensor('uint8', [batch, keys], new Uint8Array(batch * keys).map(() => (random() < 0.6 ? 1 : 0)));
          const sinkFlags = createTensor('uint8', [batch, keys], new Uint8Array(batch * keys).map(() => (random() < 0.25 ? 1 : 0)));
          const queryMask = createTensor('uint8', [batch, queries], new Uint8Array(batch * queries).map(() => (random() < 0.8 ? 1 : 0)));
          const layerActive = new Uint8Array(batch).map(() => (random() < 0.85 ? 1 : 0));
          const rowRho = rho.slice(0, batch).map(Math.fround);
          const rowMin = minImage.slice(0, batch).map(Math.fround);
          const expected = imageCentricRows({ attention, sinkFlags, imageMask, queryMask, rho: rowRho, minImageAttention: rowMin, layerActive });
          // Keep every decision away from its threshold: float32 graph sums and float64 reference may differ by ~1e-7.
          for (let row = 0; row < batch * heads * queries; row++) {
            const b = Math.floor(row / (heads * queries));
            fc.pre(Math.abs(expected.nonSinkRatio.data[row]! - rowRho[b]!) > 1e-4);
            fc.pre(Math.abs(expected.imageAttention.data[row]! - rowMin[b]!) > 1e-4);
          }
          const out = await runner.run({
            attention,
            sink_mask: createTensor('bool', [batch, keys], sinkFlags.data),
            image_mask: createTensor('bool', [batch, keys], imageMask.data),
            query_mask: createTensor('bool', [batch, queries], queryMask.data),
            rho: createTensor('float32', [batch], rowRho),
            min_image_attention: createTensor('float32', [batch], rowMin),
            layer_active: createTensor('bool', [batch], layerActive),
          });
          expect([...(out.selected!.data as Uint8Array)]).toEqual([...expected.selected.data]);
          expect(maxRelativeError(out.image_attention!.data as Float32Array, expected.imageAttention.data)).toBeLessThanOrEqual(1e-5);
          expect(maxRelativeError(out.non_sink_ratio!.data as Float32Array, expected.nonSinkRatio.data)).toBeLessThanOrEqual(1e-5);
          for (const s of expected.selected.data) s ? selectedRows++ : rejectedRows++;
        },
      ),
      { numRuns: 80 },
    );
    expect(selectedRows).toBeGreaterThan(50);
    expect(rejectedRows).toBeGreaterThan(50);
  });

  it('gives r = 1 and selects nothing for a row without image tokens (no NaN)', async () => {
    const out = await runner.run({
      attention: createTensor('float32', [1, 1, 1, 3], [0.5, 0.25, 0.25]),
      sink_mask: createTensor('bool', [1, 3], [1, 0, 0]),
      image_mask: createTensor('bool', [1, 3], [0, 0, 0]),
      query_mask: createTensor('bool', [1, 1], [1]),
      rho: createTensor('float32', [1], [0]),
      min_image_attention: createTensor('float32', [1], [0]),
      layer_active: createTensor('bool', [1], [1]),
    });
    expect(out.non_sink_ratio!.data[0]).toBe(1);
    expect(out.selected!.data[0]).toBe(0);
  });
});
