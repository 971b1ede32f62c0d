import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Float32Tensor, type TypedTensor, type Uint8Tensor, concatTensors, createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, normRelativeError } from '@vasink/test-utils';
import { VAR_PRESETS, type VarConfig, eligibleQueries, varLayerMask, varParamsRow } from '@vasink/var';
import type { DecoderConfig } from './decoder-config.js';
import { DECODER_IO, buildDecoderGraph } from './decoder-graph.js';
import { referenceDecoderStep } from './reference-decoder.js';
import { dequantizeBlockwise, quantizeBlockwise } from './quantize.js';
import { WeightStore } from './weight-store.js';
import { memoryWeightSource } from './weights.js';
import { SINK_DIM, type TinyPrompt, tinyConfig, tinyPrompt, tinyWeights } from '../test/tiny-decoder.js';


interface RowVar {
  config: VarConfig | undefined;
}

interface StepRecord {
  onnxLogits: Float32Array;
  refLogits: Float32Array;
  onnxFlags?: Uint8Array;
  refFlags?: Uint8Array;
  onnxSelected: Uint8Array[];
  refSelected: Uint8Array[];
  chosen: number[];
}

/** Run prefill + `steps` greedy decode steps through the ONNX graph and the reference, side by side. */
async function runBoth(options: {
  runner: ModelRunner;
  config: DecoderConfig;
  weights: Map<string, TypedTensor>;
  prompt: TinyPrompt;
  rows: RowVar[] | undefined;
  steps: number;
  mrope?: boolean;
  diagnostics?: boolean;
  /** Merge the recent cache block into the bulk once it holds this many tokens (default 2: both paths run). */
  mergeAt?: number;
  /** The fused graph: one cache block, full present out. */
  fused?: boolean;
}): Promise<StepRecord[]> {
  const { runner, config, weights, prompt, rows, steps } = options;
  const { batch } = prompt;
  const L = config.numLayers;
  const kv = config.numKvHeads;
  const hd = config.headDim;
  let total = prompt.tokens;
  let embeds = prompt.embeds;
  let attentionMask = Array.from(prompt.attentionMask);
  let imageMask = Array.from(prompt.imageMask);
  let positionIds = prompt.positionIds;
  const emptyBlock = () => ({ key: createTensor('float32', [batch, kv, 0, hd]), value: createTensor('float32', [batch, kv, 0, hd]) });
  // The graph's two-block cache, as the runtime keeps it: the bulk, and the recent block merged into it every `mergeAt` tokens.
  let onnxPast: { key: TypedTensor; value: TypedTensor }[] = Array.from({ length: L }, emptyBlock);
  let onnxRecent: { key: TypedTensor; value: TypedTensor }[] = Array.from({ length: L }, emptyBlock);
  const mergeAt = options.mergeAt ?? 2;
  let refPast = Array.from({ length: L }, emptyBlock) as { key: Float32Tensor; value: Float32Tensor }[];
  let onnxFlags: Uint8Tensor = createTensor('uint8', [L, batch, 0]);
  let refFlags: Uint8Tensor = onnxFlags;
  const params = createTensor('float32', [batch, 4], new Float32Array(batch * 4));
  const layers = createTensor('uint8', [batch, L]);
  rows?.forEach((row, b) => {
    const c = row.config ?? VAR_PRESETS.general;
    params.data.set(varParamsRow(c), b * 4);
    if (row.config) layers.data.set(varLayerMask(row.config, { numLayers: L }), b * L);
  });
  const records: StepRecord[] = [];
  for (let step = 0; step <= steps; step++) {
    const queries = embeds.dims[1] as number;
    const phase = step === 0 ? 'prefill' : 'decode';
    const maskTensor = createTensor('int64', [batch, total], attentionMask.map(BigInt));
    const imageTensor = createTensor('uint8', [batch, total], imageMask);
    const queryMask = eligibleQueries({
      imageMask: imageTensor,
      attentionMask: createTensor('uint8', [batch, total], attentionMask.map(Number)),
      newTokens: queries,
      phase,
    });
    const positions = createTensor('int64', options.mrope ? [3, batch, queries] : [batch, queries], positionIds);
    const feeds: Record<string, TypedTensor> = {
      [DECODER_IO.inputsEmbeds]: embeds,
      [DECODER_IO.attentionMask]: maskTensor,
      [DECODER_IO.positionIds]: positions,
    };
    onnxPast.forEach((p, l) => {
      feeds[DECODER_IO.pastKey(l)] = p.key;
      feeds[DECODER_IO.pastValue(l)] = p.value;
      if (options.fused) return;
      feeds[DECODER_IO.recentKey(l)] = onnxRecent[l]!.key;
      feeds[DECODER_IO.recentValue(l)] = onnxRecent[l]!.value;
    });
    const sinkDims = [SINK_DIM, 40];
    if (rows) {
      Object.assign(feeds, {
        [DECODER_IO.pastSinkFlags]: onnxFlags,
        [DECODER_IO.varDetect]: createTensor('bool', [], [phase === 'prefill' ? 1 : 0]),
        [DECODER_IO.varImageMask]: imageTensor,
        [DECODER_IO.varQueryMask]: queryMask,
        [DECODER_IO.varParams]: params,
        [DECODER_IO.varLayers]: layers,
        [DECODER_IO.varSinkDims]: createTensor('int64', [2], sinkDims),
      });
    }
    const out = await runner.run(feeds);
    const ref = referenceDecoderStep({
      config,
      weights,
      inputsEmbeds: embeds,
      attentionMask,
      positionIds: positions.data,
      past: refPast,
      ...(rows
        ? {
            pastSinkFlags: refFlags,
            var: { detect: phase === 'prefill', imageMask: imageTensor, queryMask, params, layers, sinkDims },
          }
        : {}),
    });
    const onnxLogits = out[DECODER_IO.logits]!.data as Float32Array;
    const chosen = Array.from({ length: batch }, (_, b) => {
      const row = onnxLogits.subarray(b * config.vocabSize, (b + 1) * config.vocabSize);
      return row.indexOf(Math.max(...row));
    });
    records.push({
      onnxLogits,
      refLogits: ref.logits.data,
      ...(rows ? { onnxFlags: out[DECODER_IO.presentSinkFlags]!.data as Uint8Array, refFlags: ref.presentSinkFlags!.data } : {}),
      onnxSelected: options.diagnostics ? Array.from({ length: L }, (_, l) => out[DECODER_IO.diagnosticSelected(l)]!.data as Uint8Array) : [],
      refSelected: ref.diagnostics?.map((x) => x.selected.data) ?? [],
      chosen,
    });
    // Next step: the chosen tokens' embeddings at the next positions.
    const table = weights.get('embed_tokens.weight')!.data as Float32Array;
    const d = config.hiddenSize;
    const next = new Float32Array(batch * d);
    chosen.forEach((id, b) => next.set(table.subarray(id * d, (id + 1) * d), b * d));
    embeds = createTensor('float32', [batch, 1, d], next);
    const lastPositions = Array.from({ length: batch }, (_, b) => positions.data[(b * queries + queries - 1)] as bigint);
    positionIds = new BigInt64Array(options.mrope ? [...lastPositions, ...lastPositions, ...lastPositions].map((p) => p + 1n) : lastPositions.map((p) => p + 1n));
    const grow = <T>(values: T[], extra: T) => Array.from({ length: batch }, (_, b) => [...values.slice(b * total, (b + 1) * total), extra]).flat();
    attentionMask = grow(attentionMask, 1n);
    imageMask = grow(imageMask, 0);
    total += 1;
    const present = Array.from({ length: L }, (_, l) => ({ key: out[DECODER_IO.presentKey(l)]!, value: out[DECODER_IO.presentValue(l)]! }));
    if (options.fused) onnxPast = present;
    else if ((present[0]!.key.dims[2] as number) >= mergeAt) {
      onnxPast = onnxPast.map((p, l) => ({ key: concatTensors([p.key, present[l]!.key], 2), value: concatTensors([p.value, present[l]!.value], 2) }));
      onnxRecent = Array.from({ length: L }, emptyBlock);
    } else onnxRecent = present;
    refPast = ref.present;
    if (rows) {
      onnxFlags = out[DECODER_IO.presentSinkFlags] as Uint8Tensor;
      refFlags = ref.presentSinkFlags!;
    }
  }
  return records;
}

