import { join, resolve } from 'node:path';
import type { ModelProto } from '@vasink/onnx-graph';
import { ATTENTION_INTERVENTIONS, type ConvertOptions, MODEL_WEIGHTS_FILE, type ManifestSettings, ModelDirectoryWriter, type ModelManifest } from '@vasink/runtime';
import { openCheckpoint } from '@vasink/safetensors';
import { InvalidArgumentError } from '@vasink/tensor';
import { UnknownSinkDimsError, assertSinkDims, resolveSinkDims, sinkDimProfileForConfig } from '@vasink/sink-detect';
import {
  WeightMismatchError,
  type WeightStore,
  assertDecoderWeights,
  assertWeights,
  buildDecoderGraph,
  buildEmbeddingGraph,
  checkpointWeightSource,
  decoderWeightShapes,
} from '@vasink/transformer-graph';
import { QWEN2_VL_SYSTEM_PROMPT, type Qwen2VlAdapterSettings, type QwenManifest, readQwen2VlVisionSettings } from './adapter-settings.js';
import { decoderNaming, detectTensorLayout, visionNaming, visionWeightShapes } from './checkpoint-layout.js';
import { Qwen2VlConfigError } from './errors.js';
import { type Qwen2VlImageSettings, parseQwen2VlImageSettings } from './preprocessor-config.js';
import { QWEN2_VL_TOKENS, type Qwen2LanguageConfig, type Qwen2VlVisionConfig, parseQwen2VlConfig, readCheckpointJson } from './qwen2vl-config.js';
import { buildVisionGraph } from './vision-graph.js';

/** File names of a converted Qwen2-VL model directory. */
export const QWEN2_VL_MODEL_FILES = {
  vision: 'vision.onnx',
  embed: 'embed.onnx',
  decoder: 'decoder.onnx',
  decoderDiagnostics: 'decoder-diagnostics.onnx',
  weights: MODEL_WEIGHTS_FILE,
} as const;

