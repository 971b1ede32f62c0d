import { type DecoderConfig, validateDecoderConfig } from '@vasink/transformer-graph';
import { LlavaConfigError, UnsupportedCheckpointError } from './errors.js';

/** Activations a CLIP MLP or the LLaVA projector may use (Hugging Face `ACT2FN` names). */
export type LlavaActivation = 'quick_gelu' | 'gelu' | 'gelu_pytorch_tanh';

/** A CLIP vision tower (Hugging Face `CLIPVisionConfig`). */
export interface ClipVisionConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  /** Side of the square input, pixels. */
  readonly imageSize: number;
  /** Side of one patch, pixels. */
  readonly patchSize: number;
  readonly numChannels: number;
  readonly layerNormEps: number;
  readonly hiddenAct: LlavaActivation;
}

/** The multimodal projector: `linearLayers` linear maps with `activation` between them (LLaVA-1.5: 2, GELU). */
export interface LlavaProjectorConfig {
  readonly linearLayers: number;
  readonly activation: LlavaActivation;
  readonly bias: boolean;
}

/** The two config shapes LLaVA-1.5 checkpoints come in, and LLaVA-NeXT (v1.6, llava-hf). */
export type LlavaArchitecture = 'LlavaForConditionalGeneration' | 'LlavaLlamaForCausalLM' | 'LlavaNextForConditionalGeneration';

/** Language backbones a LLaVA checkpoint may carry (both LLaMA-shaped: RMSNorm, SwiGLU, RoPE, GQA). */
export type LlavaTextModelType = 'llama' | 'mistral';

/**
 * LLaVA-NeXT's anyres input: the image is resized into the best of the
 * `pinpoints` resolutions (height, width), cut into tower-sized tiles, and
 * fed beside a base image resized to the tower's square; tile features are
 * unpadded and end each row with the learned `image_newline`.
 */
export interface LlavaAnyres {
  /** `image_grid_pinpoints`, each `[height, width]` in pixels, multiples of the tower's image size. */
  readonly pinpoints: readonly (readonly [number, number])[];
}

/** Everything the adapter reads from a LLaVA-1.5 `config.json`, defaults filled as transformers fills them. */
export interface LlavaConfig {
  readonly architecture: LlavaArchitecture;
  /** The language model (LLaMA / Vicuna, or Mistral for LLaVA-NeXT). */
  readonly text: DecoderConfig;
  /** `text_config.model_type`: which backbone's sink-dimension profile applies. */
  readonly textModelType: LlavaTextModelType;
  /** LLaVA-NeXT's tiling; undefined for LLaVA-1.5 (one square image per image). */
  readonly anyres?: LlavaAnyres | undefined;
  readonly vision: ClipVisionConfig;
  readonly projector: LlavaProjectorConfig;
  /** Index into the vision tower's hidden states (hidden_states[0] = embeddings after pre_layrnorm); LLaVA-1.5: −2. */
  readonly visionFeatureLayer: number;
  /** `'default'` drops the CLS token (LLaVA-1.5), `'full'` keeps it. */
  readonly visionFeatureSelectStrategy: 'default' | 'full';
  /** llava-hf: `image_token_index` (32000); the original release has no image token in its vocabulary. */
  readonly imageTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  /** Original release: `mm_vision_tower`, the CLIP checkpoint to load beside it. */
  readonly visionTowerName: string | undefined;
  /** vasink extension `vasink.sink_dims` in config.json (tiny checkpoints name their planted sink dimensions). */
  readonly sinkDims: readonly number[] | undefined;
}

/** Vision encoder layers the features need: hidden_states[k] is the output of the first k layers. */
export function visionLayersUsed(config: Pick<LlavaConfig, 'vision' | 'visionFeatureLayer'>): number {
  const layer = config.visionFeatureLayer;
  return layer < 0 ? config.vision.numLayers + 1 + layer : layer;
}

/** Patches per side: image size / patch size. */
export function visionGridSize(vision: Pick<ClipVisionConfig, 'imageSize' | 'patchSize'>): number {
  return vision.imageSize / vision.patchSize;
}

/** Image tokens one image becomes: grid² (`'default'`), plus the CLS token for `'full'`. */
export function llavaTokensPerImage(config: Pick<LlavaConfig, 'vision' | 'visionFeatureSelectStrategy'>): number {
  const grid = visionGridSize(config.vision);
  return grid * grid + (config.visionFeatureSelectStrategy === 'full' ? 1 : 0);
}

