import { type Qwen2LanguageConfig, Qwen2VlConfigError, UnsupportedArchitectureError, parseQwen2LanguageConfig } from '@vasink/adapter-qwen2-vl';

/** The Hugging Face architecture this adapter converts. */
export const QWEN2_5_VL_ARCHITECTURE = 'Qwen2_5_VLForConditionalGeneration';

/** Qwen2.5-VL's vision tower (`vision_config`). */
export interface Qwen25VlVisionConfig {
  readonly depth: number;
  /** `hidden_size`: width of the tower. */
  readonly embedDim: number;
  readonly numHeads: number;
  /** `intermediate_size`: width of each block's SwiGLU MLP. */
  readonly intermediateSize: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly spatialMergeSize: number;
  readonly inChannels: number;
  /** Width of the merger's output: the language model's hidden size. */
  readonly outHiddenSize: number;
  /** Side of an attention window, pixels (112: 4 × 4 merged tokens). */
  readonly windowSize: number;
  /** Blocks attending over the whole image; the others attend inside their window. */
  readonly fullAttentionBlocks: readonly number[];
  /** RMSNorm epsilon of the blocks and the merger (1e-6 in transformers). */
  readonly rmsNormEps: number;
}

/** What vasink needs from a Qwen2.5-VL `config.json`. */
export interface Qwen25VlConfig extends Qwen2LanguageConfig {
  readonly architecture: string;
  readonly vision: Qwen25VlVisionConfig;
}

type Json = Readonly<Record<string, unknown>>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when a parsed `config.json` describes a Qwen2.5-VL checkpoint. */
export function isQwen25VlConfig(config: Json): boolean {
  const architectures = Array.isArray(config.architectures) ? config.architectures : [];
  if (architectures.includes(QWEN2_5_VL_ARCHITECTURE)) return true;
  return architectures.length === 0 && config.model_type === 'qwen2_5_vl';
}

/**
 * Read a Qwen2.5-VL `config.json`: the language model as Qwen2-VL's (shared
 * reader: Qwen2 decoder with M-RoPE, vision tokens) and the windowed vision
 * tower. Throws UnsupportedArchitectureError for other models and
 * Qwen2VlConfigError naming file and field for absent or unusable values.
 */
export function parseQwen25VlConfig(json: Json, source = 'config.json'): Qwen25VlConfig {
  if (!isQwen25VlConfig(json)) {
    const found = Array.isArray(json.architectures) ? json.architectures.join(', ') : `model_type ${JSON.stringify(json.model_type)}`;
    throw new UnsupportedArchitectureError(`${source} describes ${found}, not ${QWEN2_5_VL_ARCHITECTURE}`, { source, architectures: json.architectures, modelType: json.model_type });
  }
  const language = parseQwen2LanguageConfig(json, source);
  if (!isObject(json.vision_config)) throw new Qwen2VlConfigError(`${source} has no vision_config`, { source, field: 'vision_config' });
  const v = json.vision_config;
  const fail = (field: string, expected: string): never => {
    throw new Qwen2VlConfigError(`${source}: vision_config.${field} must be ${expected}, got ${JSON.stringify(v[field])}`, { source, field: `vision_config.${field}` });
  };
  const int = (field: string, fallback?: number): number => {
    const value = v[field] ?? fallback;
    if (value === undefined) throw new Qwen2VlConfigError(`${source} has no vision_config.${field}`, { source, field: `vision_config.${field}` });
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 2 ** 22) fail(field, 'a positive integer');
    return value as number;
  };
  const act = v.hidden_act ?? 'silu';
  if (act !== 'silu') fail('hidden_act', '"silu" (Qwen2.5-VL\'s SwiGLU blocks)');
  const embedDim = int('hidden_size');
  const numHeads = int('num_heads');
  if (embedDim % numHeads !== 0 || (embedDim / numHeads) % 4 !== 0) fail('num_heads', `a divisor of hidden_size ${embedDim} leaving a head size divisible by 4 (2-D rotary embedding)`);
  const depth = int('depth');
  const blocks = v.fullatt_block_indexes ?? [];
  if (!Array.isArray(blocks) || !blocks.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < depth)) {
    fail('fullatt_block_indexes', `a list of block indexes below depth ${depth}`);
  }
  const patchSize = int('patch_size', 14);
  const spatialMergeSize = int('spatial_merge_size', 2);
  const windowSize = int('window_size', 112);
  if (windowSize % (patchSize * spatialMergeSize) !== 0) fail('window_size', `a multiple of patch_size × spatial_merge_size (${patchSize * spatialMergeSize})`);
  const outHiddenSize = int('out_hidden_size', language.text.hiddenSize);
  if (outHiddenSize !== language.text.hiddenSize) fail('out_hidden_size', `the language model's hidden_size ${language.text.hiddenSize}`);
  return {
    architecture: QWEN2_5_VL_ARCHITECTURE,
    ...language,
    vision: {
      depth,
      embedDim,
      numHeads,
      intermediateSize: int('intermediate_size'),
      patchSize,
      temporalPatchSize: int('temporal_patch_size', 2),
      spatialMergeSize,
      inChannels: v.in_chans === undefined ? int('in_channels', 3) : int('in_chans'),
      outHiddenSize,
      windowSize,
      fullAttentionBlocks: [...(blocks as number[])],
      rmsNormEps: 1e-6,
    },
  };
}

/** The tensors of the vision tower and merger, canonical names relative to the tower (`patch_embed.proj.weight`, …) → shapes. */
export function visionWeightShapes(config: Qwen25VlVisionConfig): Map<string, readonly number[]> {
  const { embedDim: e, intermediateSize: m, spatialMergeSize: s, outHiddenSize: d } = config;
  const shapes = new Map<string, readonly number[]>();
  shapes.set('patch_embed.proj.weight', [e, config.inChannels, config.temporalPatchSize, config.patchSize, config.patchSize]);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}.`;
    shapes.set(`${p}norm1.weight`, [e]);
    shapes.set(`${p}attn.qkv.weight`, [3 * e, e]);
    shapes.set(`${p}attn.qkv.bias`, [3 * e]);
    shapes.set(`${p}attn.proj.weight`, [e, e]);
    shapes.set(`${p}attn.proj.bias`, [e]);
    shapes.set(`${p}norm2.weight`, [e]);
    for (const proj of ['gate_proj', 'up_proj']) {
      shapes.set(`${p}mlp.${proj}.weight`, [m, e]);
      shapes.set(`${p}mlp.${proj}.bias`, [m]);
    }
    shapes.set(`${p}mlp.down_proj.weight`, [e, m]);
    shapes.set(`${p}mlp.down_proj.bias`, [e]);
  }
  const merged = e * s * s;
  shapes.set('merger.ln_q.weight', [e]);
  shapes.set('merger.mlp.0.weight', [merged, merged]);
  shapes.set('merger.mlp.0.bias', [merged]);
  shapes.set('merger.mlp.2.weight', [d, merged]);
  shapes.set('merger.mlp.2.bias', [d]);
  return shapes;
}
