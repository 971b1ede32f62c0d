import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder } from '@vasink/onnx-graph';
import { type Float32Tensor, createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, maxRelativeError } from '@vasink/test-utils';
import { imageCentricRows } from '@vasink/head-select';
import { varLayerStep } from './var-layer-step.js';
import { emitVarLayer, emitVarShared } from './var-layer-step-graph.js';
import { SINK_DIMS, type Scenario, makeScenario, paramsTensor } from '../test/scenario.js';

const LAYERS = 4;
const LAYER = 2;

function feeds(s: Scenario, params: Float32Tensor, layers: Uint8Array) {
  return {
    hidden: s.hidden,
    attention: s.attention,
    past_sink_flags: s.pastSinkFlags,
    var_detect: createTensor('bool', [], [s.detect ? 1 : 0]),
    var_image_mask: s.imageMask,
    var_query_mask: s.queryMask,
    var_params: params,
    var_layers: createTensor('uint8', [s.batch, LAYERS], layers),
    var_sink_dims: createTensor('int64', [SINK_DIMS.length], SINK_DIMS),
    attention_mask: createTensor('int64', [s.batch, s.keys], Array.from(s.attentionMask.data)),
  };
}

describe('emitVarLayer (composed VAR step in ONNX)', () => {
  let runner: ModelRunner;
  beforeAll(async () => {
    const g = new GraphBuilder();
    const hidden = g.input('hidden', 'float32', ['batch', 'query', 'dim']);
    const attention = g.input('attention', 'float32', ['batch', 'heads', 'query', 'key']);
    const pastSinkFlags = g.input('past_sink_flags', 'uint8', ['batch', 'past']);
    const shared = emitVarShared(g, {
      detect: g.input('var_detect', 'bool', []),
      imageMask: g.input('var_image_mask', 'uint8', ['batch', 'key']),
      queryMask: g.input('var_query_mask', 'uint8', ['batch', 'query']),
      params: g.input('var_params', 'float32', ['batch', 4]),
      layers: g.input('var_layers', 'uint8', ['batch', LAYERS]),
      sinkDims: g.input('var_sink_dims', 'int64', ['n']),
      attentionMask: g.input('attention_mask', 'int64', ['batch', 'key']),
    });
    const out = emitVarLayer(g, shared, { layer: LAYER, hidden, attention, pastSinkFlags });
    g.output(out.attention, { name: 'attention_out' });
    g.output(out.sinkFlags, { name: 'present_sink_flags' });
    g.output(out.score, { name: 'score' });
    const views = out.diagnostics();
    g.output(g.cast(views.selected, 'uint8'), { name: 'selected' });
    g.output(views.moved, { name: 'moved' });
    runner = await createModelRunner(g.build());
  });
  afterAll(() => runner.release());

  it('equals the reference at prefill and decode, with VAR on and off per row', async () => {
    let moved = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batch: fc.integer({ min: 1, max: 3 }),
          heads: fc.integer({ min: 1, max: 4 }),
          keys: fc.integer({ min: 8, max: 20 }),
          phase: fc.constantFrom('prefill' as const, 'decode' as const),
        }),
        fc.array(
          fc.tuple(
            fc.double({ min: 3, max: 7, noNaN: true }),
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.double({ min: 0, max: 1, noNaN: true }),
            fc.double({ min: 0, max: 0.6, noNaN: true }),
            fc.boolean(),
          ),
          { minLength: 3, maxLength: 3 },
        ),
        async (shape, rows) => {
          const s = makeScenario(shape);
          const rowSettings = rows.slice(0, s.batch);
          const params = paramsTensor(rowSettings.map(([tau, rho, p, m]) => [tau, rho, p, m].map(Math.fround) as [number, number, number, number]));
          const layers = new Uint8Array(s.batch * LAYERS);
          rowSettings.forEach(([, , , , on], b) => on && layers.fill(1, b * LAYERS + 2, b * LAYERS + LAYERS - 1));
          const layerActive = rowSettings.map(([, , , , on]) => (on ? 1 : 0));
          const expected = varLayerStep({ ...s, params, layerActive, sinkDims: SINK_DIMS });
          // Keep head-selection decisions away from their thresholds (see the head-select parity test).
          const column = (c: number) => Array.from({ length: s.batch }, (_, b) => params.data[b * 4 + c]!);
          const stats = imageCentricRows({
            attention: s.attention,
            sinkFlags: expected.sinkFlags,
            imageMask: s.imageMask,
            queryMask: s.queryMask,
            rho: column(1),
            minImageAttention: column(3),
          });
          stats.nonSinkRatio.data.forEach((r, row) => {
            const b = Math.floor(row / (s.heads * s.queries));
            fc.pre(Math.abs(r - column(1)[b]!) > 1e-4 && Math.abs(stats.imageAttention.data[row]! - column(3)[b]!) > 1e-4);
          });
          const out = await runner.run(feeds(s, params, layers));
          expect([...(out.present_sink_flags!.data as Uint8Array)]).toEqual([...expected.sinkFlags.data]);
          expect([...(out.selected!.data as Uint8Array)]).toEqual([...expected.selected.data]);
          expect(maxRelativeError(out.score!.data as Float32Array, expected.score.data)).toBeLessThanOrEqual(1e-5);
          expect(maxRelativeError(out.attention_out!.data as Float32Array, expected.attention.data)).toBeLessThanOrEqual(1e-5);
          expect(maxRelativeError(out.moved!.data as Float32Array, expected.moved.data)).toBeLessThanOrEqual(1e-5);
          // Rows with VAR off are bit-identical to the input attention.
          const perRow = s.heads * s.queries * s.keys;
          layerActive.forEach((on, b) => {
            if (!on) expect([...(out.attention_out!.data as Float32Array).subarray(b * perRow, (b + 1) * perRow)]).toEqual([
              ...s.attention.data.subarray(b * perRow, (b + 1) * perRow),
            ]);
          });
          moved += expected.moved.data.filter((v) => v > 0).length;
        },
      ),
      { numRuns: 120 },
    );
    // The scenarios must redistribute some rows, or the equality above says little.
    expect(moved).toBeGreaterThan(20);
  });

  it('leaves a row without image tokens untouched (r is 0/0 there: no NaN, nothing selected)', async () => {
    for (const phase of ['prefill', 'decode'] as const) {
      const s = makeScenario({ seed: 7, batch: 2, heads: 3, keys: 14, phase });
      const perKeyRow = s.keys;
      s.imageMask.data.fill(0, 0, perKeyRow); // row 0: no image
      s.queryMask.data.fill(1, 0, s.queries); // …and every query eligible
      const params = paramsTensor([
        [3, 0, 0.6, 0],
        [3, 0, 0.6, 0],
      ]);
      const layers = new Uint8Array(2 * LAYERS).fill(1);
      const out = await runner.run(feeds(s, params, layers));
      const expected = varLayerStep({ ...s, params, layerActive: [1, 1], sinkDims: SINK_DIMS });
      const attention = out.attention_out!.data as Float32Array;
      expect(attention.every(Number.isFinite)).toBe(true);
      const perRow = s.heads * s.queries * s.keys;
      expect([...attention.subarray(0, perRow)]).toEqual([...s.attention.data.subarray(0, perRow)]);
      expect([...(out.selected!.data as Uint8Array).subarray(0, s.heads * s.queries)].every((v) => v === 0)).toBe(true);
      expect(maxRelativeError(attention, expected.attention.data)).toBeLessThanOrEqual(1e-5);
    }
  });
});
