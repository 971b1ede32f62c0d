import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelRunner, createModelRunner, normRelativeError } from '@vasink/test-utils';
import { WeightStore, buildDecoderGraph, memoryWeightSource } from '@vasink/transformer-graph';
import { attentionProbe, probeImageMass, runDecoderSideBySide, tinyConfig, tinyPrompt, tinyWeights } from '@vasink/transformer-graph/testing';
import { vafIntervention } from './vaf-intervention.js';
import { vafLayers, vafSettings } from './vaf-settings.js';

describe('VAF in the decoder graph vs the TypeScript reference', () => {
  const config = tinyConfig({ numLayers: 6 });
  const weights = tinyWeights(config);
  const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
  const interventions = [vafIntervention, attentionProbe] as const;
  // Stronger than the released 1.15 / 0.95 so the tiny model's attention moves visibly.
  const vaf = vafSettings(config, { enhance: 1, suppress: 0.5 });
  let graph: ModelRunner;
  let baseline: ModelRunner;
  const side = (rows: Parameters<typeof runDecoderSideBySide>[0]['rows'], steps: number) =>
    runDecoderSideBySide({ run: graph.run, config, weights, prompt, interventions, rows, steps });

  beforeAll(async () => {
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    graph = await createModelRunner(await buildDecoderGraph({ config, weights: store(), interventions }));
    baseline = await createModelRunner(await buildDecoderGraph({ config, weights: store() }));
  });
  afterAll(async () => {
    await graph.release();
    await baseline.release();
  });

  it('acts on the released layers [9, 15) of 32 at the same relative depth', () => {
    expect(vafLayers(32)).toEqual({ start: 9, end: 15 });
    expect(vafLayers(40)).toEqual({ start: 11, end: 19 });
    expect(vafLayers(28)).toEqual({ start: 8, end: 13 });
    expect(vafLayers(6)).toEqual({ start: 2, end: 3 });
    expect(vafLayers(1)).toEqual({ start: 0, end: 1 });
  });

  it('matches the reference at prefill and 3 decode steps, batch 2 with left padding, VAF on in one row', async () => {
    const records = await side([{ vaf }, {}], 3);
    for (const [i, r] of records.entries()) {
      expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
      for (let l = 0; l < config.numLayers; l++) expect(normRelativeError(r.onnx[probeImageMass(l)]!.data as Float32Array, r.ref[probeImageMass(l)]!.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('VAF off is the baseline bit for bit', async () => {
    const off = await side([{}, {}], 3);
    const base = await runDecoderSideBySide({ run: baseline.run, config, weights, prompt, interventions: [], steps: 3 });
    off.forEach((r, i) => expect([...r.onnxLogits]).toEqual([...base[i]!.onnxLogits]));
  });

  it('raises the last query\'s image attention in its layer, leaves the layers before it alone', async () => {
    const on = await side([{ vaf }, { vaf }], 2);
    const off = await side([{}, {}], 2);
    const total = (outputs: Record<string, { data: unknown }>, l: number) => (outputs[probeImageMass(l)]!.data as Float32Array).reduce((a, b) => a + b, 0);
    const { start } = vaf.layers;
    for (const [i, r] of on.entries()) {
      for (let l = 0; l < start; l++) expect(total(r.onnx, l), `step ${i} layer ${l}`).toBe(total(off[i]!.onnx, l));
      expect(total(r.onnx, start), `step ${i} layer ${start}`).toBeGreaterThan(total(off[i]!.onnx, start));
    }
  });
});
