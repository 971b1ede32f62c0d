// Fuzz: hostile config.json values in the released Qwen2-VL-2B-Instruct config parse, within the size
// limits, or fail with one error whose fault is the input.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exposureOf } from '@vasink/tensor';
import { fuzzConfigFields } from '@vasink/test-utils';
import { DECODER_CONFIG_LIMITS } from '@vasink/transformer-graph';
import { type Qwen2VlConfig, parseQwen2VlConfig } from './qwen2vl-config.js';

const RELEASED = JSON.parse(readFileSync(new URL('./__fixtures__/qwen2-vl-2b-instruct.config.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('Qwen2-VL config.json under fuzzing', () => {
  it('random values in random fields: a config within the size limits, or one input error', () => {
    fuzzConfigFields({
      base: RELEASED,
      sections: ['', 'vision_config', 'rope_scaling'],
      keys: ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'vocab_size', 'rms_norm_eps', 'rope_theta', 'embed_dim', 'depth', 'num_heads', 'mlp_ratio', 'spatial_merge_size', 'temporal_patch_size', 'in_chans', 'patch_size', 'mrope_section', 'type', 'max_position_embeddings', 'tie_word_embeddings', 'architectures', 'vision_config', 'rope_scaling', 'eos_token_id'],
      parse: (config) => parseQwen2VlConfig(config),
      check: (parsed) => {
        for (const [name, limit] of Object.entries(DECODER_CONFIG_LIMITS)) expect((parsed as Qwen2VlConfig).text[name as keyof typeof DECODER_CONFIG_LIMITS]).toBeLessThanOrEqual(limit);
      },
      isInputError: (error) => exposureOf(error) === 'input',
      runs: 400,
    });
  });
});