type Json = Readonly<Record<string, unknown>>;

/** ViT-L/14-336, what `LlavaConfig` builds when a config has no `vision_config` at all. */
const LLAVA_DEFAULT_VISION: Json = {
  hidden_size: 1024,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  intermediate_size: 4096,
  image_size: 336,
  patch_size: 14,
};

/** `CLIPVisionConfig()` defaults, for fields a present vision config leaves out. */
const CLIP_VISION_DEFAULTS = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  image_size: 224,
  patch_size: 32,
  num_channels: 3,
  layer_norm_eps: 1e-5,
  hidden_act: 'quick_gelu',
} as const;

/** `MistralConfig()` defaults, for fields a Mistral text config leaves out. */
const MISTRAL_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 4096 * 32,
  sliding_window: 4096,
  hidden_act: 'silu',
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  bos_token_id: 1,
  eos_token_id: 2,
} as const;

/** `LlamaConfig()` defaults, for fields a text config leaves out. */
const LLAMA_BASE_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  hidden_act: 'silu',
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  bos_token_id: 1,
  eos_token_id: 2,
} as const;

/** LLaVA-1.5 architectures (the `llava` family's `matches`). */
export const LLAVA_ARCHITECTURES: readonly LlavaArchitecture[] = ['LlavaForConditionalGeneration', 'LlavaLlamaForCausalLM'];

/** LLaVA-NeXT architectures (the `llava-next` family's `matches`). */
export const LLAVA_NEXT_ARCHITECTURES: readonly LlavaArchitecture[] = ['LlavaNextForConditionalGeneration'];

/** The LLaVA architecture (1.5 or NeXT) of a config.json, or undefined when it is neither. */
export function anyLlavaArchitectureOf(config: Json): LlavaArchitecture | undefined {
  const architectures = Array.isArray(config.architectures) ? (config.architectures as unknown[]) : [];
  for (const name of [...LLAVA_ARCHITECTURES, ...LLAVA_NEXT_ARCHITECTURES]) if (architectures.includes(name)) return name;
  if (architectures.length > 0) return undefined;
  // No architectures list: decide by model_type (and the original release's mm_* fields).
  if (config.model_type === 'llava_llama') return 'LlavaLlamaForCausalLM';
  if (config.model_type === 'llava') return 'mm_vision_tower' in config ? 'LlavaLlamaForCausalLM' : 'LlavaForConditionalGeneration';
  if (config.model_type === 'llava_next') return 'LlavaNextForConditionalGeneration';
  return undefined;
}

/** The LLaVA-1.5 architecture of a config.json, or undefined when it is not LLaVA-1.5. */
export function llavaArchitectureOf(config: Json): LlavaArchitecture | undefined {
  const architecture = anyLlavaArchitectureOf(config);
  return architecture !== undefined && LLAVA_ARCHITECTURES.includes(architecture) ? architecture : undefined;
}

/** The LLaVA-NeXT architecture of a config.json, or undefined when it is not LLaVA-NeXT. */
export function llavaNextArchitectureOf(config: Json): LlavaArchitecture | undefined {
  const architecture = anyLlavaArchitectureOf(config);
  return architecture !== undefined && LLAVA_NEXT_ARCHITECTURES.includes(architecture) ? architecture : undefined;
}

/** Reads typed fields of one JSON object, naming `file` and the field's path in every error. */
class FieldReader {
  constructor(
    readonly json: Json,
    readonly file: string,
    readonly prefix: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  private fail(key: string, expected: string, value: unknown): never {
    const field = this.prefix + key;
    const shown = value === undefined ? 'nothing' : JSON.stringify(value);
    throw new LlavaConfigError(`${this.file}: ${field} must be ${expected}, got ${shown}`, { file: this.file, field, value });
  }

  /** A positive integer up to 2^22: no size of a released model comes near, and a config cannot ask for a memory bomb. */
  positiveInt(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      if (value === undefined) this.missing(key, 'a positive integer');
      this.fail(key, 'a positive integer', value);
    }
    if (value > 2 ** 22) this.fail(key, 'at most 4194304 (no released model comes near)', value);
    return value;
  }

