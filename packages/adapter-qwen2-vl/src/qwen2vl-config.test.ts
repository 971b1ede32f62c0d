import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { qwen2vlSinkSettings } from './convert.js';
import { Qwen2VlConfigError, UnsupportedArchitectureError } from './errors.js';
import { parseQwen2VlImageSettings } from './preprocessor-config.js';
import { isQwen2VlConfig, parseQwen2VlConfig } from './qwen2vl-config.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const released2b = fixture('qwen2-vl-2b-instruct.config.json');
const released7b = fixture('qwen2-vl-7b-instruct.config.json');

/** The 2B config as newer transformers (≥ 4.52) save it: text fields under text_config. */
function nested(config: Record<string, unknown>): Record<string, unknown> {
  const textKeys = ['hidden_size', 'intermediate_size', 'num_attention_heads', 'num_hidden_layers', 'num_key_value_heads', 'rms_norm_eps', 'rope_theta', 'vocab_size', 'rope_scaling'];
  const top = Object.fromEntries(Object.entries(config).filter(([k]) => !textKeys.includes(k)));
  const text = Object.fromEntries(Object.entries(config).filter(([k]) => textKeys.includes(k)));
  return { ...top, text_config: { ...text, model_type: 'qwen2_vl_text', rope_scaling: { mrope_section: [16, 24, 24], rope_type: 'default', type: 'default' } } };
}

describe('parseQwen2VlConfig', () => {
  it('reads the released Qwen2-VL-2B-Instruct config', () => {
    const config = parseQwen2VlConfig(released2b);
    expect(config.text).toEqual({
      hiddenSize: 1536,
      numLayers: 28,
      numHeads: 12,
      numKvHeads: 2,
      headDim: 128,
      intermediateSize: 8960,
      vocabSize: 151936,
      rmsNormEps: 1e-6,
      rope: { type: 'mrope', theta: 1e6, section: [16, 24, 24] },
      attentionBias: true,
      tieWordEmbeddings: true,
    });
    expect(config.vision).toEqual({
      depth: 32,
      embedDim: 1280,
      numHeads: 16,
      mlpHiddenSize: 5120,
      patchSize: 14,
      temporalPatchSize: 2,
      spatialMergeSize: 2,
      inChannels: 3,
      outHiddenSize: 1536,
      layerNormEps: 1e-6,
    });
    expect(config).toMatchObject({ imageTokenId: 151655, visionStartTokenId: 151652, visionEndTokenId: 151653, eosTokenIds: [151645], nestedTextConfig: false });
  });

  it('reads the 7B config (untied head) and the newer nested layout alike', () => {
    const seven = parseQwen2VlConfig(released7b);
    expect(seven.text).toMatchObject({ hiddenSize: 3584, numHeads: 28, numKvHeads: 4, headDim: 128, vocabSize: 152064, tieWordEmbeddings: false });
    expect(seven.vision.outHiddenSize).toBe(3584);
    const newer = parseQwen2VlConfig(nested(released2b));
    expect(newer.nestedTextConfig).toBe(true);
    expect(newer.text).toEqual(parseQwen2VlConfig(released2b).text);
    // rope_parameters (newest transformers) carries theta and the section.
    const { rope_theta: _, ...withoutTheta } = released2b;
    const parameters = { ...withoutTheta, rope_scaling: undefined, rope_parameters: { rope_type: 'default', rope_theta: 5e5, mrope_section: [16, 24, 24] } };
    expect(parseQwen2VlConfig(parameters).text.rope).toEqual({ type: 'mrope', theta: 5e5, section: [16, 24, 24] });
  });

  it('tells Qwen2-VL from other models', () => {
    expect(isQwen2VlConfig(released2b)).toBe(true);
    expect(isQwen2VlConfig({ model_type: 'qwen2_vl' })).toBe(true);
    expect(isQwen2VlConfig({ ...released2b, architectures: ['Qwen2_5_VLForConditionalGeneration'], model_type: 'qwen2_5_vl' })).toBe(false);
    expect(isQwen2VlConfig({ architectures: ['LlavaForConditionalGeneration'], model_type: 'llava' })).toBe(false);
    expect(() => parseQwen2VlConfig({ architectures: ['Qwen2_5_VLForConditionalGeneration'], model_type: 'qwen2_5_vl' }, 'ckpt/config.json')).toThrow(
      UnsupportedArchitectureError,
    );
    expect(() => parseQwen2VlConfig({ architectures: ['LlavaForConditionalGeneration'] }, 'ckpt/config.json')).toThrow(
      'ckpt/config.json describes LlavaForConditionalGeneration, not Qwen2VLForConditionalGeneration',
    );
  });

  it('names the missing or unusable field and the file', () => {
    const without = (key: string) => Object.fromEntries(Object.entries(released2b).filter(([k]) => k !== key));
    expect(() => parseQwen2VlConfig(without('hidden_size'), 'ckpt/config.json')).toThrow('ckpt/config.json has no hidden_size');
    expect(() => parseQwen2VlConfig(without('vision_config'), 'ckpt/config.json')).toThrow('ckpt/config.json has no vision_config');
    expect(() => parseQwen2VlConfig(without('rope_scaling'), 'ckpt/config.json')).toThrow('ckpt/config.json has no rope_scaling.mrope_section');
    const nestedWithout = nested(released2b);
    delete (nestedWithout.text_config as Record<string, unknown>).num_hidden_layers;
    expect(() => parseQwen2VlConfig(nestedWithout, 'ckpt/config.json')).toThrow('ckpt/config.json has no text_config.num_hidden_layers (nor num_hidden_layers)');
    expect(() => parseQwen2VlConfig({ ...released2b, vision_config: { ...(released2b.vision_config as object), depth: undefined } }, 'c.json')).toThrow(
      'c.json has no vision_config.depth',
    );
    expect(() => parseQwen2VlConfig({ ...released2b, num_attention_heads: 7 }, 'c.json')).toThrow(Qwen2VlConfigError);
    expect(() => parseQwen2VlConfig({ ...released2b, rope_scaling: { type: 'mrope', mrope_section: [16, 24, 20] } }, 'c.json')).toThrow(
      'mrope_section [16,24,20] must have 3 parts summing to head_dim / 2 = 64',
    );
    expect(() => parseQwen2VlConfig({ ...released2b, vision_config: { ...(released2b.vision_config as object), hidden_size: 3584 } }, 'c.json')).toThrow(
      "vision_config.hidden_size 3584 must equal the language model's hidden_size 1536",
    );
  });
});

