import { describe, expect, it } from 'vitest';
import { SINK_DIM_PROFILES, UnknownSinkDimsError, resolveSinkDims, sinkDimProfile, sinkDimProfileForConfig } from './sink-dim-profiles.js';

describe('sink-dimension profiles', () => {
  it('hold the published dims', () => {
    expect(sinkDimProfile('llama-2-7b')?.sinkDims).toEqual([1415, 2533]);
    expect(sinkDimProfile('llama-2-13b')?.sinkDims).toEqual([2100, 4743]);
    expect(sinkDimProfile('qwen2-7b')?.sinkDims).toEqual([458, 2570]);
    expect(sinkDimProfile('internlm2.5-7b')?.sinkDims).toEqual([3584]);
    expect(sinkDimProfile('qwen2-1.5b')?.sinkDims).toBeNull();
    for (const p of SINK_DIM_PROFILES) for (const d of p.sinkDims ?? []) expect(d).toBeLessThan(p.hiddenSize);
  });

  it('match configs by family, width and depth', () => {
    expect(sinkDimProfileForConfig({ modelType: 'llama', hiddenSize: 5120, numLayers: 40 })?.backbone).toBe('llama-2-13b');
    expect(sinkDimProfileForConfig({ modelType: 'qwen2', hiddenSize: 3584, numLayers: 28 })?.backbone).toBe('qwen2-7b');
    expect(sinkDimProfileForConfig({ modelType: 'llama', hiddenSize: 512, numLayers: 4 })).toBeUndefined();
  });

  it('resolve user dims first, then the profile, else point to the finder', () => {
    expect(resolveSinkDims({ modelType: 'llama', hiddenSize: 4096, numLayers: 32 })).toMatchObject({
      sinkDims: [1415, 2533],
      source: 'profile',
      startLayer: 2,
    });
    expect(resolveSinkDims({ modelType: 'qwen2_vl', hiddenSize: 1536, numLayers: 28, userSinkDims: [7] })).toMatchObject({
      sinkDims: [7],
      source: 'user',
    });
    expect(() => resolveSinkDims({ modelType: 'qwen2_vl', hiddenSize: 1536, numLayers: 28 })).toThrow(
      /qwen2-1.5b \(Qwen2-VL-2B\) has no published sink dimensions; run `vasink find-sink-dims/,
    );
    expect(() => resolveSinkDims({ modelType: 'mistral', hiddenSize: 4096, numLayers: 32 })).toThrow(UnknownSinkDimsError);
  });
});
