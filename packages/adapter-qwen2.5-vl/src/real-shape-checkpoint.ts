import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  QWEN2_VL_CHAT_TEMPLATE,
  QWEN2_VL_MAX_SHARD_BYTES,
  QWEN2_VL_TOKENS,
  realShapeQwen2LanguageTensors,
  realShapeQwenMergerTensors,
  visionNaming,
  writeQwen2VlTokenizer,
} from '@vasink/adapter-qwen2-vl';
import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { type CheckpointWriteProgress, type GeneratedTensor, INDEX_FILE_NAME, randomTensor, writeGeneratedCheckpoint } from '@vasink/safetensors';
import { InvalidArgumentError } from '@vasink/tensor';
import { type Qwen25VlConfig, type Qwen25VlVisionConfig, parseQwen25VlConfig } from './config.js';

/** Released Qwen2.5-VL checkpoints a real-shape fixture can copy: Qwen/Qwen2.5-VL-3B-Instruct and -7B-Instruct. */
export type RealShapeQwen25VlSize = '3b' | '7b';

/** The sizes, in order. */
export const REAL_SHAPE_QWEN2_5_VL_SIZES: readonly RealShapeQwen25VlSize[] = ['3b', '7b'];

type Json = Record<string, unknown>;

/** Qwen/Qwen2.5-VL-3B-Instruct's config.json as released (text fields at the top level, Qwen2.5-3B's sizes, tied embeddings). */
const QWEN2_5_VL_3B_CONFIG: Json = {
  architectures: ['Qwen2_5_VLForConditionalGeneration'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  vision_token_id: 151654,
  image_token_id: 151655,
  video_token_id: 151656,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 128000,
  max_window_layers: 70,
  model_type: 'qwen2_5_vl',
  num_attention_heads: 16,
  num_hidden_layers: 36,
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
    hidden_act: 'silu',
    hidden_size: 1280,
    intermediate_size: 3420,
    num_heads: 16,
    in_chans: 3,
    out_hidden_size: 2048,
    patch_size: 14,
    spatial_merge_size: 2,
    spatial_patch_size: 14,
    window_size: 112,
    fullatt_block_indexes: [7, 15, 23, 31],
    tokens_per_second: 2,
    temporal_patch_size: 2,
  },
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  vocab_size: 151936,
};

/**
 * Qwen/Qwen2.5-VL-7B-Instruct: Qwen2.5-7B's sizes (its `max_window_layers`
 * 28), an untied LM head, the same vision tower with a 3584-wide merger.
 */
const QWEN2_5_VL_7B_CONFIG: Json = {
  ...QWEN2_5_VL_3B_CONFIG,
  hidden_size: 3584,
  intermediate_size: 18944,
  max_window_layers: 28,
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  tie_word_embeddings: false,
  vision_config: { ...(QWEN2_5_VL_3B_CONFIG.vision_config as Json), out_hidden_size: 3584 },
  vocab_size: 152064,
};

interface SizeSpec {
  readonly repo: string;
  readonly config: Json;
  /** [the first token's massive-activation dim, the visual sinks' dim]. */
  readonly sinkDims: readonly [number, number];
}

const SIZES: Readonly<Record<RealShapeQwen25VlSize, SizeSpec>> = {
  // Qwen2.5-3B and -7B have no published sink dims: these are chosen here (unlike
  // Qwen2-VL's 458 / 1101 / 2570, so a fixture of one family is not mistaken for
  // the other's) and recorded in config.json as vasink.planted_sink_dims.
  '3b': { repo: 'Qwen/Qwen2.5-VL-3B-Instruct', config: QWEN2_5_VL_3B_CONFIG, sinkDims: [614, 1789] },
  '7b': { repo: 'Qwen/Qwen2.5-VL-7B-Instruct', config: QWEN2_5_VL_7B_CONFIG, sinkDims: [1162, 3051] },
};

/** The released checkpoint each real-shape size copies. */
export const REAL_SHAPE_QWEN2_5_VL_REPOS: Readonly<Record<RealShapeQwen25VlSize, string>> = { '3b': SIZES['3b'].repo, '7b': SIZES['7b'].repo };

/**
 * The released preprocessor_config.json: Qwen2-VL's processor settings
 * (Qwen2.5-VL reuses `Qwen2VLImageProcessor`) under Qwen2.5-VL's processor class.
 */
