import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DecoderConfig, validateDecoderConfig } from '@vasink/transformer-graph';
import { Qwen2VlConfigError, UnsupportedArchitectureError } from './errors.js';

/** The Hugging Face architecture this adapter converts. */
export const QWEN2_VL_ARCHITECTURE = 'Qwen2VLForConditionalGeneration';

/** Token ids Qwen2-VL configs default to (transformers' `Qwen2VLConfig`). */
export const QWEN2_VL_TOKENS = {
  endOfText: 151643,
  imStart: 151644,
  imEnd: 151645,
  visionStart: 151652,
  visionEnd: 151653,
  image: 151655,
  video: 151656,
} as const;

/** The vision tower (`vision_config`), sizes as in the checkpoint. */
export interface Qwen2VlVisionConfig {
  readonly depth: number;
  readonly embedDim: number;
  readonly numHeads: number;
  /** `int(embed_dim · mlp_ratio)`: width of each block's MLP. */
  readonly mlpHiddenSize: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly spatialMergeSize: number;
  readonly inChannels: number;
  /** Width of the merger's output: the language model's hidden size. */
  readonly outHiddenSize: number;
  /** Epsilon of every vision LayerNorm (fixed at 1e-6 in transformers). */
  readonly layerNormEps: number;
}

/** What vasink needs from a Qwen2-VL `config.json`. */
export interface Qwen2VlConfig {
  readonly architecture: string;
  readonly text: DecoderConfig;
  readonly vision: Qwen2VlVisionConfig;
  readonly imageTokenId: number;
  readonly videoTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** `eos_token_id` of the config (one id or several). */
  readonly eosTokenIds: readonly number[];
  /** Text fields live under `text_config` (transformers ≥ 4.52 writes them there). */
  readonly nestedTextConfig: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when a parsed `config.json` describes a Qwen2-VL checkpoint (not Qwen2.5-VL or another model). */
export function isQwen2VlConfig(config: Readonly<Record<string, unknown>>): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  if (architectures.includes(QWEN2_VL_ARCHITECTURE)) return true;
  return architectures.length === 0 && config.model_type === 'qwen2_vl';
}

/**
 * Read the parts of a Qwen2-VL `config.json` the converter needs. Text fields
 * are read from `text_config` first and the top level second (both layouts
 * exist); `rope_scaling` or `rope_parameters` must carry `mrope_section`.
 * Throws UnsupportedArchitectureError for other models and Qwen2VlConfigError
 * naming the field and the file when a required field is absent or unusable.
 */
export function parseQwen2VlConfig(json: unknown, source = 'config.json'): Qwen2VlConfig {
  if (!isObject(json)) throw new Qwen2VlConfigError(`${source} is not a JSON object`, { source });
  if (!isQwen2VlConfig(json)) {
    const found = Array.isArray(json.architectures) ? json.architectures.join(', ') : `model_type ${JSON.stringify(json.model_type)}`;
    throw new UnsupportedArchitectureError(
      `${source} describes ${found}, not ${QWEN2_VL_ARCHITECTURE}; the qwen2-vl adapter converts Qwen2-VL checkpoints only (Qwen2.5-VL has a different vision tower)`,
      { source, architectures: json.architectures, modelType: json.model_type },
    );
  }
  const language = parseQwen2LanguageConfig(json, source);
  const { integer, number } = fieldReaders(source);
  const hiddenSize = language.text.hiddenSize;

  if (!isObject(json.vision_config)) throw new Qwen2VlConfigError(`${source} has no vision_config`, { source, field: 'vision_config' });
  const v = json.vision_config;
  const visionInt = (name: string, fallback?: number) =>
    v[name] === undefined && fallback !== undefined ? fallback : integer(`vision_config.${name}`, v[name], `vision_config.${name}`);
  const embedDim = visionInt('embed_dim');
  const numVisionHeads = visionInt('num_heads');
  if (embedDim % numVisionHeads !== 0 || (embedDim / numVisionHeads) % 4 !== 0) {
    throw new Qwen2VlConfigError(
      `${source}: vision_config.embed_dim ${embedDim} / num_heads ${numVisionHeads} must be a head size divisible by 4 (2-D rotary embedding)`,
      { source, field: 'vision_config.num_heads' },
    );
  }
  const mlpRatio = number('vision_config.mlp_ratio', v.mlp_ratio, 'vision_config.mlp_ratio', 4);
  const act = v.hidden_act ?? 'quick_gelu';
  if (act !== 'quick_gelu') {
    throw new Qwen2VlConfigError(`${source}: vision_config.hidden_act ${JSON.stringify(act)} is not supported (Qwen2-VL uses "quick_gelu")`, {
      source,
      field: 'vision_config.hidden_act',
    });
  }
  const outHiddenSize = visionInt('hidden_size', hiddenSize);
  if (outHiddenSize !== hiddenSize) {
    throw new Qwen2VlConfigError(`${source}: vision_config.hidden_size ${outHiddenSize} must equal the language model's hidden_size ${hiddenSize}`, {
      source,
      field: 'vision_config.hidden_size',
    });
  }
  const vision: Qwen2VlVisionConfig = {
    depth: visionInt('depth'),
    embedDim,
    numHeads: numVisionHeads,
    // Python's int(embed_dim * mlp_ratio).
    mlpHiddenSize: Math.trunc(embedDim * mlpRatio),
    patchSize: visionInt('patch_size', 14),
    temporalPatchSize: visionInt('temporal_patch_size', 2),
    spatialMergeSize: visionInt('spatial_merge_size', 2),
    inChannels: v.in_chans === undefined ? visionInt('in_channels', 3) : visionInt('in_chans'),
    outHiddenSize,
    layerNormEps: 1e-6,
  };

  return { architecture: QWEN2_VL_ARCHITECTURE, ...language, vision };
}