describe('sink dims at conversion', () => {
  it('7B gets the published [458, 2570]; 2B has none (null, source none, backbone qwen2-1.5b) unless given', () => {
    expect(qwen2vlSinkSettings(3584, 28, undefined)).toEqual({ dims: [458, 2570], startLayer: 2, backbone: 'qwen2-7b', source: 'profile' });
    expect(qwen2vlSinkSettings(1536, 28, undefined)).toEqual({ dims: null, startLayer: 2, backbone: 'qwen2-1.5b', source: 'none' });
    expect(qwen2vlSinkSettings(1536, 28, [7, 99])).toEqual({ dims: [7, 99], startLayer: 2, backbone: 'qwen2-1.5b', source: 'user' });
    expect(qwen2vlSinkSettings(512, 6, undefined)).toEqual({ dims: null, startLayer: 2, backbone: null, source: 'none' });
    expect(() => qwen2vlSinkSettings(512, 6, [512])).toThrow('sink dim 512 is not an integer in [0, 512)');
  });
});

describe('parseQwen2VlImageSettings', () => {
  it('reads both preprocessor layouts and defaults to the processor defaults', () => {
    expect(parseQwen2VlImageSettings({ min_pixels: 3136, max_pixels: 12845056, patch_size: 14, temporal_patch_size: 2, merge_size: 2 })).toMatchObject({
      minPixels: 3136,
      maxPixels: 12845056,
    });
    expect(parseQwen2VlImageSettings({ size: { shortest_edge: 1000, longest_edge: 2000 } })).toMatchObject({ minPixels: 1000, maxPixels: 2000 });
    expect(parseQwen2VlImageSettings(undefined)).toMatchObject({ minPixels: 3136, maxPixels: 1003520, mergeSize: 2 });
    expect(() => parseQwen2VlImageSettings({ min_pixels: 5000, max_pixels: 4000 }, 'p.json')).toThrow('p.json: min_pixels 5000 is above max_pixels 4000');
    expect(() => parseQwen2VlImageSettings({ image_mean: [0.5, 0.5] }, 'p.json')).toThrow('p.json: image_mean must be three numbers');
  });
});
