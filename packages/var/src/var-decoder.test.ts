import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TypedTensor, createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, normRelativeError } from '@vasink/test-utils';
import { DECODER_IO, WeightStore, buildDecoderGraph, dequantizeBlockwise, memoryWeightSource, quantizeBlockwise } from '@vasink/transformer-graph';
import { SINK_DIM, type TinyPrompt, runDecoderSideBySide, tinyConfig, tinyPrompt, tinyWeights } from '@vasink/transformer-graph/testing';
import { VAR_PRESETS, type VarConfig } from './var-config.js';
import { VAR_IO, varIntervention } from './var-intervention.js';


const sinkModel = { sinkDims: [SINK_DIM, 40] };
/** Per row: VAR settings, or undefined for VAR off. */
const rowsOf = (configs: readonly (VarConfig | undefined)[]) => configs.map((c) => (c ? { var: c } : {}));
const selectedOf = (outputs: Record<string, TypedTensor>, layers: number) =>
  Array.from({ length: layers }, (_, l) => outputs[VAR_IO.diagnosticSelected(l)]!.data as Uint8Array);
describe('VAR in the decoder graph vs the TypeScript reference', () => {
  const config = tinyConfig();
  const weights = tinyWeights(config);
  const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
  const tau = 5; // D = 64 caps φ at 8: the paper's τ = 20 needs D > 400.
  let varRunner: ModelRunner;
  let baselineRunner: ModelRunner;
  const side = (runner: ModelRunner, configs: readonly (VarConfig | undefined)[], steps: number, p: TinyPrompt = prompt) =>
    runDecoderSideBySide({ run: runner.run, config, weights, prompt: p, interventions: [varIntervention], rows: rowsOf(configs), model: sinkModel, steps });

  beforeAll(async () => {
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    varRunner = await createModelRunner(await buildDecoderGraph({ config, weights: store(), interventions: [varIntervention], diagnostics: true }));
    baselineRunner = await createModelRunner(await buildDecoderGraph({ config, weights: store() }));
  });
  afterAll(async () => {
    await varRunner.release();
    await baselineRunner.release();
  });

  for (const preset of Object.keys(VAR_PRESETS) as (keyof typeof VAR_PRESETS)[]) {
    it(`matches with VAR on (${preset}) at prefill and 3 decode steps, batch 2 with left padding`, async () => {
      const c = { ...VAR_PRESETS[preset], tau };
      const records = await side(varRunner, [c, c], 3);
      let selected = 0;
      for (const [i, r] of records.entries()) {
        expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
        expect([...r.onnx[VAR_IO.presentSinkFlags]!.data]).toEqual([...r.ref[VAR_IO.presentSinkFlags]!.data]);
        const refSelected = selectedOf(r.ref, config.numLayers);
        selectedOf(r.onnx, config.numLayers).forEach((s, l) => expect([...s], `step ${i} layer ${l}`).toEqual([...refSelected[l]!]));
        selected += refSelected.reduce((a, s) => a + s.reduce((x, y) => x + y, 0), 0);
      }
      // The planted sinks are found in every layer from 2 on (both rows' BOS and image sinks).
      expect((records[0]!.ref[VAR_IO.presentSinkFlags]!.data as Uint8Array).reduce((a, b) => a + b, 0)).toBeGreaterThan(4);
      if (preset === 'hallucination' || preset === 'official-code') expect(selected).toBeGreaterThan(0);
    });
  }

  it('diagnostics expose each row\'s first-token layer input (layer 0: the embedding itself)', async () => {
    const [record] = await side(varRunner, [undefined, undefined], 0);
    const d = config.hiddenSize;
    const first = record!.onnx[DECODER_IO.diagnosticFirstHidden(0)]!.data as Float32Array;
    expect([...first.subarray(0, d)]).toEqual([...prompt.embeds.data.subarray(0, d)]);
    expect([...first.subarray(d)]).toEqual([...prompt.embeds.data.subarray(prompt.tokens * d, prompt.tokens * d + d)]);
    expect(record!.onnx[DECODER_IO.diagnosticFirstHidden(config.numLayers - 1)]!.dims).toEqual([2, d]);
  });

  it('VAR moves attention: logits differ from VAR off where rows are selected', async () => {
    const on = await side(varRunner, [{ ...VAR_PRESETS.hallucination, tau }, undefined], 0);
    const off = await side(varRunner, [undefined, undefined], 0);
    const v = config.vocabSize;
    expect(normRelativeError(on[0]!.onnxLogits.subarray(0, v), off[0]!.onnxLogits.subarray(0, v))).toBeGreaterThan(1e-3);
    expect(normRelativeError(on[0]!.onnxLogits.subarray(v), off[0]!.onnxLogits.subarray(v))).toBe(0);
  });

  it('a row with VAR off equals the graph without VAR: same greedy tokens, logits within 1e-5', async () => {
    const off = await side(varRunner, [undefined, undefined], 4);
    const base = await runDecoderSideBySide({ run: baselineRunner.run, config, weights, prompt, interventions: [], steps: 4 });
    off.forEach((r, i) => {
      expect(r.chosen).toEqual(base[i]!.chosen);
      expect(normRelativeError(r.onnxLogits, base[i]!.onnxLogits)).toBeLessThanOrEqual(1e-5);
      expect(normRelativeError(base[i]!.onnxLogits, base[i]!.refLogits)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('in a batch mixing VAR on and off, each row equals its single-row run', async () => {
    const c = { ...VAR_PRESETS.hallucination, tau };
    const mixed = await side(varRunner, [c, undefined], 2);
    const d = config.hiddenSize;
    const v = config.vocabSize;
    for (const [b, rowConfig] of [c, undefined].entries()) {
      const pad = [2, 0][b]!;
      const tokens = prompt.tokens - pad;
      const single: TinyPrompt = {
        batch: 1,
        tokens,
        embeds: createTensor('float32', [1, tokens, d], prompt.embeds.data.slice((b * prompt.tokens + pad) * d, (b + 1) * prompt.tokens * d)),
        attentionMask: prompt.attentionMask.slice(b * prompt.tokens + pad, (b + 1) * prompt.tokens),
        imageMask: prompt.imageMask.slice(b * prompt.tokens + pad, (b + 1) * prompt.tokens),
        positionIds: prompt.positionIds.slice(b * prompt.tokens + pad, (b + 1) * prompt.tokens),
      };
      const alone = await side(varRunner, [rowConfig], 2, single);
      alone.forEach((r, i) => {
        expect(r.chosen[0]).toBe(mixed[i]!.chosen[b]);
        expect(normRelativeError(r.onnxLogits, mixed[i]!.onnxLogits.subarray(b * v, (b + 1) * v))).toBeLessThanOrEqual(1e-5);
      });
    }
  });
});

describe('VAR in decoder variants', () => {
  it('Qwen2-style: q/k/v bias, M-RoPE, tied embeddings, MHA', async () => {
    const config = tinyConfig({
      attentionBias: true,
      tieWordEmbeddings: true,
      numKvHeads: 4,
      rope: { type: 'mrope', theta: 1e6, section: [2, 3, 3] },
    });
    const weights = tinyWeights(config, 3);
    const prompt = tinyPrompt({ config, padding: [0, 3], tokens: 14, imageStart: [2, 1], imageLength: 6, mrope: true });
    const runner = await createModelRunner(
      await buildDecoderGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' }), interventions: [varIntervention] }),
    );
    try {
      const c = { ...VAR_PRESETS['official-code'], tau: 5 };
      const records = await runDecoderSideBySide({ run: runner.run, config, weights, prompt, interventions: [varIntervention], rows: rowsOf([c, c]), model: sinkModel, steps: 2, mrope: true });
      for (const r of records) expect(normRelativeError(r.onnxLogits, r.refLogits)).toBeLessThanOrEqual(1e-4);
    } finally {
      await runner.release();
    }
  });

  for (const bits of [4, 8] as const) {
    it(`int${bits}, accuracy level 0: VAR on equals the reference run on the dequantized weights, prefill + 3 decode steps`, async () => {
      const config = tinyConfig();
      const weights = tinyWeights(config, 5);
      const scheme = { bits, blockSize: 32 } as const;
      const store = new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32', quant: { ...scheme, accuracyLevel: 0 } });
      const runner = await createModelRunner(await buildDecoderGraph({ config, weights: store, interventions: [varIntervention], diagnostics: true }));
      try {
        const dequantized = new Map(weights);
        for (const name of store.quantizedNames) {
          const w = weights.get(name)!;
          dequantized.set(name, createTensor('float32', w.dims, dequantizeBlockwise(quantizeBlockwise(w.data as Float32Array, w.dims as [number, number], scheme))));
        }
        const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
        const c = { ...VAR_PRESETS.hallucination, tau: 5 };
        const records = await runDecoderSideBySide({ run: runner.run, config, weights: dequantized, prompt, interventions: [varIntervention], rows: rowsOf([c, c]), model: sinkModel, steps: 3 });
        for (const [i, r] of records.entries()) {
          expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
          expect([...r.onnx[VAR_IO.presentSinkFlags]!.data]).toEqual([...r.ref[VAR_IO.presentSinkFlags]!.data]);
          const refSelected = selectedOf(r.ref, config.numLayers);
          selectedOf(r.onnx, config.numLayers).forEach((sel, l) => expect([...sel], `step ${i} layer ${l}`).toEqual([...refSelected[l]!]));
        }
      } finally {
        await runner.release();
      }
    });
  }
});
