import { describe, expect, it } from 'vitest';
import { resolveLlavaSinkDims } from './convert.js';
import { LlavaConfigError, UnsupportedCheckpointError } from './errors.js';
import { llavaTokensPerImage, parseLlavaConfig, visionLayersUsed } from './llava-config.js';
import { llavaFamily } from './llava-family.js';
import { LLAVA_HF_13B, LLAVA_HF_7B } from './__fixtures__/llava-hf-configs.js';

/** liuhaotian/llava-v1.5-7b config.json (original release, LLaMA fields at the top level). */
const ORIGINAL_7B = {
  _name_or_path: 'lmsys/vicuna-7b-v1.5',
  architectures: ['LlavaLlamaForCausalLM'],
  bos_token_id: 1,
  eos_token_id: 2,
  freeze_mm_mlp_adapter: false,
  hidden_act: 'silu',
  hidden_size: 4096,
  image_aspect_ratio: 'pad',
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 4096,
  mm_hidden_size: 1024,
  mm_projector_type: 'mlp2x_gelu',
  mm_use_im_patch_token: false,
  mm_use_im_start_end: false,
  mm_vision_select_feature: 'patch',
  mm_vision_select_layer: -2,
  mm_vision_tower: 'openai/clip-vit-large-patch14-336',
  model_type: 'llava_llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  pad_token_id: 0,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.31.0',
  use_cache: true,
  use_mm_proj: true,
  vocab_size: 32000,
};

/** openai/clip-vit-large-patch14-336 config.json (CLIPConfig), vision side. */
const CLIP_VIT_L_336 = {
  architectures: ['CLIPModel'],
  model_type: 'clip',
  projection_dim: 768,
  text_config: { hidden_size: 768, model_type: 'clip_text_model' },
  vision_config: {
    dropout: 0.0,
    hidden_act: 'quick_gelu',
    hidden_size: 1024,
    image_size: 336,
    intermediate_size: 4096,
    layer_norm_eps: 1e-5,
    model_type: 'clip_vision_model',
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
  },
};

const file = '/models/llava/config.json';

