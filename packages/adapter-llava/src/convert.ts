import { copyFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ATTENTION_INTERVENTIONS, type ConvertOptions, MODEL_WEIGHTS_FILE, MissingFileError, ModelDirectoryWriter, type ModelManifest, type Tokenizer, loadTokenizer } from '@vasink/runtime';
import { UnknownSinkDimsError, assertSinkDims, resolveSinkDims } from '@vasink/sink-detect';
import { InvalidArgumentError } from '@vasink/tensor';
import { buildDecoderGraph, buildEmbeddingGraph, decoderWeightShapes } from '@vasink/transformer-graph';
import { LlavaConfigError, UnsupportedCheckpointError } from './errors.js';
import { type LlavaConfig, llavaTokensPerImage } from './llava-config.js';
import type { LlavaPromptFormat } from './llava-prompt.js';
import { type LlavaCheckpoint, type LlavaLayout, readLlavaCheckpoint } from './llava-checkpoint.js';
import { CLIP_NORMALIZATION } from './prepare-images.js';
import { buildLlavaVisionGraph, visionWeightSource } from './vision-graph.js';
import { visionWeightShapes } from './vision-weights.js';

/** File names in a converted LLaVA model directory. */
export const LLAVA_MODEL_FILES = {
  vision: 'vision.onnx',
  embed: 'embed.onnx',
  decoder: 'decoder.onnx',
  decoderDiagnostics: 'decoder-diagnostics.onnx',
  weights: MODEL_WEIGHTS_FILE,
} as const;

const PRODUCER = '@vasink/adapter-llava';

/** Files copied from the checkpoint when present (the first two are required). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.json', 'chat_template.jinja'] as const;
const PREPROCESSOR_FILE = 'preprocessor_config.json';

/** Id written at image positions of an original-layout model, whose vocabulary has no image token (`<unk>`; the engine overwrites those embeddings). */
export const ORIGINAL_IMAGE_PLACEHOLDER_ID = 0;

/** The `adapter` section of a LLaVA manifest. */
export interface LlavaAdapterSettings {
  readonly layout: LlavaLayout;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly tokensPerImage: number;
  /** Default preprocessing: `'pad'` (original evaluation); `'hf'` is available. */
  readonly preprocess: 'pad' | 'hf';
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
  /** The original evaluation format of the backbone: `vicuna_v1` (Vicuna, every released LLaVA-1.5), `mistral_instruct` (a Mistral backbone). */
  readonly promptFormat: LlavaPromptFormat;
  readonly visionFeatureLayer: number;
  readonly visionFeatureSelectStrategy: 'default' | 'full';
  /** False for the original layout: `tokens.imageTokenId` is a placeholder. */
  readonly imageTokenInVocabulary: boolean;
}

/** The `adapter` section of a LLaVA-NeXT manifest. */
export interface LlavaNextAdapterSettings {
  readonly layout: LlavaLayout;
  /** The tower's square input (one tile), pixels. */
  readonly imageSize: number;
  readonly patchSize: number;
  /** `image_grid_pinpoints`, each `[height, width]`. */
  readonly pinpoints: readonly (readonly [number, number])[];
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
  /** The original evaluation format of the backbone: `vicuna_v1` (Vicuna), `mistral_instruct` (Mistral). */
  readonly promptFormat: LlavaPromptFormat;
  readonly visionFeatureLayer: number;
}

/** A converted LLaVA-1.5 model's manifest. */
export type LlavaManifest = ModelManifest<LlavaAdapterSettings>;
/** A converted LLaVA-NeXT model's manifest. */
export type LlavaNextManifest = ModelManifest<LlavaNextAdapterSettings>;

type Json = Record<string, unknown>;

async function readOptionalJson(path: string): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new LlavaConfigError(`${path} is not valid JSON: ${(error as Error).message}`, { file: path });
  }
}

