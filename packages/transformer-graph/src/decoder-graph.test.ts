import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Float32Tensor, createTensor } from '@vasink/tensor';
import { type ModelRunner, createModelRunner, normRelativeError } from '@vasink/test-utils';
import { DECODER_IO, buildDecoderGraph } from './decoder-graph.js';
import type { AttentionIntervention } from './intervention.js';
import { dequantizeBlockwise, quantizeBlockwise } from './quantize.js';
import { WeightStore } from './weight-store.js';
import { memoryWeightSource } from './weights.js';
import { runDecoderSideBySide, tinyConfig, tinyPrompt, tinyWeights } from './testing/index.js';

declare module '@vasink/transformer-graph' {
  interface InterventionSettingsMap {
    /** Test-only: scores on image keys × (1 + boost), probabilities of key 0 halved. */
    testBoost: { boost: number; halveFirst: boolean };
  }
}

/**
 * A test intervention exercising the whole contract: a per-row input, a
 * pre-softmax edit from the shared image mask, a post-softmax edit, and an
 * output. Not a method: it proves the decoder calls the hooks where it says.
 */
const testBoost: AttentionIntervention<'testBoost'> = {
  name: 'testBoost',
  label: 'test boost',
  inputNames: ['test_boost'],
  validate() {},
  emit({ g, imageMask }) {
    const params = g.input('test_boost', 'float32', ['batch', 2]);
    const perRow = (c: number) => g.reshape(g.gather(params, c, 1), [-1, 1, 1, 1]);
    const image = g.unsqueeze(g.cast(imageMask, 'float32'), [1, 2]);
    const scale = g.add(g.mul(image, perRow(0)), 1);
    return {
      beforeSoftmax: (scores) => g.mul(scores, scale),
      afterSoftmax: (probs) => {
        const keys = g.shape(probs, { start: 3, end: 4 });
        const first = g.cast(g.equal(g.range(0, g.squeeze(keys, [0]), 1), 0), 'float32');
        return g.mul(probs, g.sub(1, g.mul(g.mul(first, 0.5), perRow(1))));
      },
    };
  },
  feeds(step, rows) {
    return { test_boost: createTensor('float32', [step.batch, 2], rows.flatMap((r) => (r ? [r.boost, r.halveFirst ? 1 : 0] : [0, 0]))) };
  },
  reference(step, rows) {
    return {
      beforeSoftmax(scores: Float32Tensor) {
        const [batch, heads, queries, total] = scores.dims as [number, number, number, number];
        const out = Float32Array.from(scores.data);
        for (let b = 0; b < batch; b++) {
          const boost = rows[b]?.boost ?? 0;
          for (let i = 0; i < heads * queries; i++) {
            for (let t = 0; t < total; t++) if (step.imageMask[b * total + t]) out[(b * heads * queries + i) * total + t] = Math.fround((out[(b * heads * queries + i) * total + t] as number) * (1 + boost));
          }
        }
        return createTensor('float32', scores.dims, out);
      },
      afterSoftmax(probs: Float32Tensor) {
        const [batch, heads, queries, total] = probs.dims as [number, number, number, number];
        const out = Float32Array.from(probs.data);
        for (let b = 0; b < batch; b++) {
          if (!rows[b]?.halveFirst) continue;
          for (let i = 0; i < heads * queries; i++) out[(b * heads * queries + i) * total] = (out[(b * heads * queries + i) * total] as number) * 0.5;
        }
        return createTensor('float32', probs.dims, out);
      },
    };
  },
};

