import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { createTensor, seededUniform } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError } from '@vasink/test-utils';
import { emitPaiScores, emitPaiShared } from './pai-scores-graph.js';
import { paiScores } from './pai-scores.js';

describe('emitPaiScores (PAI edit in ONNX)', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const scores = g.input('scores', 'float32', ['batch', 'heads', 'query', 'key']);
    const imageMask = g.input('image_mask', 'uint8', ['batch', 'key']);
    const alpha = g.input('alpha', 'float32', ['batch']);
    const shared = emitPaiShared(g, { imageMask, newTokens: g.shape(scores, { start: 2, end: 3 }) });
    g.output(emitPaiScores(g, shared, { scores, alpha }), { name: 'out' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  it('equals the reference on random scores, masks and α per row (prefill and decode shapes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ batch: fc.integer({ min: 1, max: 3 }), heads: fc.integer({ min: 1, max: 4 }), queries: fc.integer({ min: 1, max: 6 }), past: fc.integer({ min: 0, max: 9 }), seed: fc.integer({ min: 1, max: 1e6 }) }),
        async ({ batch, heads, queries, past, seed }) => {
          const random = seededUniform(seed);
          const keys = past + queries;
          const scores = createTensor('float32', [batch, heads, queries, keys], Float32Array.from({ length: batch * heads * queries * keys }, () => (random() - 0.5) * 20));
          const imageMask = Uint8Array.from({ length: batch * keys }, () => (random() < 0.4 ? 1 : 0));
          const alpha = Float32Array.from({ length: batch }, () => (random() < 0.3 ? 0 : random()));
          const out = await runner.run({ scores, image_mask: createTensor('uint8', [batch, keys], imageMask), alpha: createTensor('float32', [batch], alpha) });
          const expected = paiScores({ scores, imageMask, alpha });
          expect(maxRelativeError(out.out!.data as Float32Array, expected.data)).toBeLessThanOrEqual(1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('α = 0 keeps every score bit for bit; α > 0 edits only the last query on image keys', async () => {
    const scores = createTensor('float32', [1, 2, 3, 5], Float32Array.from({ length: 30 }, (_, i) => (i % 7) - 3.5));
    const imageMask = Uint8Array.of(0, 1, 1, 0, 0);
    const off = await runner.run({ scores, image_mask: createTensor('uint8', [1, 5], imageMask), alpha: createTensor('float32', [1], [0]) });
    expect([...(off.out!.data as Float32Array)]).toEqual([...scores.data]);
    const on = (await runner.run({ scores, image_mask: createTensor('uint8', [1, 5], imageMask), alpha: createTensor('float32', [1], [0.5]) })).out!.data as Float32Array;
    for (let i = 0; i < 30; i++) {
      const [h, q, t] = [Math.floor(i / 15), Math.floor(i / 5) % 3, i % 5];
      const s = scores.data[i] as number;
      expect(on[i], `head ${h} query ${q} key ${t}`).toBe(q === 2 && imageMask[t] ? s + 0.5 * Math.abs(s) : s);
    }
  });
});