/** A size field of a CLIPImageProcessor config: an int, `{ shortest_edge }` or `{ height, width }`. */
function sizeOf(value: unknown, file: string, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'object') {
    const v = value as Json;
    if (typeof v.shortest_edge === 'number') return v.shortest_edge;
    if (typeof v.height === 'number' && v.height === v.width) return v.height;
  }
  throw new LlavaConfigError(`${file}: ${field} ${JSON.stringify(value)} is not a square size LLaVA can use`, { file, field });
}

function triple(value: unknown, fallback: readonly [number, number, number], file: string, field: string): readonly [number, number, number] {
  if (value === undefined || value === null) return fallback;
  if (!Array.isArray(value) || value.length !== 3 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new LlavaConfigError(`${file}: ${field} must be three numbers (R, G, B), got ${JSON.stringify(value)}`, { file, field });
  }
  return value as unknown as readonly [number, number, number];
}

/** The preprocessing a checkpoint's preprocessor_config.json describes, checked against the vision tower. */
async function readPreprocessor(dirs: readonly string[], config: LlavaConfig): Promise<{ file?: string; normalization: Pick<LlavaAdapterSettings, 'imageMean' | 'imageStd' | 'rescaleFactor'> }> {
  for (const dir of dirs) {
    const file = join(dir, PREPROCESSOR_FILE);
    const json = await readOptionalJson(file);
    if (!json) continue;
    const size = config.vision.imageSize;
    const pinpoints = json.image_grid_pinpoints;
    if (config.anyres && pinpoints !== undefined && JSON.stringify(pinpoints) !== JSON.stringify(config.anyres.pinpoints)) {
      throw new LlavaConfigError(
        `${file}: image_grid_pinpoints ${JSON.stringify(pinpoints)} differ from config.json's ${JSON.stringify(config.anyres.pinpoints)}; the processor and the model must tile alike`,
        { file, field: 'image_grid_pinpoints' },
      );
    }
    const crop = json.do_center_crop === false ? undefined : sizeOf(json.crop_size, file, 'crop_size');
    const resize = sizeOf(json.size, file, 'size');
    for (const [field, value] of [['crop_size', crop], ['size', resize]] as const) {
      if (value !== undefined && value !== size) {
        throw new LlavaConfigError(`${file}: ${field} ${value} differs from the vision tower's image_size ${size}; LLaVA resizes and crops to the tower's size`, { file, field });
      }
    }
    const rescale = json.rescale_factor ?? CLIP_NORMALIZATION.rescaleFactor;
    if (typeof rescale !== 'number' || !(rescale > 0)) throw new LlavaConfigError(`${file}: rescale_factor must be a positive number`, { file, field: 'rescale_factor' });
    return {
      file,
      normalization: {
        imageMean: triple(json.image_mean, CLIP_NORMALIZATION.imageMean, file, 'image_mean'),
        imageStd: triple(json.image_std, CLIP_NORMALIZATION.imageStd, file, 'image_std'),
        rescaleFactor: rescale,
      },
    };
  }
  return { normalization: CLIP_NORMALIZATION };
}

async function loadCheckpointTokenizer(checkpoint: LlavaCheckpoint): Promise<Tokenizer> {
  try {
    return await loadTokenizer(checkpoint.dir);
  } catch (error) {
    if (error instanceof MissingFileError && checkpoint.layout === 'original') {
      throw new MissingFileError(
        `${error.message}. Original LLaVA releases ship tokenizer.model only: put the tokenizer.json and tokenizer_config.json of the matching llava-hf checkpoint (e.g. llava-hf/llava-1.5-7b-hf, same LLaMA vocabulary) beside config.json`,
        { path: checkpoint.dir },
      );
    }
    throw error;
  }
}

/**
 * The manifest's sink section: the user's dims, else the checkpoint's
 * `vasink.sink_dims` (both `source: 'user'`), else the LLaMA backbone's
 * profile (7B: 1415, 2533; 13B: 2100, 4743), else none (`dims: null`) —
 * an unknown backbone does not fail the conversion.
 */