describe('decoder graph vs TypeScript reference', () => {
  const config = tinyConfig();
  const weights = tinyWeights(config);
  const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
  const tau = 5; // D = 64 caps φ at 8: the paper's τ = 20 needs D > 400.
  let varRunner: ModelRunner;
  let baselineRunner: ModelRunner;

  beforeAll(async () => {
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    varRunner = await createModelRunner(await buildDecoderGraph({ config, weights: store(), diagnostics: true }));
    baselineRunner = await createModelRunner(await buildDecoderGraph({ config, weights: store(), attention: 'baseline' }));
  });
  afterAll(async () => {
    await varRunner.release();
    await baselineRunner.release();
  });

  for (const preset of Object.keys(VAR_PRESETS) as (keyof typeof VAR_PRESETS)[]) {
    it(`matches with VAR on (${preset}) at prefill and 3 decode steps, batch 2 with left padding`, async () => {
      const c = { ...VAR_PRESETS[preset], tau };
      const records = await runBoth({ runner: varRunner, config, weights, prompt, rows: [{ config: c }, { config: c }], steps: 3, diagnostics: true });
      let selected = 0;
      for (const [i, r] of records.entries()) {
        expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
        expect([...r.onnxFlags!]).toEqual([...r.refFlags!]);
        r.onnxSelected.forEach((s, l) => expect([...s], `step ${i} layer ${l}`).toEqual([...r.refSelected[l]!]));
        selected += r.refSelected.reduce((a, s) => a + s.reduce((x, y) => x + y, 0), 0);
      }
      // The planted sinks are found in every layer from 2 on (both rows' BOS and image sinks).
      expect(records[0]!.refFlags!.reduce((a, b) => a + b, 0)).toBeGreaterThan(4);
      if (preset === 'hallucination' || preset === 'official-code') expect(selected).toBeGreaterThan(0);
    });
  }

  it('diagnostics expose each row\'s first-token layer input (layer 0: the embedding itself)', async () => {
    const feeds: Record<string, TypedTensor> = {
      [DECODER_IO.inputsEmbeds]: prompt.embeds,
      [DECODER_IO.attentionMask]: createTensor('int64', [2, prompt.tokens], prompt.attentionMask),
      [DECODER_IO.positionIds]: createTensor('int64', [2, prompt.tokens], prompt.positionIds),
      [DECODER_IO.pastSinkFlags]: createTensor('uint8', [config.numLayers, 2, 0]),
      [DECODER_IO.varDetect]: createTensor('bool', [], [1]),
      [DECODER_IO.varImageMask]: createTensor('uint8', [2, prompt.tokens], prompt.imageMask),
      [DECODER_IO.varQueryMask]: createTensor('uint8', [2, prompt.tokens]),
      [DECODER_IO.varParams]: createTensor('float32', [2, 4], [tau, 0.5, 0.5, 0.2, tau, 0.5, 0.5, 0.2]),
      [DECODER_IO.varLayers]: createTensor('uint8', [2, config.numLayers]),
      [DECODER_IO.varSinkDims]: createTensor('int64', [1], [SINK_DIM]),
    };
    for (let l = 0; l < config.numLayers; l++) {
      for (const name of [DECODER_IO.pastKey(l), DECODER_IO.pastValue(l), DECODER_IO.recentKey(l), DECODER_IO.recentValue(l)]) {
        feeds[name] = createTensor('float32', [2, config.numKvHeads, 0, config.headDim]);
      }
    }
    const out = await varRunner.run(feeds);
    const d = config.hiddenSize;
    const first = out[DECODER_IO.diagnosticFirstHidden(0)]!.data as Float32Array;
    expect([...first.subarray(0, d)]).toEqual([...prompt.embeds.data.subarray(0, d)]);
    expect([...first.subarray(d)]).toEqual([...prompt.embeds.data.subarray(prompt.tokens * d, prompt.tokens * d + d)]);
    expect(out[DECODER_IO.diagnosticFirstHidden(config.numLayers - 1)]!.dims).toEqual([2, d]);
  });

  it('VAR moves attention: logits differ from VAR off where rows are selected', async () => {
    const on = await runBoth({ runner: varRunner, config, weights, prompt, rows: [{ config: { ...VAR_PRESETS.hallucination, tau } }, { config: undefined }], steps: 0 });
    const off = await runBoth({ runner: varRunner, config, weights, prompt, rows: [{ config: undefined }, { config: undefined }], steps: 0 });
    const v = config.vocabSize;
    expect(normRelativeError(on[0]!.onnxLogits.subarray(0, v), off[0]!.onnxLogits.subarray(0, v))).toBeGreaterThan(1e-3);
    expect(normRelativeError(on[0]!.onnxLogits.subarray(v), off[0]!.onnxLogits.subarray(v))).toBe(0);
  });

  it('a row with VAR off equals the baseline graph: same greedy tokens, logits within 1e-5', async () => {
    const off = await runBoth({ runner: varRunner, config, weights, prompt, rows: [{ config: undefined }, { config: undefined }], steps: 4 });
    const base = await runBoth({ runner: baselineRunner, config, weights, prompt, rows: undefined, steps: 4 });
    off.forEach((r, i) => {
      expect(r.chosen).toEqual(base[i]!.chosen);
      expect(normRelativeError(r.onnxLogits, base[i]!.onnxLogits)).toBeLessThanOrEqual(1e-5);
      expect(normRelativeError(base[i]!.onnxLogits, base[i]!.refLogits)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('in a batch mixing VAR on and off, each row equals its single-row run', async () => {
    const c = { ...VAR_PRESETS.hallucination, tau };
    const mixed = await runBoth({ runner: varRunner, config, weights, prompt, rows: [{ config: c }, { config: undefined }], steps: 2 });
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
      const alone = await runBoth({ runner: varRunner, config, weights, prompt: single, rows: [{ config: rowConfig }], steps: 2 });
      alone.forEach((r, i) => {
        expect(r.chosen[0]).toBe(mixed[i]!.chosen[b]);
        expect(normRelativeError(r.onnxLogits, mixed[i]!.onnxLogits.subarray(b * v, (b + 1) * v))).toBeLessThanOrEqual(1e-5);
      });
    }
  });
});

describe('decoder variants', () => {
  it('Qwen2-style: q/k/v bias, M-RoPE, tied embeddings, MHA', async () => {
    const config = tinyConfig({
      attentionBias: true,
      tieWordEmbeddings: true,
      numKvHeads: 4,
      rope: { type: 'mrope', theta: 1e6, section: [2, 3, 3] },
    });
    const weights = tinyWeights(config, 3);
    const prompt = tinyPrompt({ config, padding: [0, 3], tokens: 14, imageStart: [2, 1], imageLength: 6, mrope: true });
    // Distinct t/h/w positions on the image span, as get_rope_index gives.
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < prompt.tokens; t++) {
        if (!prompt.imageMask[b * prompt.tokens + t]) continue;
        const i = b * prompt.tokens + t;
        prompt.positionIds[prompt.batch * prompt.tokens + i] = BigInt((t % 3) + 2);
        prompt.positionIds[2 * prompt.batch * prompt.tokens + i] = BigInt(Math.floor(t / 3) + 2);
      }
    }
    const runner = await createModelRunner(
      await buildDecoderGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' }) }),
    );
    try {
      const c = { ...VAR_PRESETS['official-code'], tau: 5 };
      const records = await runBoth({ runner, config, weights, prompt, rows: [{ config: c }, { config: c }], steps: 2, mrope: true });
      for (const r of records) expect(normRelativeError(r.onnxLogits, r.refLogits)).toBeLessThanOrEqual(1e-4);
    } finally {
      await runner.release();
    }
  });
});

describe('fused attention variant', () => {
  it('GroupQueryAttention graph equals the eager baseline at prefill and decode (batch 1, no padding)', async () => {
    const config = tinyConfig();
    const weights = tinyWeights(config, 11);
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    const fused = await createModelRunner(await buildDecoderGraph({ config, weights: store(), attention: 'fused' }));
    const eager = await createModelRunner(await buildDecoderGraph({ config, weights: store(), attention: 'baseline' }));
    const prompt = tinyPrompt({ config, padding: [0], tokens: 12, imageStart: [2], imageLength: 6 });
    const a = await runBoth({ runner: fused, config, weights, prompt, rows: undefined, steps: 3, fused: true });
    const b = await runBoth({ runner: eager, config, weights, prompt, rows: undefined, steps: 3 });
    a.forEach((r, i) => {
      expect(r.chosen).toEqual(b[i]!.chosen);
      expect(normRelativeError(r.onnxLogits, b[i]!.onnxLogits)).toBeLessThanOrEqual(1e-4);
    });
    await Promise.all([fused.release(), eager.release()]);
  });
});

describe('quantized decoder (MatMulNBits, GatherBlockQuantized)', () => {
  for (const bits of [4, 8] as const) {
    it(`int${bits}, accuracy level 0: equals the reference run on the dequantized weights, VAR on, prefill + 3 decode steps`, async () => {
      const config = tinyConfig();
      const weights = tinyWeights(config, 5);
      const scheme = { bits, blockSize: 32 } as const;
      const store = new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32', quant: { ...scheme, accuracyLevel: 0 } });
      const runner = await createModelRunner(await buildDecoderGraph({ config, weights: store, diagnostics: true }));
      try {
        // Every projection and the LM head are quantized; norms stay float.
        const quantized = new Set(store.quantizedNames);
        expect(quantized.size).toBe(config.numLayers * 7 + 1);
        expect(quantized.has('lm_head.weight') && quantized.has('layers.0.mlp.down_proj.weight')).toBe(true);
        expect([...quantized].some((n) => n.includes('norm'))).toBe(false);
        const dequantized = new Map(weights);
        for (const name of quantized) {
          const w = weights.get(name)!;
          dequantized.set(name, createTensor('float32', w.dims, dequantizeBlockwise(quantizeBlockwise(w.data as Float32Array, w.dims as [number, number], scheme))));
        }
        const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
        const c = { ...VAR_PRESETS.hallucination, tau: 5 };
        const records = await runBoth({ runner, config, weights: dequantized, prompt, rows: [{ config: c }, { config: c }], steps: 3, diagnostics: true });
        for (const [i, r] of records.entries()) {
          expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
          expect([...r.onnxFlags!]).toEqual([...r.refFlags!]);
          r.onnxSelected.forEach((sel, l) => expect([...sel], `step ${i} layer ${l}`).toEqual([...r.refSelected[l]!]));
        }
      } finally {
        await runner.release();
      }
    });
  }
});