/** Tokenizer and processor files copied into the model directory when the checkpoint has them. */
const REQUIRED_FILES = ['tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL_FILES = ['chat_template.json', 'chat_template.jinja', 'special_tokens_map.json', 'generation_config.json', 'preprocessor_config.json'];

const PRODUCER = '@vasink/adapter-qwen2-vl';

/** The vision fields the processor must agree with. */
interface PatchGeometry {
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly spatialMergeSize: number;
}

/**
 * What differs between the Qwen2-VL-style families (Qwen2-VL, Qwen2.5-VL):
 * the vision tower — its config, tensors and graph — and the names written
 * in the manifest. The language model, tokenizer, processor, tensor layouts
 * and prompt are shared.
 */
export interface QwenVisionTower<V extends PatchGeometry> {
  /** Manifest `family`. */
  readonly family: string;
  /** `source.producer` of the manifest and the graphs' producer name. */
  readonly producer: string;
  /** Backbone `model_type` for the sink-dimension profiles (`qwen2_vl`; Qwen2.5-VL's has no published dims). */
  readonly sinkModelType: string;
  /** Parse config.json (throws for other architectures). */
  parseConfig(json: Readonly<Record<string, unknown>>, file: string): { architecture: string; vision: V } & Qwen2LanguageConfig;
  /** Canonical vision tensors (relative to the tower) → shapes. */
  visionShapes(vision: V): Map<string, readonly number[]>;
  buildVisionGraph(options: { config: V; weights: WeightStore; producerName: string }): Promise<ModelProto>;
  /** Check the manifest's `adapter.vision` (what `parseConfig` gave, as written at conversion). */
  readVision(vision: ManifestSettings): V;
}

/** Qwen2-VL's tower. */
export const QWEN2_VL_TOWER: QwenVisionTower<Qwen2VlVisionConfig> = {
  family: 'qwen2-vl',
  producer: PRODUCER,
  sinkModelType: 'qwen2_vl',
  parseConfig: parseQwen2VlConfig,
  visionShapes: visionWeightShapes,
  buildVisionGraph,
  readVision: readQwen2VlVisionSettings,
};

/**
 * Convert a Hugging Face Qwen2-VL checkpoint (`Qwen2VLForConditionalGeneration`,
 * released or newer transformers layout, single-file or sharded, bfloat16 /
 * float16 / float32) into a vasink model directory: `vision.onnx`,
 * `embed.onnx`, `decoder.onnx` (VAR inside), `decoder-diagnostics.onnx`, one
 * shared `weights.bin`, the tokenizer and processor files, `manifest.json`.
 *
 * Everything is validated before any graph is built: the config (fields named
 * with their file), every tensor's presence, shape and dtype, the tokenizer
 * files, user sink dims, and — for `dtype: 'float16'` — that every weight fits
 * float16's range. Sink dims: `options.sinkDims`, else the backbone's profile
 * (Qwen2-VL-7B: [458, 2570]); Qwen2-VL-2B has none published, so its manifest
 * records `dims: null` (give them at run time or run `vasink find-sink-dims`).
 */
export async function convertQwen2Vl(options: ConvertOptions): Promise<QwenManifest> {
  return convertQwenVisionLanguage(options, QWEN2_VL_TOWER);
}

/**
 * The conversion of a Qwen2-VL-style checkpoint with the given vision tower
 * (see {@link convertQwen2Vl}; `@vasink/adapter-qwen2.5-vl` passes Qwen2.5-VL's).
 */
export async function convertQwenVisionLanguage<V extends PatchGeometry>(options: ConvertOptions, tower: QwenVisionTower<V>): Promise<QwenManifest<V>> {
  const { source } = options;
  options.onProgress?.({ stage: 'validate', done: 0, total: 1 });
  const rawConfig = await readCheckpointJson(source, 'config.json');
  const config = tower.parseConfig(rawConfig, join(source, 'config.json'));
  const image = withImagePixels(
    parseQwen2VlImageSettings(await readCheckpointJson(source, 'preprocessor_config.json', { optional: true }), join(source, 'preprocessor_config.json')),
    options.imagePixels,
  );
  const v = config.vision;
  for (const [field, fromProcessor, fromConfig] of [
    ['patch_size', image.patchSize, v.patchSize],
    ['temporal_patch_size', image.temporalPatchSize, v.temporalPatchSize],
    ['merge_size', image.mergeSize, v.spatialMergeSize],
  ] as const) {
    if (fromProcessor !== fromConfig) {
      throw new Qwen2VlConfigError(`${join(source, 'preprocessor_config.json')}: ${field} ${fromProcessor} disagrees with config.json's vision_config (${fromConfig})`, {
        field,
      });
    }
  }
  for (const file of REQUIRED_FILES) await readCheckpointJson(source, file);
  const generation = await readCheckpointJson(source, 'generation_config.json', { optional: true });

  const sink = qwen2vlSinkSettings(config.text.hiddenSize, config.text.numLayers, options.sinkDims ?? checkpointSinkDims(rawConfig, join(source, 'config.json')), tower.sinkModelType);

  const checkpoint = await openCheckpoint(source);
  try {
    const layout = detectTensorLayout(checkpoint.names());
    if (!layout) {
      throw new WeightMismatchError(
        `${source}: found neither model.embed_tokens.weight (released Qwen2-VL layout) nor model.language_model.embed_tokens.weight (newer transformers layout)`,
        { source },
      );
    }
    const weights = checkpointWeightSource(checkpoint);
    const textNaming = decoderNaming(layout);
    const imageNaming = visionNaming(layout);
    await assertDecoderWeights(config.text, weights, textNaming);
    const visionShapes = tower.visionShapes(v);
    await assertWeights({ shapes: visionShapes, locate: (canonical) => ({ source: weights, name: imageNaming(canonical) }), what: 'vision weights' });
    const decoderNames = [...decoderWeightShapes(config.text).keys()];
    const visionNames = [...visionShapes.keys()];
    await ModelDirectoryWriter.assertFloat16Range(options, [{ source: weights, names: [...decoderNames.map(textNaming), ...visionNames.map(imageNaming)] }]);
    const writer = await ModelDirectoryWriter.create(options, decoderNames.length + visionNames.length);
    try {
      writer.enter('weights');
      const visionStore = writer.weightStore(weights, { naming: imageNaming });
      await writer.writeGraph(QWEN2_VL_MODEL_FILES.vision, tower.buildVisionGraph({ config: v, weights: visionStore, producerName: tower.producer }));
      const textStore = writer.weightStore(weights, { naming: textNaming });
      await writer.writeGraph(QWEN2_VL_MODEL_FILES.embed, buildEmbeddingGraph({ config: config.text, weights: textStore }));
      await writer.writeGraph(QWEN2_VL_MODEL_FILES.decoder, buildDecoderGraph({ config: config.text, weights: textStore, interventions: ATTENTION_INTERVENTIONS, producerName: tower.producer }));
      await writer.writeGraph(
        QWEN2_VL_MODEL_FILES.decoderDiagnostics,
        buildDecoderGraph({ config: config.text, weights: textStore, interventions: ATTENTION_INTERVENTIONS, diagnostics: true, producerName: tower.producer }),
      );
      await writer.copyFiles(source, { required: REQUIRED_FILES, optional: OPTIONAL_FILES });
    } catch (error) {
      writer.close();
      throw error;
    }

    const eosFromGeneration = generation?.eos_token_id;
    const eosTokenIds = [
      ...new Set([
        ...(Array.isArray(eosFromGeneration) ? eosFromGeneration : eosFromGeneration === undefined ? [] : [eosFromGeneration]),
        ...config.eosTokenIds,
        QWEN2_VL_TOKENS.imEnd,
        QWEN2_VL_TOKENS.endOfText,
      ]),
    ].filter((id): id is number => Number.isInteger(id) && id >= 0);
    const adapter: Qwen2VlAdapterSettings<V> = {
      image,
      imageTokenId: config.imageTokenId,
      visionStartTokenId: config.visionStartTokenId,
      visionEndTokenId: config.visionEndTokenId,
      vision: v,
      tensorLayout: layout,
      systemPrompt: QWEN2_VL_SYSTEM_PROMPT,
    };
    return await writer.finish({
      family: tower.family,
      architecture: config.architecture,
      decoder: config.text,
      graphs: {
        vision: QWEN2_VL_MODEL_FILES.vision,
        embed: QWEN2_VL_MODEL_FILES.embed,
        decoder: QWEN2_VL_MODEL_FILES.decoder,
        decoderDiagnostics: QWEN2_VL_MODEL_FILES.decoderDiagnostics,
      },
      sink,
      tokens: { imageTokenId: config.imageTokenId, eosTokenIds },
      adapter,
      source: { path: resolve(source), producer: tower.producer },
    });
  } finally {
    await checkpoint.close();
  }
}

/**
 * The processor's pixel bounds with the user's overrides (`ConvertOptions.imagePixels`):
 * positive integers, min ≤ max, and at least one merged patch ((patch · merge)²).
 */
export function withImagePixels(settings: Qwen2VlImageSettings, pixels: ConvertOptions['imagePixels']): Qwen2VlImageSettings {
  if (!pixels) return settings;
  const check = (name: string, value: number | undefined) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new InvalidArgumentError(`image ${name} pixels must be a positive integer, got ${String(value)}`, { [name]: value });
    }
  };
  check('min', pixels.min);
  check('max', pixels.max);
  const minPixels = pixels.min ?? settings.minPixels;
  const maxPixels = pixels.max ?? settings.maxPixels;
  if (minPixels > maxPixels) {
    throw new InvalidArgumentError(`image min pixels ${minPixels} is above max pixels ${maxPixels}`, { minPixels, maxPixels });
  }
  const unit = (settings.patchSize * settings.mergeSize) ** 2;
  if (maxPixels < unit) {
    throw new InvalidArgumentError(`image max pixels ${maxPixels} is below one merged patch (${settings.patchSize * settings.mergeSize}² = ${unit} pixels)`, { maxPixels });
  }
  return { ...settings, minPixels, maxPixels };
}