export function resolveLlavaSinkDims(config: Pick<LlavaConfig, 'text' | 'textModelType' | 'sinkDims'>, userDims?: readonly number[]): ModelManifest['sink'] {
  const { hiddenSize, numLayers } = config.text;
  const given = userDims && userDims.length > 0 ? userDims : config.sinkDims;
  if (given) assertSinkDims(given, hiddenSize);
  try {
    const resolved = resolveSinkDims({ modelType: config.textModelType, hiddenSize, numLayers, ...(given ? { userSinkDims: given } : {}) });
    return { dims: [...resolved.sinkDims], startLayer: resolved.startLayer, backbone: resolved.backbone ?? null, source: resolved.source };
  } catch (error) {
    if (error instanceof UnknownSinkDimsError) return { dims: null, startLayer: 2, backbone: null, source: 'none' };
    throw error;
  }
}

/**
 * Convert a LLaVA-1.5 checkpoint (llava-hf, old or new tensor names, or the
 * original release with its CLIP tower) or a LLaVA-NeXT one (llava-hf
 * `LlavaNextForConditionalGeneration`: family `llava-next`, the vision graph
 * packing anyres tiles) into a vasink model directory:
 * `vision.onnx`, `embed.onnx`, `decoder.onnx` (VAR), `decoder-diagnostics.onnx`,
 * one shared `weights.bin` (each tensor written once), the tokenizer and
 * preprocessor files, and `manifest.json`. Everything is validated first —
 * config, tensors, tokenizer, preprocessor, sink dims — so a failing
 * conversion leaves the target untouched.
 */
export function convertLlava(options: ConvertOptions): Promise<LlavaManifest | LlavaNextManifest> {
  return convertLlavaAs(options, 'any');
}

/**
 * {@link convertLlava} for one family: refuses (before writing anything) a
 * checkpoint of the other one. What `llavaFamily.convert` /
 * `llavaNextFamily.convert` run.
 */