const PREPROCESSOR_CONFIG: Json = {
  min_pixels: 3136,
  max_pixels: 12845056,
  patch_size: 14,
  temporal_patch_size: 2,
  merge_size: 2,
  image_mean: [...CLIP_MEAN],
  image_std: [...CLIP_STD],
  image_processor_type: 'Qwen2VLImageProcessor',
  processor_class: 'Qwen2_5_VLProcessor',
};

/** Qwen2-VL's generation_config.json (near-greedy sampling, both end tokens). */
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

export interface RealShapeQwen25VlCheckpointOptions {
  size: RealShapeQwen25VlSize;
  /** Seed of the random weights (default 1); each tensor draws from its own stream, so a tensor's values do not depend on `layers`. */
  seed?: number;
  /**
   * Write only the first N decoder layers and N vision blocks (config.json
   * says N; `fullatt_block_indexes` keeps the blocks below N), everything
   * else at the real shapes. Default: all of them.
   */
  layers?: number;
  /** Shard size in bytes (default 4 GB, as released); smaller values let tests exercise the index with few layers. */
  maxShardBytes?: number;
  /** Called per block of about 16 MiB written and per tensor. */
  onProgress?: (progress: CheckpointWriteProgress) => void;
}

/** What was written. */
export interface RealShapeQwen25VlCheckpoint {
  readonly dir: string;
  readonly size: RealShapeQwen25VlSize;
  /** The checkpoint it copies. */
  readonly repo: string;
  readonly config: Qwen25VlConfig;
  /**
   * The planted dims: [the first token's massive-activation dim (on
   * `<|im_start|>`), the visual sinks' dim (bright merge windows)]. config.json
   * names them as `vasink.sink_dims` only for a shortened (`layers`) fixture.
   */
  readonly sinkDims: readonly [number, number];
  /** Shard files, then the index when there is one. */
  readonly files: readonly string[];
  /** Bytes of tensor data (the index's `total_size`). */
  readonly totalBytes: number;
}

/** Std of every weight that reads a normalised input: the released config's initializer_range. */
const READ_STD = 0.02;
/** Std of what one attention or MLP block adds to the residual stream. */
const UPDATE_STD = 0.1;
/** RMS of silu(g)·u relative to the product of the input stds, or of gelu(x) relative to x's std (≈ 0.5–0.68 here). */
const ACTIVATION_RMS = 0.6;
/** Vision dim 0 carries the patch's brightness: BRIGHTNESS_SCALE × (mean normalised pixel − BRIGHT_LEVEL). */
const BRIGHTNESS_SCALE = 100;
const BRIGHT_LEVEL = 1;
/** Merger unit 0 = sum of the window's four normalised brightness values − threshold: > 0 when all four are bright. */
const WINDOW_THRESHOLD = 110;

const writeStd = (target: number, fanIn: number, inputRms: number) => target / (Math.sqrt(fanIn) * inputRms);

/**
 * config.json of a real-shape fixture: the released one, with the layer
 * counts of `layers` and the vasink extension. `vasink.planted_sink_dims`
 * always names the planted dims; `vasink.sink_dims` (which conversion uses as
 * the user's sink dims) only for a shortened fixture. The full-size fixture
 * stands for the released checkpoint, which names none and has no profile in
 * `@vasink/sink-detect`: conversion finds no dims (run `vasink find-sink-dims`).
 */
export function realShapeQwen25VlConfigJson(options: { size: RealShapeQwen25VlSize; layers?: number }): Json {
  const spec = sizeSpec(options.size);
  const full = parseQwen25VlConfig(spec.config, `${spec.repo}/config.json`);
  const layers = checkLayers(options.layers, full);
  const config: Json = structuredClone(spec.config);
  if (layers !== undefined) {
    config.num_hidden_layers = layers;
    const vision = config.vision_config as Json;
    vision.depth = layers;
    vision.fullatt_block_indexes = full.vision.fullAttentionBlocks.filter((b) => b < layers);
  }
  config.vasink = {
    ...(layers === undefined ? {} : { sink_dims: [...spec.sinkDims] }),
    planted_sink_dims: [...spec.sinkDims],
    note: `random weights in the exact layout of ${spec.repo}, written by @vasink/adapter-qwen2.5-vl: massive activations planted on <|im_start|> (first planted dim) and on image tokens of bright 28x28 windows (second)`,
  };
  return config;
}

