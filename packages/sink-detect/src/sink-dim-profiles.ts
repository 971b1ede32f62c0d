import { VasinkError } from '@vasink/tensor';

/** The sink dimensions of one language backbone (DESIGN §1). */
export interface SinkDimProfile {
  /** Stable key, e.g. `llama-2-7b`. */
  readonly backbone: string;
  /** Multimodal models built on this backbone. */
  readonly models: readonly string[];
  /** Hugging Face `model_type` of the language model config. */
  readonly modelType: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  /** D_sink, or null where nobody has published them: run the finder. */
  readonly sinkDims: readonly number[] | null;
  /** First layer (0-based) whose input can hold sinks. */
  readonly startLayer: number;
}

/** Published sink dimensions, per backbone. */
export const SINK_DIM_PROFILES: readonly SinkDimProfile[] = [
  {
    backbone: 'llama-2-7b',
    models: ['LLaVA-1.5-7B', 'LLaVA-NeXT-Vicuna-7B', 'Vicuna-7B'],
    modelType: 'llama',
    hiddenSize: 4096,
    numLayers: 32,
    sinkDims: [1415, 2533],
    startLayer: 2,
  },
  {
    backbone: 'llama-2-13b',
    models: ['LLaVA-1.5-13B', 'LLaVA-NeXT-Vicuna-13B', 'Vicuna-13B'],
    modelType: 'llama',
    hiddenSize: 5120,
    numLayers: 40,
    sinkDims: [2100, 4743],
    startLayer: 2,
  },
  {
    backbone: 'qwen2-7b',
    models: ['Qwen2-VL-7B'],
    modelType: 'qwen2_vl',
    hiddenSize: 3584,
    numLayers: 28,
    sinkDims: [458, 2570],
    startLayer: 2,
  },
  {
    backbone: 'internlm2.5-7b',
    models: ['InternVL2-8B'],
    modelType: 'internlm2',
    hiddenSize: 4096,
    numLayers: 32,
    sinkDims: [3584],
    startLayer: 2,
  },
  {
    // No published massive-activation dims for Mistral-7B-Instruct-v0.2 that VAR's authors used: run the finder on the real weights.
    backbone: 'mistral-7b',
    models: ['LLaVA-NeXT-Mistral-7B (llava-v1.6-mistral-7b)'],
    modelType: 'mistral',
    hiddenSize: 4096,
    numLayers: 32,
    sinkDims: null,
    startLayer: 2,
  },
  {
    backbone: 'qwen2-1.5b',
    models: ['Qwen2-VL-2B'],
    modelType: 'qwen2_vl',
    hiddenSize: 1536,
    numLayers: 28,
    sinkDims: null,
    startLayer: 2,
  },
];

/** Raised when a backbone has no known sink dimensions. */
export class UnknownSinkDimsError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'UNKNOWN_SINK_DIMS', details, exposure: 'input' });
  }
}

/** The profile with this backbone key, or undefined. */
export function sinkDimProfile(backbone: string): SinkDimProfile | undefined {
  return SINK_DIM_PROFILES.find((p) => p.backbone === backbone);
}

/**
 * The profile matching a language-model config (model_type, hidden size and
 * depth all equal), or undefined. `model_type` aliases: `llava`'s text config
 * is `llama`; `qwen2_vl` and `qwen2` are one family.
 */
export function sinkDimProfileForConfig(config: {
  modelType: string;
  hiddenSize: number;
  numLayers: number;
}): SinkDimProfile | undefined {
  const family = (type: string) => (type === 'qwen2' ? 'qwen2_vl' : type);
  return SINK_DIM_PROFILES.find(
    (p) =>
      family(p.modelType) === family(config.modelType) &&
      p.hiddenSize === config.hiddenSize &&
      p.numLayers === config.numLayers,
  );
}

/**
 * D_sink for a config: the user's dims when given, else the profile's. Throws
 * UnknownSinkDimsError pointing to the finder when neither exists.
 */
export function resolveSinkDims(config: {
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  userSinkDims?: readonly number[];
}): { sinkDims: readonly number[]; startLayer: number; source: 'user' | 'profile'; backbone?: string } {
  const profile = sinkDimProfileForConfig(config);
  const startLayer = profile?.startLayer ?? 2;
  if (config.userSinkDims && config.userSinkDims.length > 0) {
    return { sinkDims: config.userSinkDims, startLayer, source: 'user', ...(profile ? { backbone: profile.backbone } : {}) };
  }
  if (profile?.sinkDims) return { sinkDims: profile.sinkDims, startLayer, source: 'profile', backbone: profile.backbone };
  const which = profile
    ? `backbone ${profile.backbone} (${profile.models.join(', ')}) has no published sink dimensions`
    : `no sink-dimension profile matches model_type=${config.modelType}, hidden_size=${config.hiddenSize}, layers=${config.numLayers}`;
  throw new UnknownSinkDimsError(
    `${which}; run \`vasink find-sink-dims --model <dir> --images <files>\` and pass the dims it proposes (--sink-dims)`,
    { ...config },
  );
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    UNKNOWN_SINK_DIMS: true;
  }
}