  int(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      if (value === undefined) this.missing(key, 'an integer');
      this.fail(key, 'an integer', value);
    }
    return value;
  }

  positiveNumber(key: string, fallback?: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      if (value === undefined) this.missing(key, 'a positive number');
      this.fail(key, 'a positive number', value);
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false', value);
    return value;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      if (value === undefined) this.missing(key, `one of ${allowed.join(', ')}`);
      this.fail(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
    }
    return value as T;
  }

  string(key: string, fallback?: string): string {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'string') {
      if (value === undefined) this.missing(key, 'a string');
      this.fail(key, 'a string', value);
    }
    return value;
  }

  /** Token ids: one integer or a list (transformers accepts both for eos_token_id). */
  ids(key: string, fallback: number): number[] {
    const value = this.json[key] ?? fallback;
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    if (list.length === 0 || !list.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      this.fail(key, 'a token id or a list of token ids', value);
    }
    return list as number[];
  }

  object(key: string): FieldReader | undefined {
    const value = this.json[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(key, 'an object', value);
    return new FieldReader(value as Json, this.file, `${this.prefix}${key}.`);
  }

  missing(key: string, expected: string): never {
    const field = this.prefix + key;
    throw new LlavaConfigError(`${this.file} has no ${field} (expected ${expected})`, { file: this.file, field });
  }
}

function activation(reader: FieldReader, key: string, fallback: LlavaActivation): LlavaActivation {
  const value = reader.json[key] ?? fallback;
  // transformers' ACT2FN: 'gelu_new' and 'gelu_pytorch_tanh' are both the tanh approximation.
  if (value === 'gelu_new') return 'gelu_pytorch_tanh';
  return reader.oneOf(key, ['quick_gelu', 'gelu', 'gelu_pytorch_tanh'], fallback);
}

type TextConfig = DecoderConfig & { eosTokenIds: number[]; bosTokenId: number; modelType: LlavaTextModelType };

