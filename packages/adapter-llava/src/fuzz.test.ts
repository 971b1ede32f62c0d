// Fuzz: hostile config.json values in the released llava-1.5-7b-hf config parse, within the size limits,
// or fail with one error whose fault is the input.
import { describe, expect, it } from 'vitest';
import { exposureOf } from '@vasink/tensor';
import { fuzzConfigFields } from '@vasink/test-utils';
import { DECODER_CONFIG_LIMITS } from '@vasink/transformer-graph';
import { LLAVA_HF_7B } from './__fixtures__/llava-hf-configs.js';
import { type LlavaConfig, parseLlavaConfig } from './llava-config.js';

describe('LLaVA config.json under fuzzing', () => {
  it('random values in random fields: a config within the size limits, or one input error', () => {
    fuzzConfigFields({
      base: LLAVA_HF_7B,
      sections: ['', 'text_config', 'vision_config'],
      keys: ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'vocab_size', 'image_size', 'patch_size', 'head_dim', 'rms_norm_eps', 'rope_theta', 'hidden_act', 'projector_hidden_act', 'vision_feature_layer', 'vision_feature_select_strategy', 'image_token_index', 'eos_token_id', 'architectures', 'text_config', 'vision_config', 'layer_norm_eps', 'tie_word_embeddings'],
      parse: (config) => parseLlavaConfig(config, { file: 'config.json' }),
      check: (parsed) => {
        for (const [name, limit] of Object.entries(DECODER_CONFIG_LIMITS)) expect((parsed as LlavaConfig).text[name as keyof typeof DECODER_CONFIG_LIMITS]).toBeLessThanOrEqual(limit);
      },
      isInputError: (error) => exposureOf(error) === 'input',
      runs: 400,
    });
  });
});
