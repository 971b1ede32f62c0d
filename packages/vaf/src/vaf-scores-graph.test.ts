import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { createTensor, seededUniform } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError } from '@vasink/test-utils';
import { emitVafScores, emitVafShared } from './vaf-scores-graph.js';
import { vafKeyRoles, vafScores } from './vaf-scores.js';

describe('emitVafScores (VAF edit in ONNX)', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const scores = g.input('scores', 'float32', ['batch', 'heads', 'query', 'key']);
    const imageMask = g.input('image_mask', 'uint8', ['batch', 'key']);
    const attentionMask = g.input('attention_mask', 'int64', ['batch', 'key']);
    const scales = g.input('scales', 'float32', ['batch', 2]);
    const shared = emitVafShared(g, { imageMask, attentionMask, newTokens: g.shape(scores, { start: 2, end: 3 }) });
    g.output(emitVafScores(g, shared, { scores, scales }), { name: 'out' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  const run = (scores: ReturnType<typeof createTensor<'float32'>>, imageMask: Uint8Array, attentionMask: Uint8Array, scales: Float32Array) => {
    const [batch, , , keys] = scores.dims as [number, number, number, number];
    return runner.run({
      scores,
      image_mask: createTensor('uint8', [batch, keys], imageMask),
      attention_mask: createTensor('int64', [batch, keys], Array.from(attentionMask)),
      scales: createTensor('float32', [batch, 2], scales),
    });
  };

  it('equals the reference on random scores, left padding, image spans (or none) and scales per row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ batch: fc.integer({ min: 1, max: 3 }), heads: fc.integer({ min: 1, max: 3 }), queries: fc.integer({ min: 1, max: 6 }), past: fc.integer({ min: 0, max: 10 }), seed: fc.integer({ min: 1, max: 1e6 }) }),
        async ({ batch, heads, queries, past, seed }) => {
          const random = seededUniform(seed);
          const keys = past + queries;
          const scores = createTensor('float32', [batch, heads, queries, keys], Float32Array.from({ length: batch * heads * queries * keys }, () => (random() - 0.5) * 20));
          const imageMask = new Uint8Array(batch * keys);
          const attentionMask = new Uint8Array(batch * keys);
          for (let b = 0; b < batch; b++) {
            const pad = Math.floor(random() * Math.min(3, keys));
            attentionMask.fill(1, b * keys + pad, (b + 1) * keys);
            if (random() < 0.8) {
              const start = pad + Math.floor(random() * (keys - pad));
              const length = 1 + Math.floor(random() * (keys - start));
              imageMask.fill(1, b * keys + start, b * keys + start + length);
            }
          }
          const scales = Float32Array.from({ length: batch * 2 }, (_, i) => (random() < 0.3 ? 0 : i % 2 === 0 ? random() : -random()));
          const out = await run(scores, imageMask, attentionMask, scales);
          const expected = vafScores({ scores, imageMask, attentionMask, scales });
          expect(maxRelativeError(out.out!.data as Float32Array, expected.data)).toBeLessThanOrEqual(1e-5);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('scales image keys by 1 + β and system keys by 1 − α for queries after the image; nothing else moves', async () => {
    // One row: [pad, BOS, sys, img, img, text, text], 2 new queries (the two text tokens).
    const imageMask = Uint8Array.of(0, 0, 0, 1, 1, 0, 0);
    const attentionMask = Uint8Array.of(0, 1, 1, 1, 1, 1, 1);
    expect([...vafKeyRoles(imageMask, attentionMask, 1).system]).toEqual([0, 1, 1, 0, 0, 0, 0]);
    const scores = createTensor('float32', [1, 1, 2, 7], Float32Array.from({ length: 14 }, (_, i) => i - 6.5));
    const out = (await run(scores, imageMask, attentionMask, Float32Array.of(0.15, -0.05))).out!.data as Float32Array;
    for (let i = 0; i < 14; i++) {
      const t = i % 7;
      const factor = imageMask[t] ? Math.fround(1.15) : t === 1 || t === 2 ? Math.fround(0.95) : 1;
      expect(out[i], `key ${t}`).toBe(Math.fround((scores.data[i] as number) * factor));
    }
    const off = (await run(scores, imageMask, attentionMask, Float32Array.of(0, 0))).out!.data as Float32Array;
    expect([...off]).toEqual([...scores.data]);
  });
});