/** A LLaMA or Mistral text config (`LlamaConfig` / `MistralConfig` defaults for absent fields). */
function readTextConfig(reader: FieldReader, topLevel: FieldReader): TextConfig {
  // The original release's flat config carries the multimodal model_type (llava, llava_llama) over LLaMA fields.
  const modelType = reader === topLevel ? 'llama' : (reader.json.model_type ?? 'llama');
  if (modelType !== 'llama' && modelType !== 'mistral') {
    throw new UnsupportedCheckpointError(
      `${reader.file}: the language model is ${JSON.stringify(modelType)} (${reader.prefix}model_type); vasink's LLaVA adapter converts LLaMA / Vicuna and Mistral backbones`,
      { file: reader.file, modelType },
    );
  }
  const defaults = modelType === 'mistral' ? MISTRAL_DEFAULTS : LLAMA_BASE_DEFAULTS;
  if (modelType === 'mistral') {
    // Sliding-window attention equals full attention only while the sequence fits the window.
    const window = reader.json.sliding_window === undefined ? MISTRAL_DEFAULTS.sliding_window : reader.json.sliding_window;
    const maxPositions = reader.positiveInt('max_position_embeddings', MISTRAL_DEFAULTS.max_position_embeddings);
    if (window !== null && !(typeof window === 'number' && window >= maxPositions)) {
      throw new UnsupportedCheckpointError(
        `${reader.file}: ${reader.prefix}sliding_window is ${JSON.stringify(window)} (absent means MistralConfig's 4096); vasink's decoder attends to the whole sequence, so it converts Mistral backbones without a sliding window (null, as Mistral-7B-Instruct-v0.2 and llava-v1.6-mistral-7b-hf have)`,
        { file: reader.file, field: `${reader.prefix}sliding_window` },
      );
    }
  }
  if (reader.has('rope_scaling')) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}rope_scaling is set; LLaVA-1.5 uses plain RoPE and scaled RoPE is not supported`, {
      file: reader.file,
      field: `${reader.prefix}rope_scaling`,
    });
  }
  reader.oneOf('hidden_act', ['silu'], defaults.hidden_act);
  if (reader.bool('mlp_bias', false)) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}mlp_bias is true; LLaMA MLPs without bias only`, { file: reader.file, field: `${reader.prefix}mlp_bias` });
  }
  const hiddenSize = reader.positiveInt('hidden_size', defaults.hidden_size);
  const numHeads = reader.positiveInt('num_attention_heads', defaults.num_attention_heads);
  const numKvHeads = reader.positiveInt('num_key_value_heads', 'num_key_value_heads' in defaults ? defaults.num_key_value_heads : numHeads);
  if (!reader.has('head_dim') && hiddenSize % numHeads !== 0) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`, {
      file: reader.file,
      field: `${reader.prefix}hidden_size`,
    });
  }
  // Older llava-hf configs may state the vocabulary only at the top level.
  const vocabFallback = topLevel.has('vocab_size') ? topLevel.positiveInt('vocab_size') : defaults.vocab_size;
  const text: TextConfig = {
    modelType,
    hiddenSize,
    numLayers: reader.positiveInt('num_hidden_layers', defaults.num_hidden_layers),
    numHeads,
    numKvHeads,
    headDim: reader.positiveInt('head_dim', hiddenSize / numHeads),
    intermediateSize: reader.positiveInt('intermediate_size', defaults.intermediate_size),
    vocabSize: reader.positiveInt('vocab_size', vocabFallback),
    rmsNormEps: reader.positiveNumber('rms_norm_eps', defaults.rms_norm_eps),
    rope: { type: 'default', theta: reader.positiveNumber('rope_theta', defaults.rope_theta) },
    attentionBias: reader.bool('attention_bias', false),
    tieWordEmbeddings: reader.bool('tie_word_embeddings', topLevel.bool('tie_word_embeddings', false)),
    bosTokenId: reader.ids('bos_token_id', defaults.bos_token_id)[0] as number,
    eosTokenIds: reader.ids('eos_token_id', defaults.eos_token_id),
  };
  validateDecoderConfig(text, reader.file);
  return text;
}

/** A CLIP vision config: `defaults` for absent fields. */
function readVisionConfig(reader: FieldReader, defaults: Json): ClipVisionConfig {
  const pick = (key: string) => (defaults[key] ?? (CLIP_VISION_DEFAULTS as Json)[key]) as number;
  const vision: ClipVisionConfig = {
    hiddenSize: reader.positiveInt('hidden_size', pick('hidden_size')),
    numLayers: reader.positiveInt('num_hidden_layers', pick('num_hidden_layers')),
    numHeads: reader.positiveInt('num_attention_heads', pick('num_attention_heads')),
    intermediateSize: reader.positiveInt('intermediate_size', pick('intermediate_size')),
    imageSize: reader.positiveInt('image_size', pick('image_size')),
    patchSize: reader.positiveInt('patch_size', pick('patch_size')),
    numChannels: reader.positiveInt('num_channels', CLIP_VISION_DEFAULTS.num_channels),
    layerNormEps: reader.positiveNumber('layer_norm_eps', CLIP_VISION_DEFAULTS.layer_norm_eps),
    hiddenAct: activation(reader, 'hidden_act', CLIP_VISION_DEFAULTS.hidden_act),
  };
  if (vision.numChannels !== 3) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}num_channels is ${vision.numChannels}; LLaVA takes RGB images (3)`, {
      file: reader.file,
      field: `${reader.prefix}num_channels`,
    });
  }
  if (vision.imageSize % vision.patchSize !== 0) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}image_size ${vision.imageSize} is not a multiple of patch_size ${vision.patchSize}`, {
      file: reader.file,
      field: `${reader.prefix}image_size`,
    });
  }
  if (vision.hiddenSize % vision.numHeads !== 0) {
    throw new LlavaConfigError(`${reader.file}: ${reader.prefix}hidden_size ${vision.hiddenSize} is not a multiple of num_attention_heads ${vision.numHeads}`, {
      file: reader.file,
      field: `${reader.prefix}hidden_size`,
    });
  }
  return vision;
}

function readSinkDims(reader: FieldReader): number[] | undefined {
  const extension = reader.object('vasink');
  if (!extension || !extension.has('sink_dims')) return undefined;
  const dims = extension.json.sink_dims;
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new LlavaConfigError(`${reader.file}: vasink.sink_dims must be a non-empty list of dimension indices, got ${JSON.stringify(dims)}`, {
      file: reader.file,
      field: 'vasink.sink_dims',
    });
  }
  return dims as number[];
}

function checkFeatureLayer(config: Pick<LlavaConfig, 'vision' | 'visionFeatureLayer'>, file: string, field: string): void {
  const used = visionLayersUsed(config);
  if (used < 0 || used > config.vision.numLayers) {
    throw new LlavaConfigError(
      `${file}: ${field} ${config.visionFeatureLayer} does not name a hidden state of a ${config.vision.numLayers}-layer vision tower (−${config.vision.numLayers + 1} … ${config.vision.numLayers})`,
      { file, field },
    );
  }
}

export interface ParseLlavaConfigOptions {
  /** Names config.json in error messages. */
  file: string;
  /** Original release: the CLIP checkpoint's config.json (CLIPConfig or CLIPVisionConfig). */
  visionTowerConfig?: { json: Json; file: string };
}

/**
 * Read a LLaVA-1.5 `config.json` — llava-hf `LlavaForConditionalGeneration`
 * or the original `LlavaLlamaForCausalLM` (whose vision config comes from the
 * CLIP checkpoint it names) — filling absent fields with transformers'
 * defaults (`LlamaConfig`, `CLIPVisionConfig`; ViT-L/14-336 when a llava-hf
 * config has no `vision_config`). Throws LlavaConfigError naming the file and
 * field for absent or invalid values, UnsupportedCheckpointError for other models.
 */
export function parseLlavaConfig(json: Json, options: ParseLlavaConfigOptions): LlavaConfig {
  const { file } = options;
  const root = new FieldReader(json, file, '');
  const architecture = anyLlavaArchitectureOf(json);
  if (!architecture) {
    const architectures = Array.isArray(json.architectures) ? json.architectures.join(', ') : 'none';
    throw new UnsupportedCheckpointError(
      `${file}: architectures ${architectures}, model_type ${String(json.model_type)} is not LLaVA; the LLaVA adapter converts LlavaForConditionalGeneration (llava-hf), LlavaLlamaForCausalLM (original release) and LlavaNextForConditionalGeneration (LLaVA-NeXT)`,
      { file, architectures: json.architectures, modelType: json.model_type },
    );
  }
  const sinkDims = readSinkDims(root);

  if (architecture === 'LlavaForConditionalGeneration' || architecture === 'LlavaNextForConditionalGeneration') {
    const textReader = root.object('text_config') ?? new FieldReader({}, file, 'text_config.');
    const { eosTokenIds, bosTokenId, modelType: textModelType, ...text } = readTextConfig(textReader, root);
    const visionReader = root.object('vision_config');
    const vision = visionReader ? readVisionConfig(visionReader, {}) : readVisionConfig(new FieldReader({}, file, 'vision_config.'), LLAVA_DEFAULT_VISION);
    const config: LlavaConfig = {
      architecture,
      text,
      textModelType,
      anyres: architecture === 'LlavaNextForConditionalGeneration' ? readAnyres(root, vision) : undefined,
      vision,
      projector: {
        linearLayers: 2,
        activation: activation(root, 'projector_hidden_act', 'gelu'),
        bias: root.bool('multimodal_projector_bias', true),
      },
      visionFeatureLayer: featureLayerOf(root, 'vision_feature_layer'),
      visionFeatureSelectStrategy: root.oneOf('vision_feature_select_strategy', ['default', 'full'], 'default'),
      imageTokenId: root.int('image_token_index', 32000),
      bosTokenId,
      eosTokenIds,
      visionTowerName: undefined,
      sinkDims,
    };
    checkFeatureLayer(config, file, 'vision_feature_layer');
    if (config.anyres && config.visionFeatureSelectStrategy !== 'default') {
      throw new UnsupportedCheckpointError(
        `${file}: vision_feature_select_strategy is "full"; LLaVA-NeXT lays each tile's features out as a patch grid, which needs "default" (the CLS token dropped)`,
        { file, field: 'vision_feature_select_strategy' },
      );
    }
    if (config.imageTokenId !== undefined && (config.imageTokenId < 0 || config.imageTokenId >= text.vocabSize)) {
      throw new LlavaConfigError(`${file}: image_token_index ${config.imageTokenId} is outside the vocabulary (0 … ${text.vocabSize - 1})`, {
        file,
        field: 'image_token_index',
      });
    }
    return config;
  }

  // Original release: LLaMA fields at the top level, mm_* fields for the vision side.
  const { eosTokenIds, bosTokenId, modelType: textModelType, ...text } = readTextConfig(root, root);
  const projectorType = root.string('mm_projector_type', 'linear');
  const mlp = /^mlp(\d+)x_gelu$/.exec(projectorType);
  if (projectorType !== 'linear' && !mlp) {
    throw new UnsupportedCheckpointError(`${file}: mm_projector_type ${JSON.stringify(projectorType)} is not supported (LLaVA-1.5 uses "mlp2x_gelu"; "linear" and "mlpNx_gelu" are converted)`, {
      file,
      field: 'mm_projector_type',
    });
  }
  const selectFeature = root.oneOf('mm_vision_select_feature', ['patch', 'cls_patch'], 'patch');
  const visionTowerName = root.has('mm_vision_tower') ? root.string('mm_vision_tower') : undefined;
  const vision = readOriginalVisionConfig(options.visionTowerConfig, visionTowerName, file);
  const config: LlavaConfig = {
    architecture,
    text,
    textModelType,
    anyres: undefined,
    vision,
    projector: { linearLayers: mlp ? Number(mlp[1]) : 1, activation: 'gelu', bias: true },
    visionFeatureLayer: featureLayerOf(root, 'mm_vision_select_layer', true),
    visionFeatureSelectStrategy: selectFeature === 'patch' ? 'default' : 'full',
    imageTokenId: undefined,
    bosTokenId,
    eosTokenIds,
    visionTowerName,
    sinkDims,
  };
  checkFeatureLayer(config, file, 'mm_vision_select_layer');
  if (root.has('mm_hidden_size') && root.positiveInt('mm_hidden_size') !== vision.hiddenSize) {
    throw new LlavaConfigError(
      `${file}: mm_hidden_size ${String(json.mm_hidden_size)} differs from the vision tower's hidden size ${vision.hiddenSize}${options.visionTowerConfig ? ` (${options.visionTowerConfig.file})` : ''}: wrong vision tower?`,
      { file, field: 'mm_hidden_size' },
    );
  }
  return config;
}

