import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelRunner, createModelRunner, normRelativeError } from '@vasink/test-utils';
import { WeightStore, buildDecoderGraph, memoryWeightSource } from '@vasink/transformer-graph';
import { attentionProbe, probeImageMass, runDecoderSideBySide, tinyConfig, tinyPrompt, tinyWeights } from '@vasink/transformer-graph/testing';
import { paiIntervention } from './pai-intervention.js';
import { paiSettings } from './pai-settings.js';

describe('PAI in the decoder graph vs the TypeScript reference', () => {
  const config = tinyConfig();
  const weights = tinyWeights(config);
  const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
  const interventions = [paiIntervention, attentionProbe] as const;
  const pai = paiSettings(config, { alpha: 0.5 });
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

  it('matches the reference at prefill and 3 decode steps, batch 2 with left padding, PAI on in one row', async () => {
    const records = await side([{ pai }, {}], 3);
    for (const [i, r] of records.entries()) {
      expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
      for (let l = 0; l < config.numLayers; l++) expect(normRelativeError(r.onnx[probeImageMass(l)]!.data as Float32Array, r.ref[probeImageMass(l)]!.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('PAI off is the baseline bit for bit', async () => {
    const off = await side([{}, {}], 3);
    const base = await runDecoderSideBySide({ run: baseline.run, config, weights, prompt, interventions: [], steps: 3 });
    off.forEach((r, i) => expect([...r.onnxLogits]).toEqual([...base[i]!.onnxLogits]));
  });

  it('raises the last query\'s image attention in its layers [2, L) only, at prefill and decode', async () => {
    const on = await side([{ pai }, { pai }], 2);
    const off = await side([{}, {}], 0);
    const mass = (outputs: Record<string, { data: unknown }>, l: number) => Array.from(outputs[probeImageMass(l)]!.data as Float32Array);
    // Prefill: layers before 2 see the same inputs, so the same attention; from layer 2 on every head of every row looks more at the image.
    for (const l of [0, 1]) expect(mass(on[0]!.onnx, l)).toEqual(mass(off[0]!.onnx, l));
    for (const l of [2, 3]) mass(on[0]!.onnx, l).forEach((m, i) => expect(m, `layer ${l} row·head ${i}`).toBeGreaterThan(mass(off[0]!.onnx, l)[i]!));
    // Decode steps: the new token's image mass is positive and the logits move.
    for (const r of on.slice(1)) expect(mass(r.onnx, 3).every((m) => m > 0)).toBe(true);
    expect(normRelativeError(on[0]!.onnxLogits, off[0]!.onnxLogits)).toBeGreaterThan(1e-3);
  });
});
