import { VasinkError } from '@vasink/tensor';

/** Rotary embedding flavour. */
export type RopeConfig =
  | { readonly type: 'default'; readonly theta: number }
  /** Qwen2-VL multimodal RoPE: position ids `[3, batch, tokens]` (t, h, w); `section` splits hd/2. */
  | { readonly type: 'mrope'; readonly theta: number; readonly section: readonly number[] };

/** A decoder-only transformer (LLaMA / Qwen2 family), sizes as in Hugging Face configs. */
export interface DecoderConfig {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly rope: RopeConfig;
  /** q/k/v projections carry a bias (Qwen2). */
  readonly attentionBias: boolean;
  /** lm_head shares the token embedding. */
  readonly tieWordEmbeddings: boolean;
}

/** Raised for a config that cannot describe a decoder. */
export class DecoderConfigError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'INVALID_DECODER_CONFIG', details, exposure: 'input' });
  }
}

/**
 * Largest value each size may take: far above any released model (LLaMA-3-405B: 126 layers, hidden 16384,
 * vocab 128256), far below what would make a config a memory bomb before its weights are even read.
 */
export const DECODER_CONFIG_LIMITS = {
  hiddenSize: 65536,
  numLayers: 1024,
  numHeads: 1024,
  numKvHeads: 1024,
  headDim: 1024,
  intermediateSize: 262144,
  vocabSize: 4194304,
} as const;

/** Check every size (a positive integer within {@link DECODER_CONFIG_LIMITS}) and their relations; returns the config. */
export function validateDecoderConfig(config: DecoderConfig, source = 'decoder config'): DecoderConfig {
  const positive = (name: keyof typeof DECODER_CONFIG_LIMITS) => {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new DecoderConfigError(`${source}: ${String(name)} must be a positive integer, got ${JSON.stringify(value)}`, { field: name });
    }
    if (value > DECODER_CONFIG_LIMITS[name]) {
      throw new DecoderConfigError(`${source}: ${String(name)} is ${value}, over the ${DECODER_CONFIG_LIMITS[name]} vasink accepts (no released model comes near)`, { field: name });
    }
  };
  for (const name of ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'vocabSize'] as const) positive(name);
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new DecoderConfigError(`${source}: num_attention_heads (${config.numHeads}) is not a multiple of num_key_value_heads (${config.numKvHeads})`);
  }
  if (config.headDim % 2 !== 0) throw new DecoderConfigError(`${source}: head dim ${config.headDim} must be even for rotary embeddings`);
  if (!(config.rmsNormEps > 0)) throw new DecoderConfigError(`${source}: rms_norm_eps must be > 0, got ${String(config.rmsNormEps)}`);
  if (!(config.rope.theta > 0)) throw new DecoderConfigError(`${source}: rope_theta must be > 0, got ${String(config.rope.theta)}`);
  if (config.rope.type === 'mrope') {
    const total = config.rope.section.reduce((a, b) => a + b, 0);
    if (config.rope.section.length !== 3 || total !== config.headDim / 2) {
      throw new DecoderConfigError(
        `${source}: mrope_section ${JSON.stringify(config.rope.section)} must have 3 parts summing to head_dim / 2 = ${config.headDim / 2}`,
      );
    }
  }
  return config;
}

/** The tensors a decoder needs, canonical names (Hugging Face LLaMA/Qwen2 layout without the `model.` prefix). */
export function decoderWeightShapes(config: DecoderConfig): Map<string, readonly number[]> {
  const { hiddenSize: d, numHeads: h, numKvHeads: kv, headDim: hd, intermediateSize: i, vocabSize: v } = config;
  const shapes = new Map<string, readonly number[]>();
  shapes.set('embed_tokens.weight', [v, d]);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `layers.${l}.`;
    shapes.set(`${p}input_layernorm.weight`, [d]);
    shapes.set(`${p}self_attn.q_proj.weight`, [h * hd, d]);
    shapes.set(`${p}self_attn.k_proj.weight`, [kv * hd, d]);
    shapes.set(`${p}self_attn.v_proj.weight`, [kv * hd, d]);
    if (config.attentionBias) {
      shapes.set(`${p}self_attn.q_proj.bias`, [h * hd]);
      shapes.set(`${p}self_attn.k_proj.bias`, [kv * hd]);
      shapes.set(`${p}self_attn.v_proj.bias`, [kv * hd]);
    }
    shapes.set(`${p}self_attn.o_proj.weight`, [d, h * hd]);
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}mlp.gate_proj.weight`, [i, d]);
    shapes.set(`${p}mlp.up_proj.weight`, [i, d]);
    shapes.set(`${p}mlp.down_proj.weight`, [d, i]);
  }
  shapes.set('norm.weight', [d]);
  if (!config.tieWordEmbeddings) shapes.set('lm_head.weight', [v, d]);
  return shapes;
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    INVALID_DECODER_CONFIG: true;
    WEIGHT_MISMATCH: true;
  }
}