/** `image_grid_pinpoints` as `LlavaNextConfig` defaults it; each `[height, width]` a multiple of the tower's image size. */
export const LLAVA_NEXT_DEFAULT_PINPOINTS: readonly (readonly [number, number])[] = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

function readAnyres(root: FieldReader, vision: ClipVisionConfig): LlavaAnyres {
  const value = root.json.image_grid_pinpoints ?? LLAVA_NEXT_DEFAULT_PINPOINTS;
  const size = vision.imageSize;
  const valid =
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= 256 &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        pair.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0 && x % size === 0 && x <= 64 * size),
    );
  if (!valid) {
    throw new LlavaConfigError(
      `${root.file}: image_grid_pinpoints must be a non-empty list of [height, width] pairs, each a positive multiple of the vision tower's image_size ${size} (at most 64 tiles a side), got ${JSON.stringify(value)}`,
      { file: root.file, field: 'image_grid_pinpoints' },
    );
  }
  return { pinpoints: (value as number[][]).map(([h, w]) => [h as number, w as number] as const) };
}

function featureLayerOf(root: FieldReader, key: string, required = false): number {
  const value = root.json[key];
  if (Array.isArray(value)) {
    throw new UnsupportedCheckpointError(`${root.file}: ${key} lists several layers (${JSON.stringify(value)}); LLaVA-1.5 takes one layer`, {
      file: root.file,
      field: key,
    });
  }
  return required ? root.int(key) : root.int(key, -2);
}