/** Field readers naming `source` and the field in every error. */
function fieldReaders(source: string) {
  const integer = (name: string, value: unknown, label: string): number => {
    if (value === undefined || value === null) throw new Qwen2VlConfigError(`${source} has no ${label}`, { source, field: name });
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new Qwen2VlConfigError(`${source}: ${label} must be a positive integer, got ${JSON.stringify(value)}`, { source, field: name });
    }
    // No size of a released model comes near 2^22; a config must not ask for a memory bomb.
    if (value > 2 ** 22) throw new Qwen2VlConfigError(`${source}: ${label} is ${value}, over the 4194304 vasink accepts`, { source, field: name });
    return value;
  };
  const number = (name: string, value: unknown, label: string, fallback?: number): number => {
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new Qwen2VlConfigError(`${source} has no ${label}`, { source, field: name });
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Qwen2VlConfigError(`${source}: ${label} must be a positive number, got ${JSON.stringify(value)}`, { source, field: name });
    }
    return value;
  };
  return { integer, number };
}

/** The language-model half of a Qwen2-VL-style `config.json` (Qwen2-VL, Qwen2.5-VL): decoder, special tokens, end-of-sequence ids. */
export type Qwen2LanguageConfig = Omit<Qwen2VlConfig, 'architecture' | 'vision'>;

/**
 * Read the language model of a Qwen2-VL-style config (`text_config` first,
 * the top level second): the Qwen2 decoder with M-RoPE (`rope_scaling` or
 * `rope_parameters` must carry `mrope_section`), the vision special tokens
 * and the end-of-sequence ids. Shared by the Qwen2-VL and Qwen2.5-VL adapters.
 */
