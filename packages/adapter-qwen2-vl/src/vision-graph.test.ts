import { describe, expect, it } from 'vitest';
import { type TypedTensor, createTensor, fromFloat32, toFloat32 } from '@vasink/tensor';
import { maxRelativeError, runModel, seededRandom } from '@vasink/test-utils';
import { WeightStore, memoryWeightSource } from '@vasink/transformer-graph';
import { visionWeightShapes } from './checkpoint-layout.js';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';
import { VISION_IO, buildVisionGraph } from './vision-graph.js';
import { type GridThw, visionPositionIds, visionSegmentIds } from './vision-inputs.js';
import { erf, referenceVisionTower } from './vision-reference.js';

const config: Qwen2VlVisionConfig = {
  depth: 2,
  embedDim: 32,
  numHeads: 2,
  mlpHiddenSize: 64,
  patchSize: 14,
  temporalPatchSize: 2,
  spatialMergeSize: 2,
  inChannels: 3,
  outHiddenSize: 48,
  layerNormEps: 1e-6,
};

function randomWeights(seed: number): Map<string, TypedTensor> {
  const random = seededRandom(seed);
  const weights = new Map<string, TypedTensor>();
  for (const [name, shape] of visionWeightShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = /norm\d?\.weight|ln_q\.weight/.test(name);
    const scale = name.startsWith('patch_embed') ? 0.05 : name.includes('norm') || name.includes('ln_q') ? 0.1 : 0.2;
    weights.set(name, createTensor('float32', shape, Float32Array.from({ length: size }, () => (isNormWeight ? 1 : 0) + scale * (2 * random() - 1))));
  }
  return weights;
}

describe('vision inputs', () => {
  it('orders patch positions as rot_pos_emb does: merge windows row-major, 2x2 inside', () => {
    const ids = Array.from(visionPositionIds([[1, 2, 4]], 2), Number);
    // (h, w) pairs: window (0,0): (0,0) (0,1) (1,0) (1,1); window (0,1): (0,2) (0,3) (1,2) (1,3)
    expect(ids).toEqual([0, 0, 0, 1, 1, 0, 1, 1, 0, 2, 0, 3, 1, 2, 1, 3]);
    expect(Array.from(visionSegmentIds([[1, 2, 2], [2, 2, 2]], 2), Number)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(() => visionPositionIds([[1, 3, 4]], 2)).toThrow('grid 3x4 patches is not a multiple of the merge size 2');
  });

  it('erf is accurate across its range', () => {
    // Values from the C library's erf.
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 13);
    expect(erf(-1.7)).toBeCloseTo(-0.9837904585907746, 13);
    expect(erf(2.9)).toBeCloseTo(0.9999589021219005, 12);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 6);
  });
});

describe('buildVisionGraph', () => {
  it('equals the TypeScript reference on random weights for two images of different grids (rel. error ≤ 1e-4)', async () => {
    const weights = randomWeights(3);
    const grids: GridThw[] = [
      [1, 4, 6],
      [1, 6, 2],
    ];
    const patches = 24 + 12;
    const random = seededRandom(11);
    const pixelValues = Float32Array.from({ length: patches * 1176 }, () => 2 * random() - 1);
    const model = await buildVisionGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' }) });
    const out = await runModel(model, {
      [VISION_IO.pixelValues]: createTensor('float32', [patches, 1176], pixelValues),
      [VISION_IO.positionIds]: createTensor('int64', [patches, 2], visionPositionIds(grids, 2)),
      [VISION_IO.segmentIds]: createTensor('int64', [patches], visionSegmentIds(grids, 2)),
    });
    const features = out[VISION_IO.imageFeatures]!;
    expect(features.dims).toEqual([patches / 4, 48]);
    const expected = referenceVisionTower({ config, weights, pixelValues, gridThw: grids });
    expect(maxRelativeError(features.data as Float32Array, expected, 1e-3)).toBeLessThanOrEqual(1e-4);

    // Attention stays within an image: the first image's features do not depend on the second's pixels.
    const changed = Float32Array.from(pixelValues);
    for (let i = 24 * 1176; i < changed.length; i++) changed[i] = -(changed[i] as number);
    const again = referenceVisionTower({ config, weights, pixelValues: changed, gridThw: grids });
    expect(Array.from(again.subarray(0, 6 * 48))).toEqual(Array.from(expected.subarray(0, 6 * 48)));
    expect(maxRelativeError(again.subarray(6 * 48), expected.subarray(6 * 48), 1e-3)).toBeGreaterThan(1e-2);
  });

  it('runs its matrix products in float16 with float16 weights, the rest in float32', async () => {
    const weights = randomWeights(5);
    const grids: GridThw[] = [[1, 2, 4]];
    const random = seededRandom(2);
    const pixelValues = Float32Array.from({ length: 8 * 1176 }, () => 2 * random() - 1);
    const model = await buildVisionGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float16' }) });
    const out = await runModel(model, {
      [VISION_IO.pixelValues]: createTensor('float32', [8, 1176], pixelValues),
      [VISION_IO.positionIds]: createTensor('int64', [8, 2], visionPositionIds(grids, 2)),
      [VISION_IO.segmentIds]: createTensor('int64', [8], visionSegmentIds(grids, 2)),
    });
    const features = out[VISION_IO.imageFeatures]!;
    expect(features.dtype).toBe('float32');
    // Against the reference on the same float16-rounded weights: only activation rounding remains.
    const rounded = new Map([...weights].map(([name, t]) => [name, fromFloat32(toFloat32(t), 'float16') as TypedTensor]));
    const expected = referenceVisionTower({ config, weights: rounded, pixelValues, gridThw: grids });
    const largest = expected.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    const worst = (features.data as Float32Array).reduce((a, x, i) => Math.max(a, Math.abs(x - (expected[i] as number))), 0);
    expect(worst / largest).toBeLessThan(1e-2);
  });
});
