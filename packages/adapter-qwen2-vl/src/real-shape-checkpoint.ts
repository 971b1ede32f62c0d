import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { type CheckpointWriteProgress, type GeneratedTensor, INDEX_FILE_NAME, randomTensor, writeGeneratedCheckpoint } from '@vasink/safetensors';
import { InvalidArgumentError } from '@vasink/tensor';
import type { DecoderConfig } from '@vasink/transformer-graph';
import { decoderNaming, visionNaming } from './checkpoint-layout.js';
import { QWEN2_VL_TOKENS, type Qwen2VlConfig, parseQwen2VlConfig } from './qwen2vl-config.js';
import { QWEN2_VL_CHAT_TEMPLATE, writeQwen2VlTokenizer } from './tiny-checkpoint.js';

/** Released Qwen2-VL checkpoints a real-shape fixture can copy: Qwen/Qwen2-VL-2B-Instruct and -7B-Instruct. */
export type RealShapeQwen2VlSize = '2b' | '7b';

/** The sizes, in order. */
export const REAL_SHAPE_QWEN2_VL_SIZES: readonly RealShapeQwen2VlSize[] = ['2b', '7b'];

type Json = Record<string, unknown>;

/** Qwen/Qwen2-VL-2B-Instruct's config.json as released (text fields at the top level). */
const QWEN2_VL_2B_CONFIG: Json = {
  architectures: ['Qwen2VLForConditionalGeneration'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  vision_token_id: 151654,
  image_token_id: 151655,
  video_token_id: 151656,
  hidden_act: 'silu',
  hidden_size: 1536,
  initializer_range: 0.02,
  intermediate_size: 8960,
  max_position_embeddings: 32768,
  max_window_layers: 28,
  model_type: 'qwen2_vl',
  num_attention_heads: 12,
  num_hidden_layers: 28,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.41.2',
  use_cache: true,
  use_sliding_window: false,
  vision_config: {
    depth: 32,
    embed_dim: 1280,
    mlp_ratio: 4,
    num_heads: 16,
    in_chans: 3,
    hidden_size: 1536,
    patch_size: 14,
    spatial_merge_size: 2,
    spatial_patch_size: 14,
    temporal_patch_size: 2,
  },
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  vocab_size: 151936,
};

/** Qwen/Qwen2-VL-7B-Instruct: Qwen2-7B's sizes, an untied LM head, the same vision tower with a 3584-wide merger. */
const QWEN2_VL_7B_CONFIG: Json = {
  ...QWEN2_VL_2B_CONFIG,
  hidden_size: 3584,
  intermediate_size: 18944,
  num_attention_heads: 28,
  num_key_value_heads: 4,
  tie_word_embeddings: false,
  vision_config: { ...(QWEN2_VL_2B_CONFIG.vision_config as Json), hidden_size: 3584 },
  vocab_size: 152064,
};

interface SizeSpec {
  readonly repo: string;
  readonly config: Json;
  /** [the first token's massive-activation dim, the visual sinks' dim]. */
  readonly sinkDims: readonly [number, number];
  /** True when `@vasink/sink-detect` has a profile for the full model (then config.json does not name the dims). */
  readonly profiled: boolean;
}

const SIZES: Readonly<Record<RealShapeQwen2VlSize, SizeSpec>> = {
  // Qwen2-1.5B has no published sink dims: these are chosen here and recorded in config.json.
  '2b': { repo: 'Qwen/Qwen2-VL-2B-Instruct', config: QWEN2_VL_2B_CONFIG, sinkDims: [458, 1101], profiled: false },
  '7b': { repo: 'Qwen/Qwen2-VL-7B-Instruct', config: QWEN2_VL_7B_CONFIG, sinkDims: [458, 2570], profiled: true },
};

/** The released checkpoint each real-shape size copies. */
export const REAL_SHAPE_QWEN2_VL_REPOS: Readonly<Record<RealShapeQwen2VlSize, string>> = { '2b': SIZES['2b'].repo, '7b': SIZES['7b'].repo };

/**
 * The released checkpoints' shard size: Qwen saved with `max_shard_size="4GB"`
 * (4 · 10⁹ bytes), which gives their 2 (2B) and 5 (7B) shards.
 */
export const QWEN2_VL_MAX_SHARD_BYTES = 4_000_000_000;

/** The released preprocessor_config.json. */
const PREPROCESSOR_CONFIG: Json = {
  min_pixels: 3136,
  max_pixels: 12845056,
  patch_size: 14,
  temporal_patch_size: 2,
  merge_size: 2,
  image_mean: [...CLIP_MEAN],
  image_std: [...CLIP_STD],
  image_processor_type: 'Qwen2VLImageProcessor',
  processor_class: 'Qwen2VLProcessor',
};

const GENERATION_CONFIG: Json = {
  bos_token_id: QWEN2_VL_TOKENS.endOfText,
  pad_token_id: QWEN2_VL_TOKENS.endOfText,
  do_sample: true,
  eos_token_id: [QWEN2_VL_TOKENS.imEnd, QWEN2_VL_TOKENS.endOfText],
  repetition_penalty: 1.05,
  temperature: 0.1,
  top_k: 1,
  top_p: 0.001,
  transformers_version: '4.41.2',
};

export interface RealShapeQwen2VlCheckpointOptions {
  size: RealShapeQwen2VlSize;
  /** Seed of the random weights (default 1); each tensor draws from its own stream, so a tensor's values do not depend on `layers`. */
  seed?: number;
  /**
   * Write only the first N decoder layers and N vision blocks (config.json
   * says N), everything else at the real shapes. Default: all of them.
   */
  layers?: number;
  /** Shard size in bytes (default 4 GB, as released); smaller values let tests exercise the index with few layers. */
  maxShardBytes?: number;
  /** Called per block of about 16 MiB written and per tensor. */
  onProgress?: (progress: CheckpointWriteProgress) => void;
}

/** What was written. */
export interface RealShapeQwen2VlCheckpoint {
  readonly dir: string;
  readonly size: RealShapeQwen2VlSize;
  /** The checkpoint it copies. */
  readonly repo: string;
  readonly config: Qwen2VlConfig;
  /** [the first token's massive-activation dim (on `<|im_start|>`), the visual sinks' dim (bright merge windows)]. */
  readonly sinkDims: readonly [number, number];
  /** Shard files, then the index when there is one. */
  readonly files: readonly string[];
  /** Bytes of tensor data (the index's `total_size`). */
  readonly totalBytes: number;
}

const MASSIVE = 100;
/** Std of every weight that reads a normalised input: the released config's initializer_range. */
const READ_STD = 0.02;
/** Std of what one attention or MLP block adds to the residual stream. */
const UPDATE_STD = 0.1;
/** RMS of silu(g)·u, quick_gelu(x) or gelu(x) relative to the input std (≈ 0.55–0.68 here). */
const ACTIVATION_RMS = 0.6;
/** Std of the image tokens' embeddings (the merger's output). */
const IMAGE_TOKEN_STD = 0.5;
/** Vision dim 0 carries the patch's brightness: BRIGHTNESS_SCALE × (mean normalised pixel − BRIGHT_LEVEL). */
const BRIGHTNESS_SCALE = 100;
const BRIGHT_LEVEL = 1;
/** Merger unit 0 = sum of the window's four normalised brightness values − threshold: > 0 when all four are bright. */
const WINDOW_THRESHOLD = 110;
/**
 * What ln_q leaves of the other dims relative to unit RMS: the brightness dim
 * (|x₀| ≈ 100) dominates every patch's variance, so the rest comes out at
 * ≈ √e · 0.8 / 100 ≈ 0.3, and GELU halves it again (measured: 0.15).
 */
const MERGER_INPUT_SQUASH = 0.15;

const writeStd = (target: number, fanIn: number, inputRms: number) => target / (Math.sqrt(fanIn) * inputRms);

/** config.json of a real-shape fixture: the released one, with the layer counts of `layers` and the vasink extension. */
export function realShapeQwen2VlConfigJson(options: { size: RealShapeQwen2VlSize; layers?: number }): Json {
  const spec = sizeSpec(options.size);
  const full = parseQwen2VlConfig(spec.config, `${spec.repo}/config.json`);
  const layers = checkLayers(options.layers, full);
  const config: Json = structuredClone(spec.config);
  if (layers !== undefined) {
    config.num_hidden_layers = layers;
    (config.vision_config as Json).depth = layers;
  }
  config.vasink = {
    // The Qwen2-7B profile names the 7B's dims for the full model; the 2B and shortened models need them here.
    ...(spec.profiled && layers === undefined ? {} : { sink_dims: [...spec.sinkDims] }),
    planted_sink_dims: [...spec.sinkDims],
    note: `random weights in the exact layout of ${spec.repo}, written by @vasink/adapter-qwen2-vl: massive activations planted on <|im_start|> (first sink dim) and on image tokens of bright 28x28 windows (second)`,
  };
  return config;
}

/**
 * The tensors of a real-shape Qwen2-VL checkpoint in `state_dict` order
 * (vision tower, language model, LM head when untied — the order
 * `save_pretrained` shards them in), released names, bfloat16:
 *
 * - weights that read a normalised input ~ N(0, 0.02²), norms 1, LayerNorm
 *   biases 0; weights that write the residual stream scaled so a block adds
 *   std ≈ 0.1;
 * - `<|im_start|>`'s embedding row holds 100 in `sinkDims[0]` (so the first
 *   token of every chat prompt — and each later `<|im_start|>` — is a sink);
 *   no attention or MLP output writes either sink dim and the final norm
 *   ignores them;
 * - vision dim 0 carries each patch's brightness (a constant patch-embedding
 *   row, offset by block 0's projection bias), which no block reads or
 *   writes; merger unit 0 fires when the four patches of a merge window are
 *   all bright (e.g. white) and writes ≈ 100 into `sinkDims[1]` of that
 *   image token.
 */
export function realShapeQwen2VlTensors(options: { size: RealShapeQwen2VlSize; layers?: number; seed?: number }): GeneratedTensor[] {
  const spec = sizeSpec(options.size);
  const config = parseQwen2VlConfig(realShapeQwen2VlConfigJson(options), `${spec.repo}/config.json`);
  const seed = options.seed ?? 1;
  const { text, vision } = config;
  const visionName = visionNaming('legacy');
  const tensors: GeneratedTensor[] = [];
  const add = (name: string, shape: readonly number[], fill: Parameters<typeof randomTensor>[1] | number) =>
    tensors.push(randomTensor({ name, dtype: 'bfloat16', shape }, typeof fill === 'number' ? { seed, std: fill } : { ...fill, seed }));
  const constant = (value: number, zeroRows: readonly number[] = []) => ({ seed, std: 0, mean: value, zeroRows });

  // Vision tower: Qwen2VLVisionBlock registers norm1, norm2, attn (qkv, proj), mlp (fc1, fc2).
  const e = vision.embedDim;
  const m = vision.mlpHiddenSize;
  const columns = vision.inChannels * vision.temporalPatchSize * vision.patchSize * vision.patchSize;
  const v = (n: string) => visionName(n);
  add(v('patch_embed.proj.weight'), [e, vision.inChannels, vision.temporalPatchSize, vision.patchSize, vision.patchSize], {
    seed,
    std: READ_STD,
    zeroRows: [0],
    entries: Array.from({ length: columns }, (_, c) => [0, c, BRIGHTNESS_SCALE / columns] as const),
  });
  const visionRead = { seed, std: READ_STD, zeroColumns: [0] };
  const attentionWrite = writeStd(UPDATE_STD, e, READ_STD * Math.sqrt(e));
  const mlpWrite = writeStd(UPDATE_STD, m, ACTIVATION_RMS * READ_STD * Math.sqrt(e));
  for (let b = 0; b < vision.depth; b++) {
    const p = (n: string) => v(`blocks.${b}.${n}`);
    for (const norm of ['norm1', 'norm2']) {
      add(p(`${norm}.weight`), [e], constant(1));
      add(p(`${norm}.bias`), [e], constant(0));
    }
    add(p('attn.qkv.weight'), [3 * e, e], visionRead);
    add(p('attn.qkv.bias'), [3 * e], READ_STD);
    add(p('attn.proj.weight'), [e, e], { seed, std: attentionWrite, zeroRows: [0] });
    // Block 0 shifts the brightness so that "bright" (mean normalised pixel above BRIGHT_LEVEL) is positive.
    add(p('attn.proj.bias'), [e], { seed, std: attentionWrite, zeroRows: [0], entries: b === 0 ? [[0, 0, -BRIGHTNESS_SCALE * BRIGHT_LEVEL]] : [] });
    add(p('mlp.fc1.weight'), [m, e], visionRead);
    add(p('mlp.fc1.bias'), [m], READ_STD);
    add(p('mlp.fc2.weight'), [e, m], { seed, std: mlpWrite, zeroRows: [0] });
    add(p('mlp.fc2.bias'), [e], { seed, std: mlpWrite, zeroRows: [0] });
  }
  tensors.push(
    ...realShapeQwenMergerTensors({ ...vision, textHiddenSize: text.hiddenSize, seed, sinkDims: spec.sinkDims, whiteUnit: whiteWindowUnit(vision), layerNormBias: true }),
    ...realShapeQwen2LanguageTensors(text, { seed, sinkDims: spec.sinkDims }),
  );
  return tensors;
}

/**
 * Merger unit 0 for a window of four white patches. Each patch's brightness
 * after ln_q is x₀ / σ with σ² = (x₀² + (e − 1)·r²) / e, where r is the RMS
 * of the other dims: the random patch-embedding rows summed over a uniform
 * white patch (0.02 · √columns · white ≈ 1.4); block updates add little
 * (their inputs are squashed by the brightness dim, ≈ 0.04 per block).
 */
function whiteWindowUnit(vision: Qwen2VlConfig['vision']): number {
  const columns = vision.inChannels * vision.temporalPatchSize * vision.patchSize * vision.patchSize;
  const white = [0, 1, 2].reduce((sum, c) => sum + (1 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number), 0) / 3;
  const x0 = BRIGHTNESS_SCALE * (white - BRIGHT_LEVEL);
  const r2 = (READ_STD * Math.sqrt(columns) * white) ** 2 + 2 * vision.depth * 0.04 ** 2;
  const e = vision.embedDim;
  return 4 * (x0 / Math.sqrt((x0 * x0 + (e - 1) * r2) / e)) - WINDOW_THRESHOLD;
}

/**
 * The merger's tensors of a real-shape Qwen2-VL-style checkpoint (released
 * `visual.merger.*` names, bfloat16): `ln_q` (weight 1, a zero bias for
 * LayerNorm), `mlp.0` whose unit 0 sums the four patches' brightness (vision
 * dim 0) minus a threshold, `mlp.2` writing ≈ 100 into `sinkDims[1]` from
 * that unit (`whiteUnit`: the unit's value on a white merge window, from the
 * tower's own analysis) and never the sink dims otherwise. Shared with Qwen2.5-VL.
 */
export function realShapeQwenMergerTensors(options: {
  embedDim: number;
  spatialMergeSize: number;
  textHiddenSize: number;
  seed: number;
  sinkDims: readonly [number, number];
  whiteUnit: number;
  layerNormBias: boolean;
}): GeneratedTensor[] {
  const { seed, sinkDims } = options;
  const v = visionNaming('legacy');
  const sinkRows = [...sinkDims];
  const tensors: GeneratedTensor[] = [];
  const add = (name: string, shape: readonly number[], fill: Parameters<typeof randomTensor>[1]) => tensors.push(randomTensor({ name, dtype: 'bfloat16', shape }, { ...fill, seed }));
  const e = options.embedDim;
  const merge = options.spatialMergeSize ** 2;
  const merged = e * merge;
  const brightnessColumns = Array.from({ length: merge }, (_, k) => k * e);
  add(v('merger.ln_q.weight'), [e], { seed, std: 0, mean: 1 });
  if (options.layerNormBias) add(v('merger.ln_q.bias'), [e], { seed, std: 0, mean: 0 });
  add(v('merger.mlp.0.weight'), [merged, merged], {
    seed,
    std: READ_STD,
    zeroRows: [0],
    zeroColumns: brightnessColumns,
    entries: brightnessColumns.map((c) => [0, c, 1] as const),
  });
  add(v('merger.mlp.0.bias'), [merged], { seed, std: READ_STD, entries: [[0, 0, -WINDOW_THRESHOLD]] });
  const d = options.textHiddenSize;
  const mergerWrite = writeStd(IMAGE_TOKEN_STD, merged, ACTIVATION_RMS * READ_STD * Math.sqrt(merged) * MERGER_INPUT_SQUASH);
  add(v('merger.mlp.2.weight'), [d, merged], {
    seed,
    std: mergerWrite,
    zeroRows: sinkRows,
    zeroColumns: [0],
    entries: [[sinkDims[1], 0, MASSIVE / options.whiteUnit]],
  });
  add(v('merger.mlp.2.bias'), [d], { seed, std: mergerWrite, zeroRows: sinkRows });
  return tensors;
}

/**
 * The language model's tensors of a real-shape Qwen2-VL-style checkpoint
 * (released names, bfloat16, `Qwen2VLDecoderLayer` order: q, k, v with bias,
 * o, gate, up, down, the norms): reads ~ N(0, 0.02²), writes scaled so a block
 * adds std ≈ 0.1 and never touch the sink dims; `<|im_start|>`'s embedding row
 * holds 100 in `sinkDims[0]`; the final norm ignores the sink dims; an LM head
 * unless tied. Shared with Qwen2.5-VL.
 */
export function realShapeQwen2LanguageTensors(text: DecoderConfig, options: { seed: number; sinkDims: readonly [number, number] }): GeneratedTensor[] {
  const { seed } = options;
  const [firstSink] = options.sinkDims;
  const sinkRows = [...options.sinkDims];
  const textName = decoderNaming('legacy');
  const tensors: GeneratedTensor[] = [];
  const add = (name: string, shape: readonly number[], fill: Parameters<typeof randomTensor>[1] | number) =>
    tensors.push(randomTensor({ name, dtype: 'bfloat16', shape }, typeof fill === 'number' ? { seed, std: fill } : { ...fill, seed }));
  const constant = (value: number, zeroRows: readonly number[] = []) => ({ seed, std: 0, mean: value, zeroRows });
  const d = text.hiddenSize;
  // The language model: Qwen2VLDecoderLayer registers self_attn (q, k, v with bias, o), mlp (gate, up, down), then the norms.
  const kvDim = text.numKvHeads * text.headDim;
  const qDim = text.numHeads * text.headDim;
  const readRms = READ_STD * Math.sqrt(d);
  const oWrite = writeStd(UPDATE_STD, qDim, readRms);
  const downWrite = writeStd(UPDATE_STD, text.intermediateSize, ACTIVATION_RMS * readRms * readRms);
  add(textName('embed_tokens.weight'), [text.vocabSize, d], { seed, std: READ_STD, entries: [[QWEN2_VL_TOKENS.imStart, firstSink, MASSIVE]] });
  for (let l = 0; l < text.numLayers; l++) {
    const p = (n: string) => textName(`layers.${l}.${n}`);
    add(p('self_attn.q_proj.weight'), [qDim, d], READ_STD);
    add(p('self_attn.q_proj.bias'), [qDim], READ_STD);
    add(p('self_attn.k_proj.weight'), [kvDim, d], READ_STD);
    add(p('self_attn.k_proj.bias'), [kvDim], READ_STD);
    add(p('self_attn.v_proj.weight'), [kvDim, d], READ_STD);
    add(p('self_attn.v_proj.bias'), [kvDim], READ_STD);
    add(p('self_attn.o_proj.weight'), [d, qDim], { seed, std: oWrite, zeroRows: sinkRows });
    add(p('mlp.gate_proj.weight'), [text.intermediateSize, d], READ_STD);
    add(p('mlp.up_proj.weight'), [text.intermediateSize, d], READ_STD);
    add(p('mlp.down_proj.weight'), [d, text.intermediateSize], { seed, std: downWrite, zeroRows: sinkRows });
    add(p('input_layernorm.weight'), [d], constant(1));
    add(p('post_attention_layernorm.weight'), [d], constant(1));
  }
  // The LM head (tied to the embedding in the 2B) never sees the sink dims.
  add(textName('norm.weight'), [d], constant(1, sinkRows));
  if (!text.tieWordEmbeddings) add(textName('lm_head.weight'), [text.vocabSize, d], READ_STD);
  return tensors;
}

/**
 * Write a Qwen2-VL checkpoint with the exact files, tensor names, shapes,
 * dtype (bfloat16) and sharding of Qwen/Qwen2-VL-2B-Instruct or
 * -7B-Instruct — config.json as released, `model-0000k-of-0000n.safetensors`
 * split as `save_pretrained(max_shard_size="4GB")` splits them (2 shards for
 * 2B, 5 for 7B) plus `model.safetensors.index.json`, preprocessor_config.json
 * (min/max pixels 3136 / 12845056), generation_config.json, the Qwen2
 * tokenizer with Qwen2-VL's chat template — and random weights with planted
 * sinks (see {@link realShapeQwen2VlTensors}). Streaming: each tensor is
 * generated, written and dropped in blocks (4.4 GB on disk for 2B, 16.6 GB
 * for 7B; memory far below 1 GiB).
 */
export async function writeRealShapeQwen2VlCheckpoint(dir: string, options: RealShapeQwen2VlCheckpointOptions): Promise<RealShapeQwen2VlCheckpoint> {
  const spec = sizeSpec(options.size);
  const configJson = realShapeQwen2VlConfigJson(options);
  const config = parseQwen2VlConfig(configJson, join(dir, 'config.json'));
  await mkdir(dir, { recursive: true });
  const layout = await writeGeneratedCheckpoint(dir, realShapeQwen2VlTensors(options), {
    maxShardBytes: options.maxShardBytes ?? QWEN2_VL_MAX_SHARD_BYTES,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await writeJson(join(dir, 'config.json'), configJson);
  await writeJson(join(dir, 'generation_config.json'), GENERATION_CONFIG);
  await writeJson(join(dir, 'preprocessor_config.json'), PREPROCESSOR_CONFIG);
  await writeJson(join(dir, 'chat_template.json'), { chat_template: QWEN2_VL_CHAT_TEMPLATE });
  await writeQwen2VlTokenizer(dir);
  return {
    dir,
    size: options.size,
    repo: spec.repo,
    config,
    sinkDims: spec.sinkDims,
    files: [...layout.files, ...(layout.indexFile ? [INDEX_FILE_NAME] : [])],
    totalBytes: layout.totalSize,
  };
}

function sizeSpec(size: RealShapeQwen2VlSize): SizeSpec {
  const spec = (SIZES as Record<string, SizeSpec | undefined>)[size];
  if (!spec) throw new InvalidArgumentError(`unknown real-shape Qwen2-VL size ${JSON.stringify(size)}: use ${REAL_SHAPE_QWEN2_VL_SIZES.join(' or ')}`, { size });
  return spec;
}

function checkLayers(layers: number | undefined, full: Qwen2VlConfig): number | undefined {
  if (layers === undefined) return undefined;
  const most = Math.min(full.text.numLayers, full.vision.depth);
  if (!Number.isInteger(layers) || layers < 1 || layers > most) {
    throw new InvalidArgumentError(`layers must be an integer from 1 to ${most} (the released model's layer count), got ${String(layers)}`, { layers });
  }
  return layers;
}

const writeJson = (path: string, json: unknown) => writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
