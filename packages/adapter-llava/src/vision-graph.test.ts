import { describe, expect, it } from 'vitest';
import { inspectModel } from '@vasink/onnx-graph';
import { createTensor, toFloat32 } from '@vasink/tensor';
import { createModelRunner, maxRelativeError } from '@vasink/test-utils';
import { WeightStore, memoryWeightSource } from '@vasink/transformer-graph';
import type { LlavaConfig } from './llava-config.js';
import { createRandom } from './random.js';
import { randomLlavaVisionWeights } from './random-vision-weights.js';
import { type LlavaVisionGraphConfig, buildLlavaVisionGraph } from './vision-graph.js';
import { referenceLlavaVision } from './vision-reference.js';

const text: LlavaConfig['text'] = {
  hiddenSize: 48,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 2,
  headDim: 24,
  intermediateSize: 64,
  vocabSize: 100,
  rmsNormEps: 1e-6,
  rope: { type: 'default', theta: 10000 },
  attentionBias: false,
  tieWordEmbeddings: false,
};

function smallConfig(overrides: Partial<LlavaVisionGraphConfig> = {}): LlavaVisionGraphConfig {
  return {
    vision: { hiddenSize: 32, numLayers: 3, numHeads: 4, intermediateSize: 64, imageSize: 42, patchSize: 14, numChannels: 3, layerNormEps: 1e-5, hiddenAct: 'quick_gelu' },
    visionFeatureLayer: -2,
    visionFeatureSelectStrategy: 'default',
    projector: { linearLayers: 2, activation: 'gelu', bias: true },
    text,
    ...overrides,
  };
}

/** Relative error against the features' scale: entries near zero are held to 1% of the largest magnitude. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  return maxRelativeError(actual, expected, 0.01 * scale);
}

function pixels(images: number, size: number, seed: number) {
  const random = createRandom(seed);
  return createTensor('float32', [images, 3, size, size], random.fillNormal(new Float32Array(images * 3 * size * size), 1));
}

async function runVision(config: LlavaVisionGraphConfig, dtype: 'float32' | 'float16', seed = 3) {
  const weights = randomLlavaVisionWeights(config, { seed, scale: 0.2 });
  const store = new WeightStore({ source: memoryWeightSource(weights), dtype });
  const model = await buildLlavaVisionGraph({ config, weights: store });
  const runner = await createModelRunner(model);
  try {
    const input = pixels(2, config.vision.imageSize, seed + 1);
    const out = await runner.run({ pixel_values: input });
    const features = out.image_features!;
    const expected = referenceLlavaVision({ config, weights, pixelValues: input });
    return { features, expected, model };
  } finally {
    await runner.release();
  }
}

describe('buildLlavaVisionGraph', () => {
  it('equals the reference (CLIP layers up to hidden_states[-2], CLS dropped, linear → GELU → linear)', async () => {
    const { features, expected, model } = await runVision(smallConfig(), 'float32');
    expect(features.dims).toEqual([2 * 9, 48]);
    expect(expected.dims).toEqual([2 * 9, 48]);
    expect(scaledError(features.data as Float32Array, expected.data)).toBeLessThanOrEqual(1e-4);
    const summary = inspectModel(model);
    expect(summary.inputs.map((i) => i.name)).toEqual(['pixel_values']);
    expect(summary.outputs.map((o) => o.name)).toEqual(['image_features']);
  });

  it.each([
    ['every layer, CLS kept, exact-GELU tower', { visionFeatureLayer: 3, visionFeatureSelectStrategy: 'full' as const }],
    ['embeddings only (hidden_states[0]), tanh GELU, no projector bias', { visionFeatureLayer: 0, projector: { linearLayers: 2, activation: 'gelu_pytorch_tanh' as const, bias: false } }],
    ['a linear projector (LLaVA v1)', { visionFeatureLayer: -1, projector: { linearLayers: 1, activation: 'gelu' as const, bias: true } }],
  ])('equals the reference: %s', async (_, overrides) => {
    const base = smallConfig();
    const config = smallConfig({ ...overrides, vision: { ...base.vision, hiddenAct: 'gelu' } });
    const { features, expected } = await runVision(config, 'float32', 11);
    expect(features.dims).toEqual(expected.dims);
    expect(scaledError(features.data as Float32Array, expected.data)).toBeLessThanOrEqual(1e-4);
  });

  it('builds a float16 graph (LayerNorm, softmax, activations in float32) close to the reference', async () => {
    const { features, expected } = await runVision(smallConfig(), 'float16');
    expect(features.dtype).toBe('float16');
    // float16 weights and activations through two layers: largest error within 2% of the features' scale.
    const actual = toFloat32(features).data;
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < actual.length; i++) {
      worst = Math.max(worst, Math.abs((actual[i] as number) - (expected.data[i] as number)));
      scale = Math.max(scale, Math.abs(expected.data[i] as number));
    }
    expect(worst / scale).toBeLessThan(2e-2);
  });
});