/** Known CLIP towers an original release names, for checkpoints that carry the tower's weights but not its config. */
const KNOWN_VISION_TOWERS: Readonly<Record<string, Json>> = {
  'openai/clip-vit-large-patch14-336': LLAVA_DEFAULT_VISION,
  'openai/clip-vit-large-patch14': { ...LLAVA_DEFAULT_VISION, image_size: 224 },
};

function readOriginalVisionConfig(tower: ParseLlavaConfigOptions['visionTowerConfig'], name: string | undefined, file: string): ClipVisionConfig {
  if (!tower) {
    const known = name === undefined ? undefined : KNOWN_VISION_TOWERS[name];
    if (known) return readVisionConfig(new FieldReader({}, file, 'vision_config.'), known);
    // The caller decides whether a missing tower is an error; without its config nothing can be sized.
    throw new LlavaConfigError(
      `${file}: the vision tower ${name === undefined ? '(no mm_vision_tower)' : JSON.stringify(name)} has no config here; give the CLIP checkpoint directory (visionTower / --vision-tower)`,
      { file, field: 'mm_vision_tower' },
    );
  }
  const reader = new FieldReader(tower.json, tower.file, '');
  // CLIPConfig nests the vision side; CLIPVisionConfig is flat.
  const nested = reader.object('vision_config');
  if (nested) return readVisionConfig(nested, {});
  if (tower.json.model_type === 'clip') return readVisionConfig(new FieldReader({}, tower.file, 'vision_config.'), {});
  return readVisionConfig(reader, {});
}