describe('parseLlavaConfig', () => {
  it('reads llava-hf 7B, filling the text config with LlamaConfig defaults', () => {
    const config = parseLlavaConfig(LLAVA_HF_7B, { file });
    expect(config.architecture).toBe('LlavaForConditionalGeneration');
    expect(config.text).toEqual({
      hiddenSize: 4096,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 32,
      headDim: 128,
      intermediateSize: 11008,
      vocabSize: 32064,
      rmsNormEps: 1e-5,
      rope: { type: 'default', theta: 10000 },
      attentionBias: false,
      tieWordEmbeddings: false,
    });
    expect(config.vision).toEqual({
      hiddenSize: 1024,
      numLayers: 24,
      numHeads: 16,
      intermediateSize: 4096,
      imageSize: 336,
      patchSize: 14,
      numChannels: 3,
      layerNormEps: 1e-5,
      hiddenAct: 'quick_gelu',
    });
    expect(config.projector).toEqual({ linearLayers: 2, activation: 'gelu', bias: true });
    expect(config).toMatchObject({ visionFeatureLayer: -2, visionFeatureSelectStrategy: 'default', imageTokenId: 32000, bosTokenId: 1, eosTokenIds: [2] });
    expect(visionLayersUsed(config)).toBe(23);
    expect(llavaTokensPerImage(config)).toBe(576);
    expect(resolveLlavaSinkDims(config)).toEqual({ dims: [1415, 2533], startLayer: 2, backbone: 'llama-2-7b', source: 'profile' });
  });

  it('reads llava-hf 13B and finds its sink dimensions', () => {
    const config = parseLlavaConfig(LLAVA_HF_13B, { file });
    expect(config.text).toMatchObject({ hiddenSize: 5120, numLayers: 40, numHeads: 40, headDim: 128, intermediateSize: 13824 });
    expect(resolveLlavaSinkDims(config)).toEqual({ dims: [2100, 4743], startLayer: 2, backbone: 'llama-2-13b', source: 'profile' });
    expect(resolveLlavaSinkDims(config, [7, 9])).toEqual({ dims: [7, 9], startLayer: 2, backbone: 'llama-2-13b', source: 'user' });
  });

  it('fills absent configs as transformers does: LlamaConfig(), ViT-L/14-336 without vision_config, CLIPVisionConfig() fields inside one', () => {
    // (the top-level vocab_size of older llava-hf configs stands in for text_config's)
    const bare = parseLlavaConfig({ architectures: ['LlavaForConditionalGeneration'], vocab_size: 32064 }, { file });
    expect(bare.text).toMatchObject({ hiddenSize: 4096, numLayers: 32, intermediateSize: 11008, vocabSize: 32064, rmsNormEps: 1e-6 });
    expect(() => parseLlavaConfig({ architectures: ['LlavaForConditionalGeneration'] }, { file })).toThrow(
      `${file}: image_token_index 32000 is outside the vocabulary (0 … 31999)`,
    );
    expect(bare.vision).toMatchObject({ hiddenSize: 1024, numLayers: 24, numHeads: 16, imageSize: 336, patchSize: 14, hiddenAct: 'quick_gelu' });
    const partial = parseLlavaConfig({ model_type: 'llava', vision_config: { image_size: 224 }, text_config: { vocab_size: 32064 } }, { file });
    expect(partial.architecture).toBe('LlavaForConditionalGeneration');
    expect(partial.vision).toMatchObject({ hiddenSize: 768, numLayers: 12, imageSize: 224, patchSize: 32 });
    expect(resolveLlavaSinkDims(parseLlavaConfig({ ...LLAVA_HF_7B, text_config: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8 } }, { file }))).toEqual({
      dims: null,
      startLayer: 2,
      backbone: null,
      source: 'none',
    });
  });

  it('reads the original release with its CLIP config, or knows ViT-L/14-336 by name', () => {
    const config = parseLlavaConfig(ORIGINAL_7B, { file, visionTowerConfig: { json: CLIP_VIT_L_336, file: '/models/clip/config.json' } });
    expect(config).toMatchObject({
      architecture: 'LlavaLlamaForCausalLM',
      text: { hiddenSize: 4096, numLayers: 32, vocabSize: 32000, rmsNormEps: 1e-5 },
      vision: { hiddenSize: 1024, numLayers: 24, imageSize: 336, patchSize: 14 },
      projector: { linearLayers: 2, activation: 'gelu', bias: true },
      visionFeatureLayer: -2,
      visionFeatureSelectStrategy: 'default',
      imageTokenId: undefined,
      visionTowerName: 'openai/clip-vit-large-patch14-336',
    });
    expect(parseLlavaConfig(ORIGINAL_7B, { file }).vision).toEqual(config.vision);
    expect(resolveLlavaSinkDims(config).dims).toEqual([1415, 2533]);
    const linear = parseLlavaConfig({ ...ORIGINAL_7B, mm_projector_type: 'linear', mm_vision_select_feature: 'cls_patch' }, { file });
    expect(linear.projector.linearLayers).toBe(1);
    expect(llavaTokensPerImage(linear)).toBe(577);
  });

  it('names the file and field of every invalid or missing value', () => {
    const bad = (json: Record<string, unknown>, options = { file }) => () => parseLlavaConfig(json, options);
    expect(bad({ ...LLAVA_HF_7B, text_config: { hidden_size: 4095 } })).toThrow(`${file}: text_config.hidden_size 4095 is not a multiple of num_attention_heads 32`);
    expect(bad({ ...LLAVA_HF_7B, text_config: { rms_norm_eps: -1 } })).toThrow(`${file}: text_config.rms_norm_eps must be a positive number, got -1`);
    expect(bad({ ...LLAVA_HF_7B, text_config: { rope_scaling: { type: 'linear', factor: 2 } } })).toThrow(LlavaConfigError);
    expect(bad({ ...LLAVA_HF_7B, vision_feature_layer: -26 })).toThrow(`${file}: vision_feature_layer -26 does not name a hidden state of a 24-layer vision tower`);
    expect(bad({ ...LLAVA_HF_7B, vision_feature_layer: [-2, -5] })).toThrow(UnsupportedCheckpointError);
    expect(bad({ ...LLAVA_HF_7B, vision_feature_select_strategy: 'cls' })).toThrow(`${file}: vision_feature_select_strategy must be one of "default", "full", got "cls"`);
    expect(bad({ ...LLAVA_HF_7B, projector_hidden_act: 'relu' })).toThrow('projector_hidden_act must be one of');
    expect(bad({ ...LLAVA_HF_7B, vision_config: { ...LLAVA_HF_7B.vision_config, num_channels: 1 } })).toThrow('vision_config.num_channels is 1');
    expect(bad({ ...LLAVA_HF_7B, vasink: { sink_dims: [] } })).toThrow(`${file}: vasink.sink_dims must be a non-empty list`);
    const { mm_vision_select_layer: _, ...noLayer } = ORIGINAL_7B;
    expect(bad(noLayer)).toThrow(`${file} has no mm_vision_select_layer (expected an integer)`);
    expect(bad({ ...ORIGINAL_7B, mm_hidden_size: 768 })).toThrow('mm_hidden_size 768 differs from the vision tower');
    expect(bad({ ...ORIGINAL_7B, mm_projector_type: 'qformer' })).toThrow(UnsupportedCheckpointError);
    expect(bad({ ...ORIGINAL_7B, mm_vision_tower: 'someone/unknown-clip' })).toThrow(/has no config here; give the CLIP checkpoint directory/);
    expect(bad({ architectures: ['Qwen2VLForConditionalGeneration'], model_type: 'qwen2_vl' })).toThrow(UnsupportedCheckpointError);
  });
});

describe('llavaFamily.matches', () => {
  it('accepts llava-hf and original LLaVA-1.5 configs, nothing else', () => {
    expect(llavaFamily.matches(LLAVA_HF_7B)).toBe(true);
    expect(llavaFamily.matches(ORIGINAL_7B)).toBe(true);
    expect(llavaFamily.matches({ model_type: 'llava' })).toBe(true);
    expect(llavaFamily.matches({ model_type: 'llava_llama' })).toBe(true);
    expect(llavaFamily.matches({ architectures: ['LlavaNextForConditionalGeneration'], model_type: 'llava_next' })).toBe(false);
    expect(llavaFamily.matches({ architectures: ['Qwen2VLForConditionalGeneration'], model_type: 'qwen2_vl' })).toBe(false);
    expect(llavaFamily.matches({})).toBe(false);
  });
});