/** The manifest's sink section: user dims, the profile's (Qwen2-VL-7B), or none (Qwen2-VL-2B, unknown sizes). */
export function qwen2vlSinkSettings(hiddenSize: number, numLayers: number, userSinkDims: readonly number[] | undefined, modelType = 'qwen2_vl'): ModelManifest['sink'] {
  const model = { modelType, hiddenSize, numLayers };
  if (userSinkDims && userSinkDims.length > 0) assertSinkDims(userSinkDims, hiddenSize);
  try {
    const resolved = resolveSinkDims({ ...model, ...(userSinkDims && userSinkDims.length > 0 ? { userSinkDims } : {}) });
    return { dims: [...resolved.sinkDims], startLayer: resolved.startLayer, backbone: resolved.backbone ?? null, source: resolved.source };
  } catch (error) {
    if (!(error instanceof UnknownSinkDimsError)) throw error;
    const profile = sinkDimProfileForConfig(model);
    return { dims: null, startLayer: profile?.startLayer ?? 2, backbone: profile?.backbone ?? null, source: 'none' };
  }
}

/**
 * The vasink extension `vasink.sink_dims` of config.json: tiny checkpoints name
 * their planted sink dimensions there (real checkpoints have none).
 */
export function checkpointSinkDims(rawConfig: unknown, file: string): readonly number[] | undefined {
  const extension = (rawConfig as { vasink?: { sink_dims?: unknown } } | undefined)?.vasink;
  if (extension?.sink_dims === undefined) return undefined;
  const dims = extension.sink_dims;
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Qwen2VlConfigError(`${file}: vasink.sink_dims must be a non-empty list of dimension indices, got ${JSON.stringify(dims)}`, { field: 'vasink.sink_dims' });
  }
  return dims as number[];
}