export function parseQwen2LanguageConfig(json: Json, source = 'config.json'): Qwen2LanguageConfig {
  const textConfig = isObject(json.text_config) ? json.text_config : undefined;
  const textField = (name: string): unknown => textConfig?.[name] ?? json[name];
  const where = (name: string) => (textConfig ? `text_config.${name} (nor ${name})` : name);
  const { integer, number } = fieldReaders(source);
  const textInt = (name: string) => integer(name, textField(name), where(name));

  const hiddenSize = textInt('hidden_size');
  const numHeads = textInt('num_attention_heads');
  const numLayers = textInt('num_hidden_layers');
  const kvField = textField('num_key_value_heads');
  // transformers falls back to multi-head attention when the field is absent.
  const numKvHeads = kvField === undefined || kvField === null ? numHeads : integer('num_key_value_heads', kvField, where('num_key_value_heads'));
  const intermediateSize = textInt('intermediate_size');
  const vocabSize = textInt('vocab_size');
  if (hiddenSize % numHeads !== 0) {
    throw new Qwen2VlConfigError(`${source}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`, { source, field: 'hidden_size' });
  }

  // M-RoPE: `rope_scaling` (older) or `rope_parameters` (newest transformers), in text_config or at the top.
  const ropeHolder = ['rope_scaling', 'rope_parameters']
    .map((name) => ({ name, value: textField(name) }))
    .find((entry) => isObject(entry.value) && Array.isArray((entry.value as Json).mrope_section));
  if (!ropeHolder) {
    throw new Qwen2VlConfigError(`${source} has no ${where('rope_scaling')}.mrope_section: Qwen2-VL's M-RoPE needs the [t, h, w] split of the rotary channels`, {
      source,
      field: 'rope_scaling.mrope_section',
    });
  }
  const rope = ropeHolder.value as Json;
  const section = (rope.mrope_section as unknown[]).map((v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new Qwen2VlConfigError(`${source}: ${ropeHolder.name}.mrope_section must hold positive integers, got ${JSON.stringify(rope.mrope_section)}`, {
        source,
        field: `${ropeHolder.name}.mrope_section`,
      });
    }
    return v;
  });
  const ropeType = rope.type ?? rope.rope_type;
  if (ropeType !== undefined && ropeType !== 'mrope' && ropeType !== 'default') {
    throw new Qwen2VlConfigError(`${source}: ${ropeHolder.name} type ${JSON.stringify(ropeType)} is not supported (expected "mrope")`, {
      source,
      field: `${ropeHolder.name}.type`,
    });
  }
  const theta = number('rope_theta', textField('rope_theta') ?? rope.rope_theta, where('rope_theta'), 1_000_000);
  const tie = textField('tie_word_embeddings');
  if (tie !== undefined && typeof tie !== 'boolean') {
    throw new Qwen2VlConfigError(`${source}: tie_word_embeddings must be true or false, got ${JSON.stringify(tie)}`, { source, field: 'tie_word_embeddings' });
  }

  const text: DecoderConfig = {
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize,
    vocabSize,
    // transformers' Qwen2VLTextConfig default.
    rmsNormEps: number('rms_norm_eps', textField('rms_norm_eps'), where('rms_norm_eps'), 1e-5),
    rope: { type: 'mrope', theta, section },
    attentionBias: true,
    tieWordEmbeddings: tie ?? false,
  };
  validateDecoderConfig(text, source);


  const tokenId = (name: string, fallback: number) => {
    const value = json[name] ?? textConfig?.[name];
    return value === undefined || value === null ? fallback : integer(name, value, name);
  };
  const eos = json.eos_token_id ?? textConfig?.eos_token_id;
  const eosTokenIds = (Array.isArray(eos) ? eos : eos === undefined || eos === null ? [] : [eos]).filter((id): id is number => Number.isInteger(id));
  return {
    text,
    imageTokenId: tokenId('image_token_id', QWEN2_VL_TOKENS.image),
    videoTokenId: tokenId('video_token_id', QWEN2_VL_TOKENS.video),
    visionStartTokenId: tokenId('vision_start_token_id', QWEN2_VL_TOKENS.visionStart),
    visionEndTokenId: tokenId('vision_end_token_id', QWEN2_VL_TOKENS.visionEnd),
    eosTokenIds,
    nestedTextConfig: textConfig !== undefined,
  };
}

/** Read a JSON file of a checkpoint; undefined when absent and `optional`. */
export async function readCheckpointJson(dir: string, file: string, options: { optional: true }): Promise<Json | undefined>;
export async function readCheckpointJson(dir: string, file: string, options?: { optional?: false }): Promise<Json>;
export async function readCheckpointJson(dir: string, file: string, options: { optional?: boolean } = {}): Promise<Json | undefined> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (options.optional) return undefined;
      throw new Qwen2VlConfigError(`${dir} has no ${file}; is it a Hugging Face Qwen2-VL checkpoint directory?`, { path });
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Qwen2VlConfigError(`${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  if (!isObject(parsed)) throw new Qwen2VlConfigError(`${path} is not a JSON object`, { path });
  return parsed;
}

/** Read and parse `config.json` of a checkpoint directory. */
export async function readQwen2VlConfig(dir: string): Promise<Qwen2VlConfig> {
  return parseQwen2VlConfig(await readCheckpointJson(dir, 'config.json'), join(dir, 'config.json'));
}
