import { ATTENTION_INTERVENTIONS } from './methods.js';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalDataFile, writeModel } from '@vasink/onnx-graph';
import { type DecoderConfig, WeightStore, buildDecoderGraph, decoderWeightShapes, memoryWeightSource, randomDecoderWeights } from '@vasink/transformer-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFloor, decodeStepBytes, graphWeightBytes, kvCacheBytes } from './decode-floor.js';

const config: DecoderConfig = {
  hiddenSize: 64,
  numLayers: 3,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  intermediateSize: 128,
  vocabSize: 96,
  rmsNormEps: 1e-6,
  rope: { type: 'default', theta: 10000 },
  attentionBias: false,
  tieWordEmbeddings: false,
};

describe('graphWeightBytes on real decoder graphs with external weights', () => {
  let dir: string;
  const weights = randomDecoderWeights(config, { seed: 3 });
  // Decoder graph weights (the embedding table lives in the embedding graph).
  const elements = [...decoderWeightShapes(config)]
    .filter(([name]) => name !== 'embed_tokens.weight')
    .reduce((a, [, shape]) => a + shape.reduce((x, y) => x * y, 1), 0);

  const write = async (name: string, options: { dtype: 'float32' | 'float16'; quant?: boolean }) => {
    // Alignment 1: the data file holds exactly the referenced bytes, nothing between them.
    const data = ExternalDataFile.create(join(dir, `${name}.bin`), { alignment: 1 });
    const store = new WeightStore({
      source: memoryWeightSource(weights),
      dtype: options.dtype,
      externalData: data,
      ...(options.quant ? { quant: { bits: 4, blockSize: 32, accuracyLevel: 4 } } : {}),
    });
    // Everything above 16 bytes goes external, so the count must come from the references.
    writeModel(await buildDecoderGraph({ config, weights: store, interventions: ATTENTION_INTERVENTIONS }), join(dir, `${name}.onnx`), { externalData: data, sizeThreshold: 16 });
    data.close();
    return { counted: graphWeightBytes(join(dir, `${name}.onnx`)), fileBytes: (await stat(join(dir, `${name}.bin`))).size };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-decode-floor-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('counts float16 weights at 2 bytes, as stored, not as float32', async () => {
    const { counted, fileBytes } = await write('f16', { dtype: 'float16' });
    expect(counted.external).toBe(fileBytes);
    expect(counted.byDtype.float16).toBeGreaterThanOrEqual(2 * elements);
    expect(counted.byDtype.float32 ?? 0).toBeLessThan(elements);
    expect(counted.total).toBe(Object.values(counted.byDtype).reduce((a, b) => a + b, 0));
  });

  it('counts int4 codes and their scales, a fraction of the float32 bytes', async () => {
    const f32 = await write('f32', { dtype: 'float32' });
    const int4 = await write('int4', { dtype: 'float32', quant: true });
    expect(f32.counted.external).toBe(f32.fileBytes);
    expect(int4.counted.external).toBe(int4.fileBytes);
    expect(f32.counted.byDtype.float32).toBeGreaterThanOrEqual(4 * elements);
    // 4 bits per weight + one float32 scale per 32 weights ≈ 0.625 bytes per weight for every projection.
    expect(int4.counted.byDtype.uint8).toBeGreaterThan(0);
    expect(int4.counted.total).toBeLessThan(f32.counted.total / 4);
  });
});

describe('decode step bytes and floor', () => {
  it('KV cache bytes: 2 × layers × KV heads × head dim × tokens × element bytes', () => {
    expect(kvCacheBytes(config, 'float32', 100)).toBe(2 * 3 * 2 * 16 * 100 * 4);
    expect(kvCacheBytes(config, 'float16', 100)).toBe(2 * 3 * 2 * 16 * 100 * 2);
    // LLaVA-1.5-7B in float16: 0.5 MiB per token (DESIGN §5).
    expect(kvCacheBytes({ numLayers: 32, numKvHeads: 32, headDim: 128 }, 'float16', 1)).toBe(2 ** 19);
    expect(() => kvCacheBytes(config, 'float32', 1.5)).toThrow(/tokens/);
  });

  it('reads float16 weights widened on the CPU only, plus the cache', () => {
    const weights = { total: 1000, byDtype: { float16: 600, float32: 400 }, external: 1000 };
    const cpu = decodeStepBytes({ weights, device: 'cpu', config, dtype: 'float16', contextTokens: 10 });
    const cuda = decodeStepBytes({ weights, device: 'cuda', config, dtype: 'float16', contextTokens: 10 });
    expect(cpu).toMatchObject({ storedWeightBytes: 1000, weightBytes: 1600, widened: true, kvCacheBytes: kvCacheBytes(config, 'float16', 10) });
    expect(cpu.total).toBe(1600 + cpu.kvCacheBytes);
    expect(cuda).toMatchObject({ weightBytes: 1000, widened: false });
  });

  it('floor = bytes ÷ bandwidth', () => {
    const floor = decodeFloor(2e9, 20e9);
    expect(floor.msPerStep).toBeCloseTo(100, 9);
    expect(floor.tokensPerSecond).toBeCloseTo(10, 9);
    expect(() => decodeFloor(0, 1)).toThrow(/positive/);
  });
});