export function convertLlavaAs(options: ConvertOptions, family: 'llava'): Promise<LlavaManifest>;
export function convertLlavaAs(options: ConvertOptions, family: 'llava-next'): Promise<LlavaNextManifest>;
export function convertLlavaAs(options: ConvertOptions, family: 'any'): Promise<LlavaManifest | LlavaNextManifest>;
export async function convertLlavaAs(options: ConvertOptions, family: 'llava' | 'llava-next' | 'any'): Promise<LlavaManifest | LlavaNextManifest> {
  const { source, target } = options;
  if (options.imagePixels) {
    throw new InvalidArgumentError(
      'LLaVA resizes images to its vision tower\'s square input or, for LLaVA-NeXT, to its image_grid_pinpoints (336×336 tiles for the released checkpoints): image pixel bounds apply to Qwen2-VL only',
      { imagePixels: options.imagePixels },
    );
  }
  const checkpoint = await readLlavaCheckpoint(source, options.visionTower ? { visionTower: options.visionTower } : {});
  try {
    const { config } = checkpoint;
    const found = config.anyres ? 'llava-next' : 'llava';
    if (family !== 'any' && family !== found) {
      throw new UnsupportedCheckpointError(
        `${source} is a ${found === 'llava-next' ? 'LLaVA-NeXT' : 'LLaVA-1.5'} checkpoint (${config.architecture}), not ${family === 'llava-next' ? 'LLaVA-NeXT' : 'LLaVA-1.5'}: convert it as the ${found} family (\`vasink convert\` detects it)`,
        { source, architecture: config.architecture, family, found },
      );
    }
    const tokenizer = await loadCheckpointTokenizer(checkpoint);
    const preprocessorDirs = checkpoint.visionTowerDir ? [source, checkpoint.visionTowerDir] : [source];
    const preprocessor = await readPreprocessor(preprocessorDirs, config);
    const sink = resolveLlavaSinkDims(config, options.sinkDims);
    const generation = await readOptionalJson(join(source, 'generation_config.json'));

    const visionSource = visionWeightSource(checkpoint.visionWeights);
    await ModelDirectoryWriter.assertFloat16Range(options, [
      { source: checkpoint.decoderWeights.source, names: [...decoderWeightShapes(config.text).keys()].map(checkpoint.decoderWeights.naming) },
      { source: visionSource, names: [...visionWeightShapes(config).keys()] },
    ]);
    const writer = await ModelDirectoryWriter.create(options, decoderWeightShapes(config.text).size + visionWeightShapes(config).size);
    try {
      writer.enter('validate');
      const decoderWeights = writer.weightStore(checkpoint.decoderWeights.source, { naming: checkpoint.decoderWeights.naming });
      const visionWeights = writer.weightStore(visionSource);
      writer.enter('embed');
      await writer.writeGraph(LLAVA_MODEL_FILES.embed, buildEmbeddingGraph({ config: config.text, weights: decoderWeights }));
      writer.enter('decoder');
      await writer.writeGraph(LLAVA_MODEL_FILES.decoder, buildDecoderGraph({ config: config.text, weights: decoderWeights, interventions: ATTENTION_INTERVENTIONS, producerName: PRODUCER }));
      writer.enter('decoder-diagnostics');
      await writer.writeGraph(
        LLAVA_MODEL_FILES.decoderDiagnostics,
        buildDecoderGraph({ config: config.text, weights: decoderWeights, interventions: ATTENTION_INTERVENTIONS, diagnostics: true, producerName: PRODUCER }),
      );
      writer.enter('vision');
      await writer.writeGraph(LLAVA_MODEL_FILES.vision, buildLlavaVisionGraph({ config, weights: visionWeights, producerName: PRODUCER }));
      await writer.copyFiles(source, { optional: TOKENIZER_FILES });
      if (preprocessor.file) await copyFile(preprocessor.file, join(target, PREPROCESSOR_FILE));
    } catch (error) {
      writer.close();
      throw error;
    }

    const eos = new Set<number>(config.eosTokenIds);
    if (tokenizer.eosTokenId !== undefined) eos.add(tokenizer.eosTokenId);
    const generationEos = generation?.eos_token_id;
    for (const id of Array.isArray(generationEos) ? generationEos : [generationEos]) if (typeof id === 'number') eos.add(id);
    const bosTokenId = tokenizer.bosTokenId ?? config.bosTokenId;
    const promptFormat = config.textModelType === 'mistral' ? 'mistral_instruct' : 'vicuna_v1';
    const next: LlavaNextAdapterSettings | undefined = config.anyres && {
      layout: checkpoint.layout,
      imageSize: config.vision.imageSize,
      patchSize: config.vision.patchSize,
      pinpoints: config.anyres.pinpoints,
      ...preprocessor.normalization,
      promptFormat,
      visionFeatureLayer: config.visionFeatureLayer,
    };
    const adapter: LlavaAdapterSettings = {
      layout: checkpoint.layout,
      imageSize: config.vision.imageSize,
      patchSize: config.vision.patchSize,
      tokensPerImage: llavaTokensPerImage(config),
      preprocess: 'pad',
      ...preprocessor.normalization,
      promptFormat,
      visionFeatureLayer: config.visionFeatureLayer,
      visionFeatureSelectStrategy: config.visionFeatureSelectStrategy,
      imageTokenInVocabulary: config.imageTokenId !== undefined,
    };
    const content = {
      architecture: config.architecture,
      decoder: config.text,
      graphs: {
        vision: LLAVA_MODEL_FILES.vision,
        embed: LLAVA_MODEL_FILES.embed,
        decoder: LLAVA_MODEL_FILES.decoder,
        decoderDiagnostics: LLAVA_MODEL_FILES.decoderDiagnostics,
      },
      sink,
      tokens: {
        imageTokenId: config.imageTokenId ?? ORIGINAL_IMAGE_PLACEHOLDER_ID,
        eosTokenIds: [...eos],
        ...(bosTokenId === undefined ? {} : { bosTokenId }),
      },
      source: { path: resolve(source), producer: PRODUCER },
    };
    return next ? await writer.finish({ ...content, family: 'llava-next', adapter: next }) : await writer.finish({ ...content, family: 'llava', adapter });
  } finally {
    await checkpoint.close();
  }
}