/**
 * The tensors of a real-shape Qwen2.5-VL checkpoint in `state_dict` order
 * (vision tower, language model, LM head when untied — the order
 * `save_pretrained` shards them in; within a vision block norm1, norm2,
 * attn.qkv, attn.proj, mlp.gate_proj, up_proj, down_proj, as
 * `Qwen2_5_VLVisionBlock` registers them), released names, bfloat16:
 *
 * - weights that read a normalised input ~ N(0, 0.02²), RMSNorm weights 1;
 *   weights that write the residual stream scaled so a block adds std ≈ 0.1;
 * - `<|im_start|>`'s embedding row holds 100 in `sinkDims[0]` (so the first
 *   token of every chat prompt — and each later `<|im_start|>` — is a sink);
 *   no attention or MLP output writes either sink dim and the final norm
 *   ignores them;
 * - vision dim 0 carries each patch's brightness (a constant patch-embedding
 *   row, offset by block 0's projection bias), which no block reads (qkv,
 *   gate and up projections skip it) or writes (proj and down projections,
 *   weights and biases, skip it); merger unit 0 fires when the four patches
 *   of a merge window are all bright (e.g. white) and writes ≈ 100 into
 *   `sinkDims[1]` of that image token. Windowed or full attention does not
 *   matter: attention never touches dim 0.
 */
export function realShapeQwen25VlTensors(options: { size: RealShapeQwen25VlSize; layers?: number; seed?: number }): GeneratedTensor[] {
  const spec = sizeSpec(options.size);
  const config = parseQwen25VlConfig(realShapeQwen25VlConfigJson(options), `${spec.repo}/config.json`);
  const seed = options.seed ?? 1;
  const { text, vision } = config;
  const visionName = visionNaming('legacy');
  const tensors: GeneratedTensor[] = [];
  const add = (name: string, shape: readonly number[], fill: Parameters<typeof randomTensor>[1] | number) =>
    tensors.push(randomTensor({ name, dtype: 'bfloat16', shape }, typeof fill === 'number' ? { seed, std: fill } : { ...fill, seed }));
  const constant = (value: number, zeroRows: readonly number[] = []) => ({ seed, std: 0, mean: value, zeroRows });

  // Vision tower: Qwen2_5_VLVisionBlock registers norm1, norm2, attn (qkv, proj), mlp (gate_proj, up_proj, down_proj).
  const e = vision.embedDim;
  const m = vision.intermediateSize;
  const columns = vision.inChannels * vision.temporalPatchSize * vision.patchSize * vision.patchSize;
  const v = (n: string) => visionName(n);
  add(v('patch_embed.proj.weight'), [e, vision.inChannels, vision.temporalPatchSize, vision.patchSize, vision.patchSize], {
    seed,
    std: READ_STD,
    zeroRows: [0],
    entries: Array.from({ length: columns }, (_, c) => [0, c, BRIGHTNESS_SCALE / columns] as const),
  });
  const visionRead = { seed, std: READ_STD, zeroColumns: [0] };
  const visionReadRms = READ_STD * Math.sqrt(e);
  const attentionWrite = writeStd(UPDATE_STD, e, visionReadRms);
  const mlpWrite = writeStd(UPDATE_STD, m, ACTIVATION_RMS * visionReadRms * visionReadRms);
  for (let b = 0; b < vision.depth; b++) {
    const p = (n: string) => v(`blocks.${b}.${n}`);
    add(p('norm1.weight'), [e], constant(1));
    add(p('norm2.weight'), [e], constant(1));
    add(p('attn.qkv.weight'), [3 * e, e], visionRead);
    add(p('attn.qkv.bias'), [3 * e], READ_STD);
    add(p('attn.proj.weight'), [e, e], { seed, std: attentionWrite, zeroRows: [0] });
    // Block 0 shifts the brightness so that "bright" (mean normalised pixel above BRIGHT_LEVEL) is positive.
    add(p('attn.proj.bias'), [e], { seed, std: attentionWrite, zeroRows: [0], entries: b === 0 ? [[0, 0, -BRIGHTNESS_SCALE * BRIGHT_LEVEL]] : [] });
    add(p('mlp.gate_proj.weight'), [m, e], visionRead);
    add(p('mlp.gate_proj.bias'), [m], READ_STD);
    add(p('mlp.up_proj.weight'), [m, e], visionRead);
    add(p('mlp.up_proj.bias'), [m], READ_STD);
    add(p('mlp.down_proj.weight'), [e, m], { seed, std: mlpWrite, zeroRows: [0] });
    add(p('mlp.down_proj.bias'), [e], { seed, std: mlpWrite, zeroRows: [0] });
  }
  // Merger (ln_q an RMSNorm without bias) and language model as Qwen2-VL's.
  tensors.push(
    ...realShapeQwenMergerTensors({ ...vision, textHiddenSize: text.hiddenSize, seed, sinkDims: spec.sinkDims, whiteUnit: whiteWindowUnit(vision), layerNormBias: false }),
    ...realShapeQwen2LanguageTensors(text, { seed, sinkDims: spec.sinkDims }),
  );
  return tensors;
}

