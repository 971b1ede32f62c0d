import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError, seededRandom } from '@vasink/test-utils';
import { redistributeAttention } from './redistribute-attention.js';
import { emitRedistribution } from './redistribute-attention-graph.js';

describe('emitRedistribution', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const attention = g.input('attention', 'float32', ['batch', 'heads', 'query', 'key']);
    const sinkMask = g.input('sink_mask', 'bool', ['batch', 'key']);
    const imageMask = g.input('image_mask', 'bool', ['batch', 'key']);
    const selected = g.input('selected', 'bool', ['batch', 'heads', 'query']);
    const p = g.input('p', 'float32', ['batch']);
    const out = emitRedistribution(g, { attention, sinkMask, imageMask, selected, p });
    g.output(out.attention, { name: 'attention_out' });
    g.output(out.moved, { name: 'moved' });
    g.output(g.cast(out.applied, 'uint8'), { name: 'applied' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  it('equals the reference on random rows; unselected rows are bit-identical', async () => {
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batch: fc.integer({ min: 1, max: 3 }),
          heads: fc.integer({ min: 1, max: 4 }),
          queries: fc.integer({ min: 1, max: 6 }),
          keys: fc.integer({ min: 2, max: 24 }),
          p: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
        }),
        async ({ seed, batch, heads, queries, keys, p }) => {
          const random = seededRandom(seed);
          const data = new Float32Array(batch * heads * queries * keys);
          for (let row = 0; row < batch * heads * queries; row++) {
            let sum = 0;
            for (let k = 0; k < keys; k++) sum += data[row * keys + k] = random() < 0.2 ? 0 : Math.exp(random() * 6 - 3);
            for (let k = 0; k < keys; k++) data[row * keys + k] = data[row * keys + k]! / (sum || 1);
          }
          const attention = createTensor('float32', [batch, heads, queries, keys], data);
          const sinkFlags = createTensor('uint8', [batch, keys], new Uint8Array(batch * keys).map(() => (random() < 0.3 ? 1 : 0)));
          const imageMask = createTensor('uint8', [batch, keys], new Uint8Array(batch * keys).map(() => (random() < 0.6 ? 1 : 0)));
          const selected = createTensor('uint8', [batch, heads, queries], new Uint8Array(batch * heads * queries).map(() => (random() < 0.6 ? 1 : 0)));
          const rowP = p.slice(0, batch).map(Math.fround);
          const expected = redistributeAttention({ attention, sinkFlags, imageMask, selected, p: rowP });
          const out = await runner.run({
            attention,
            sink_mask: createTensor('bool', [batch, keys], sinkFlags.data),
            image_mask: createTensor('bool', [batch, keys], imageMask.data),
            selected: createTensor('bool', [batch, heads, queries], selected.data),
            p: createTensor('float32', [batch], rowP),
          });
          const got = out.attention_out!.data as Float32Array;
          expect([...(out.applied!.data as Uint8Array)]).toEqual([...expected.applied.data]);
          expect(maxRelativeError(got, expected.attention.data)).toBeLessThanOrEqual(1e-5);
          expect(maxRelativeError(out.moved!.data as Float32Array, expected.moved.data)).toBeLessThanOrEqual(1e-5);
          expected.applied.data.forEach((a, row) => {
            if (a) return applied++;
            expect([...got.subarray(row * keys, (row + 1) * keys)]).toEqual([...data.subarray(row * keys, (row + 1) * keys)]);
          });
        },
      ),
      { numRuns: 80 },
    );
    expect(applied).toBeGreaterThan(50);
  });

  it('leaves a selected row whose visual non-sinks have no attention unchanged, without NaN', async () => {
    const out = await runner.run({
      attention: createTensor('float32', [1, 1, 1, 4], [0.5, 0.3, 0, 0.2]),
      sink_mask: createTensor('bool', [1, 4], [1, 1, 0, 0]),
      image_mask: createTensor('bool', [1, 4], [0, 1, 1, 0]),
      selected: createTensor('bool', [1, 1, 1], [1]),
      p: createTensor('float32', [1], [0.6]),
    });
    expect([...(out.attention_out!.data as Float32Array)]).toEqual([0.5, 0.3, 0, 0.2].map(Math.fround));
    expect(out.moved!.data[0]).toBe(0);
  });
});
