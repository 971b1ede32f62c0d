import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GridThw } from '@vasink/adapter-qwen2-vl';
import { visionPositionIds, visionSegmentIds } from '@vasink/adapter-qwen2-vl';
import { openSafetensors } from '@vasink/safetensors';
import { type TypedTensor, createTensor } from '@vasink/tensor';
import { createModelRunner } from '@vasink/test-utils';
import { WeightStore, memoryWeightSource } from '@vasink/transformer-graph';
import type { Qwen25VlVisionConfig } from './config.js';
import { windowOrderedFeeds } from './prepare-images.js';
import { VISION_IO, buildQwen25VlVisionGraph } from './vision-graph.js';
import { referenceQwen25VlVision } from './vision-reference.js';
import { inversePermutation, windowIndex } from './window-index.js';

// Golden values from fixtures/make_fixtures.py: transformers' Qwen2.5-VL vision tower re-implemented with numpy (float64).
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

interface VisionCase {
  name: string;
  grid_thw: [number, number, number][];
  pixel_rows: number;
  pixel_values_sha256: string;
  window_index: number[];
  cu_window_seqlens: number[];
  cu_seqlens: number[];
  features: string;
}

const golden = JSON.parse(readFileSync(join(FIXTURES, 'vision-golden.json'), 'utf8')) as {
  config: { depth: number; fullatt_block_indexes: number[]; hidden_size: number; num_heads: number; intermediate_size: number; out_hidden_size: number; window_size: number };
  pixel_pool: string;
  cases: VisionCase[];
};
const windows = JSON.parse(readFileSync(join(FIXTURES, 'window-index-golden.json'), 'utf8')) as {
  cases: Record<string, { window_index: number[]; cu_window_seqlens: number[]; grid_thw?: [number, number, number][] }>;
};
const float32 = (base64: string) => {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};

const config: Qwen25VlVisionConfig = {
  depth: golden.config.depth,
  embedDim: golden.config.hidden_size,
  numHeads: golden.config.num_heads,
  intermediateSize: golden.config.intermediate_size,
  patchSize: 14,
  temporalPatchSize: 2,
  spatialMergeSize: 2,
  inChannels: 3,
  outHiddenSize: golden.config.out_hidden_size,
  windowSize: golden.config.window_size,
  fullAttentionBlocks: golden.config.fullatt_block_indexes,
  rmsNormEps: 1e-6,
};
const pool = float32(golden.pixel_pool);
const weights = new Map<string, TypedTensor>();

beforeAll(async () => {
  const file = await openSafetensors(join(FIXTURES, 'vision-weights.safetensors'));
  try {
    for (const name of file.names()) weights.set(name, await file.read(name));
  } finally {
    await file.close();
  }
});

/** Largest |a − b| relative to the largest |b|. */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return worst / scale;
}

describe('Qwen2.5-VL window index (transformers get_window_index, real window 112)', () => {
  it.each(Object.entries(windows.cases))('%s', (key, expected) => {
    const grids: GridThw[] = expected.grid_thw ?? [key.split(',').map(Number) as [number, number, number]];
    const { index, cuWindowSeqlens } = windowIndex(grids, { windowSize: 112, patchSize: 14, spatialMergeSize: 2 });
    expect(index).toEqual(expected.window_index);
    expect(cuWindowSeqlens).toEqual(expected.cu_window_seqlens);
    expect(inversePermutation(index).map((p) => index[p])).toEqual(index.map((_, u) => u));
  });
});

describe('Qwen2.5-VL vision tower: TypeScript reference and ONNX graph against the transformers re-implementation', () => {
  let runner: Awaited<ReturnType<typeof createModelRunner>>;
  beforeAll(async () => {
    const store = new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    runner = await createModelRunner(await buildQwen25VlVisionGraph({ config, weights: store }));
  });
  afterAll(() => runner?.release());

  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', async (_, expected) => {
    const grids = expected.grid_thw;
    const pixels = pool.slice(0, expected.pixel_rows * 1176);
    expect(createHash('sha256').update(new Uint8Array(pixels.buffer)).digest('hex')).toBe(expected.pixel_values_sha256);
    expect(windowIndex(grids, config).index).toEqual(expected.window_index);
    const features = float32(expected.features);

    const reference = referenceQwen25VlVision({ config, weights, pixelValues: pixels, gridThw: grids });
    expect(scaledError(reference, features)).toBeLessThan(1e-5);

    const ordered = windowOrderedFeeds({ pixelValues: pixels, positionIds: visionPositionIds(grids, 2), segmentIds: visionSegmentIds(grids, 2) }, grids, config);
    const n = expected.pixel_rows;
    const out = await runner.run({
      [VISION_IO.pixelValues]: createTensor('float32', [n, 1176], ordered.pixelValues),
      [VISION_IO.positionIds]: createTensor('int64', [n, 2], ordered.positionIds),
      [VISION_IO.segmentIds]: createTensor('int64', [n], ordered.segmentIds),
      [VISION_IO.windowIds]: createTensor('int64', [n], ordered.windowIds),
      [VISION_IO.tokenOrder]: createTensor('int64', [n / 4], ordered.tokenOrder),
    });
    const graph = out[VISION_IO.imageFeatures]!;
    expect(graph.dims).toEqual([n / 4, config.outHiddenSize]);
    expect(scaledError(graph.data as Float32Array, reference)).toBeLessThan(1e-5);
  });

  it('windows matter: with every block attending to the whole frame the features change where an image spans several windows', () => {
    const grids: GridThw[] = [[1, 6, 8]];
    const pixels = pool.slice(0, 48 * 1176);
    const windowed = referenceQwen25VlVision({ config, weights, pixelValues: pixels, gridThw: grids });
    const full = referenceQwen25VlVision({ config: { ...config, fullAttentionBlocks: [0, 1, 2, 3] }, weights, pixelValues: pixels, gridThw: grids });
    expect(scaledError(full, windowed)).toBeGreaterThan(1e-2);
  });
});