/**
 * Merger unit 0 for a window of four white patches. Each patch's brightness
 * after ln_q is x₀ / σ with σ² = (x₀² + (e − 1)·r²) / e (RMSNorm), where r
 * is the RMS of the other dims: the random patch-embedding rows summed over a
 * uniform white patch (0.02 · √columns · white ≈ 1.4); block updates add
 * little (their inputs are squashed by the brightness dim: ≈ 0.04 per
 * attention, less per SwiGLU MLP, whose product of two squashed projections
 * shrinks quadratically).
 */
function whiteWindowUnit(vision: Qwen25VlVisionConfig): number {
  const columns = vision.inChannels * vision.temporalPatchSize * vision.patchSize * vision.patchSize;
  const white = [0, 1, 2].reduce((sum, c) => sum + (1 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number), 0) / 3;
  const x0 = BRIGHTNESS_SCALE * (white - BRIGHT_LEVEL);
  const r2 = (READ_STD * Math.sqrt(columns) * white) ** 2 + 2 * vision.depth * 0.04 ** 2;
  const e = vision.embedDim;
  return 4 * (x0 / Math.sqrt((x0 * x0 + (e - 1) * r2) / e)) - WINDOW_THRESHOLD;
}

/**
 * Write a Qwen2.5-VL checkpoint with the exact files, tensor names, shapes,
 * dtype (bfloat16) and sharding of Qwen/Qwen2.5-VL-3B-Instruct or
 * -7B-Instruct — config.json as released, `model-0000k-of-0000n.safetensors`
 * split as `save_pretrained(max_shard_size="4GB")` splits them (2 shards for
 * 3B, 5 for 7B) plus `model.safetensors.index.json`, preprocessor_config.json
 * (Qwen2VLImageProcessor, min/max pixels 3136 / 12845056),
 * generation_config.json, the Qwen2 tokenizer with Qwen2-VL's chat template —
 * and random weights with planted sinks (see {@link realShapeQwen25VlTensors}).
 * Streaming: each tensor is generated, written and dropped in blocks (7.5 GB
 * on disk for 3B, 16.6 GB for 7B; memory far below 1 GiB).
 *
 * The full-size config.json does not name the planted dims as
 * `vasink.sink_dims` (a released checkpoint names none, and no profile covers
 * Qwen2.5 backbones): converting it finds no sink dims, as for the real model
 * — run `vasink find-sink-dims`, which should recover `sinkDims`. A shortened
 * fixture (`layers`) names them, so conversion uses them directly.
 */
export async function writeRealShapeQwen25VlCheckpoint(dir: string, options: RealShapeQwen25VlCheckpointOptions): Promise<RealShapeQwen25VlCheckpoint> {
  const spec = sizeSpec(options.size);
  const configJson = realShapeQwen25VlConfigJson(options);
  const config = parseQwen25VlConfig(configJson, join(dir, 'config.json'));
  await mkdir(dir, { recursive: true });
  const layout = await writeGeneratedCheckpoint(dir, realShapeQwen25VlTensors(options), {
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

function sizeSpec(size: RealShapeQwen25VlSize): SizeSpec {
  const spec = (SIZES as Record<string, SizeSpec | undefined>)[size];
  if (!spec) throw new InvalidArgumentError(`unknown real-shape Qwen2.5-VL size ${JSON.stringify(size)}: use ${REAL_SHAPE_QWEN2_5_VL_SIZES.join(' or ')}`, { size });
  return spec;
}

function checkLayers(layers: number | undefined, full: Qwen25VlConfig): number | undefined {
  if (layers === undefined) return undefined;
  const most = Math.min(full.text.numLayers, full.vision.depth);
  if (!Number.isInteger(layers) || layers < 1 || layers > most) {
    throw new InvalidArgumentError(
      `layers must be an integer from 1 to ${most} (the released model's decoder layers and vision blocks, whichever are fewer), got ${String(layers)}`,
      { layers },
    );
  }
  return layers;
}

const writeJson = (path: string, json: unknown) => writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
