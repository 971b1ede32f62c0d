import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError, seededRandom } from '@vasink/test-utils';
import { sinkFlags, sinkScore } from './sink-score.js';
import { emitSinkFlags, emitSinkScore } from './sink-score-graph.js';

describe('emitSinkScore / emitSinkFlags', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const hidden = g.input('hidden', 'float32', ['batch', 'tokens', 'dim']);
    const sinkDims = g.input('sink_dims', 'int64', ['n']);
    const tau = g.input('tau', 'float32', ['batch', 1]);
    const candidates = g.input('candidates', 'bool', ['batch', 'tokens']);
    const score = emitSinkScore(g, { hidden, sinkDims });
    g.output(score, { name: 'score' });
    g.output(g.cast(emitSinkFlags(g, { score, tau, candidates }), 'uint8'), { name: 'flags' });
    // The decoder's form: flattened tokens, the RMSNorm's mean square passed in, the axis kept.
    const flat = g.reshape(hidden, g.concat([g.ints([-1]), g.shape(hidden, { start: 2 })], 0));
    const meanSquare = g.reduceMean(g.mul(flat, flat), [-1], true);
    g.output(g.reshape(emitSinkScore(g, { hidden: flat, sinkDims, meanSquare, keepDims: true }), g.shape(candidates)), { name: 'score_shared' });
    g.output(emitSinkScore(g, { hidden, sinkDims, keepDims: true }), { name: 'score_kept' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  it('equals the reference on random hidden states with planted sinks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batch: fc.integer({ min: 1, max: 3 }),
          tokens: fc.integer({ min: 1, max: 12 }),
          dim: fc.constantFrom(16, 64, 100),
          tau: fc.array(fc.double({ min: 2, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 }),
        }),
        async ({ seed, batch, tokens, dim, tau }) => {
          const random = seededRandom(seed);
          const sinkDimList = [3, dim - 1];
          const data = new Float32Array(batch * tokens * dim).map(() => (random() * 2 - 1) * (0.1 + random() * 10));
          const candidates = new Uint8Array(batch * tokens).map(() => (random() < 0.8 ? 1 : 0));
          // Plant: φ far above any τ here (≥ 3.9 for dim 16), unplanted uniform tokens stay ≤ sqrt(3).
          for (let t = 0; t < batch * tokens; t++) if (random() < 0.3) data[t * dim + (sinkDimList[t % 2] as number)] = 1000;
          const hidden = createTensor('float32', [batch, tokens, dim], data);
          const rowTau = tau.slice(0, batch);
          const out = await runner.run({
            hidden,
            sink_dims: createTensor('int64', [2], sinkDimList),
            tau: createTensor('float32', [batch, 1], rowTau),
            candidates: createTensor('bool', [batch, tokens], candidates),
          });
          const score = sinkScore(hidden, sinkDimList);
          expect(maxRelativeError(out.score!.data as Float32Array, score.data)).toBeLessThanOrEqual(1e-5);
          expect(out.score_shared!.dims).toEqual([batch, tokens]);
          expect([...(out.score_shared!.data as Float32Array)]).toEqual([...(out.score!.data as Float32Array)]);
          expect(out.score_kept!.dims).toEqual([batch, tokens, 1]);
          expect([...(out.score_kept!.data as Float32Array)]).toEqual([...(out.score!.data as Float32Array)]);
          const flags = sinkFlags({ score, tau: rowTau.map(Math.fround), candidates: createTensor('uint8', [batch, tokens], candidates) });
          expect([...(out.flags!.data as Uint8Array)]).toEqual([...flags.data]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps the strict > in float32 at the exact threshold', async () => {
    const feeds = (tau: number) => ({
      hidden: createTensor('float32', [1, 1, 4], [4, 0, 0, 0]),
      sink_dims: createTensor('int64', [1], [0]),
      tau: createTensor('float32', [1, 1], [tau]),
      candidates: createTensor('bool', [1, 1], [1]),
    });
    const phi = (await runner.run(feeds(0))).score!.data[0] as number;
    expect(phi).toBeCloseTo(2, 5);
    expect((await runner.run(feeds(phi))).flags!.data[0]).toBe(0);
    const below = new Float32Array([phi]);
    new Uint32Array(below.buffer)[0]! -= 1; // the next float32 below φ
    expect((await runner.run(feeds(below[0]!))).flags!.data[0]).toBe(1);
  });
});