describe('decoder graph vs TypeScript reference', () => {
  const config = tinyConfig();
  const weights = tinyWeights(config);
  const prompt = tinyPrompt({ config, padding: [2, 0], tokens: 16, imageStart: [2, 3], imageLength: 8 });
  const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
  let baseline: ModelRunner;
  let boosted: ModelRunner;

  beforeAll(async () => {
    baseline = await createModelRunner(await buildDecoderGraph({ config, weights: store() }));
    boosted = await createModelRunner(await buildDecoderGraph({ config, weights: store(), interventions: [testBoost] }));
  });
  afterAll(async () => {
    await baseline.release();
    await boosted.release();
  });

  it('baseline: equals the reference at prefill and 4 decode steps, batch 2 with left padding, both cache blocks', async () => {
    const records = await runDecoderSideBySide({ run: baseline.run, config, weights, prompt, interventions: [], steps: 4 });
    for (const [i, r] of records.entries()) expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
  });

  it('an intervention\'s hooks run before and after the softmax, per row, as its reference says', async () => {
    const rows = [{ testBoost: { boost: 0.5, halveFirst: true } }, {}];
    const records = await runDecoderSideBySide({ run: boosted.run, config, weights, prompt, interventions: [testBoost], rows, steps: 2 });
    const base = await runDecoderSideBySide({ run: baseline.run, config, weights, prompt, interventions: [], steps: 2 });
    const v = config.vocabSize;
    for (const [i, r] of records.entries()) {
      expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
      // Row 0 moved; row 1 (off) is the baseline bit for bit.
      expect(normRelativeError(r.onnxLogits.subarray(0, v), base[i]!.onnxLogits.subarray(0, v))).toBeGreaterThan(1e-3);
      expect([...r.onnxLogits.subarray(v)]).toEqual([...base[i]!.onnxLogits.subarray(v)]);
    }
  });

  it('the graph records its interventions, and the fused graph refuses them', async () => {
    const model = await buildDecoderGraph({ config, weights: store(), interventions: [testBoost] });
    expect(model.metadataProps?.find((p) => p.key === 'vasink.interventions')?.value).toBe('testBoost');
    expect(model.graph!.input.map((i) => i.name)).toContain(DECODER_IO.imageMask);
    await expect(buildDecoderGraph({ config, weights: store(), attention: 'fused', interventions: [testBoost] })).rejects.toThrow(/fused attention graph cannot carry interventions \(testBoost\)/);
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
    const runner = await createModelRunner(await buildDecoderGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' }) }));
    try {
      const records = await runDecoderSideBySide({ run: runner.run, config, weights, prompt, interventions: [], steps: 2, mrope: true });
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
    const eager = await createModelRunner(await buildDecoderGraph({ config, weights: store() }));
    const prompt = tinyPrompt({ config, padding: [0], tokens: 12, imageStart: [2], imageLength: 6 });
    const a = await runDecoderSideBySide({ run: fused.run, config, weights, prompt, interventions: [], steps: 3, fused: true });
    const b = await runDecoderSideBySide({ run: eager.run, config, weights, prompt, interventions: [], steps: 3 });
    a.forEach((r, i) => {
      expect(r.chosen).toEqual(b[i]!.chosen);
      expect(normRelativeError(r.onnxLogits, b[i]!.onnxLogits)).toBeLessThanOrEqual(1e-4);
    });
    await Promise.all([fused.release(), eager.release()]);
  });
});

describe('quantized decoder (MatMulNBits, GatherBlockQuantized)', () => {
  for (const bits of [4, 8] as const) {
    it(`int${bits}, accuracy level 0: equals the reference run on the dequantized weights, prefill + 3 decode steps`, async () => {
      const config = tinyConfig();
      const weights = tinyWeights(config, 5);
      const scheme = { bits, blockSize: 32 } as const;
      const store = new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32', quant: { ...scheme, accuracyLevel: 0 } });
      const runner = await createModelRunner(await buildDecoderGraph({ config, weights: store }));
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
        const records = await runDecoderSideBySide({ run: runner.run, config, weights: dequantized, prompt, interventions: [], steps: 3 });
        for (const [i, r] of records.entries()) expect(normRelativeError(r.onnxLogits, r.refLogits), `step ${i}`).toBeLessThanOrEqual(1e-4);
      } finally {
        await runner.release();
      }
    });
  }
});
