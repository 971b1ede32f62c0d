import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VasinkError } from '@vasink/tensor';
import { type DecoderConfig, validateDecoderConfig } from '@vasink/transformer-graph';

/** File name of the manifest in a converted model directory. */
export const MANIFEST_FILE = 'manifest.json';

/**
 * Block-wise symmetric weight quantization (`com.microsoft.MatMulNBits` for
 * linear layers, `GatherBlockQuantized` for the embedding table): each block
 * of `blockSize` weights along the input dimension stores `bits`-bit codes q
 * and one scale s, weight = (q − 2^(bits−1)) · s.
 */
export interface WeightQuantization {
  readonly scheme: 'int4' | 'int8';
  readonly bits: 4 | 8;
  readonly blockSize: number;
  /** MatMulNBits `accuracy_level`: 4 lets the CPU kernel quantize activations to int8 per block (fast), 0 computes in the activation dtype. */
  readonly accuracyLevel: 0 | 1 | 2 | 3 | 4;
  /** Tensors quantized, and those kept in `dtype` (too small, or input size not a multiple of the block), with their names. */
  readonly quantizedTensors: number;
  readonly floatTensors: readonly string[];
}

/**
 * What `vasink convert` writes beside the graphs: everything the runtime needs
 * to run a converted model without the original checkpoint. `S`: the family's
 * settings in `adapter` — `unknown` as read from disk, the family's own type
 * once its `readSettings` has checked them (what a loaded model holds).
 */
export interface ModelManifest<S = unknown> {
  readonly format: 'vasink-model';
  readonly formatVersion: 1;
  /** Adapter family, e.g. `llava`, `qwen2-vl`. */
  readonly family: string;
  /** The Hugging Face architecture converted, e.g. `LlavaForConditionalGeneration`. */
  readonly architecture: string;
  /** Float type of activations, KV cache and the weights left unquantized. */
  readonly dtype: 'float32' | 'float16';
  /** Weight-only quantization of the linear layers and embedding table; absent for float models. */
  readonly quantization?: WeightQuantization;
  readonly decoder: DecoderConfig;
  /** Graph files, relative to the model directory. */
  readonly graphs: {
    /** Images → `image_features [image tokens, hidden]`. */
    readonly vision: string;
    /** `input_ids [batch, tokens]` → `inputs_embeds`. */
    readonly embed: string;
    /** The VAR decoder (DESIGN §2). */
    readonly decoder: string;
    /** The same decoder with diagnostic outputs (inspect, find-sink-dims). */
    readonly decoderDiagnostics: string;
  };
  /** External weight files the graphs reference, relative to the model directory. */
  readonly weights: readonly string[];
  readonly sink: {
    /** D_sink, or null when the backbone has none published (give them at run time or run find-sink-dims). */
    readonly dims: readonly number[] | null;
    readonly startLayer: number;
    readonly backbone: string | null;
    readonly source: 'profile' | 'user' | 'none';
  };
  readonly tokens: {
    /** The id standing for one image token in prompts (`<image>` 32000, `<|image_pad|>` 151655). */
    readonly imageTokenId: number;
    readonly eosTokenIds: readonly number[];
    readonly bosTokenId?: number;
  };
  /** Family-specific settings (preprocessing, prompt format, ...), written by the family's `convert`, checked by its `readSettings`. */
  readonly adapter: S;
  readonly source: { readonly path: string; readonly convertedAt: string; readonly producer: string };
}

/** Raised for a directory that is not a usable converted model. */
export class ModelDirectoryError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'NOT_A_MODEL_DIRECTORY', details, exposure: 'input' });
  }
}

/** Read and check `manifest.json` of a converted model directory. */
export async function readManifest(dir: string): Promise<ModelManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelDirectoryError(`${dir} is not a converted vasink model (no ${MANIFEST_FILE}); convert a checkpoint first with \`vasink convert <hf-dir> ${dir}\``, { dir });
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(text) as ModelManifest;
  } catch (error) {
    throw new ModelDirectoryError(`${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  if (manifest.format !== 'vasink-model') throw new ModelDirectoryError(`${path} is not a vasink model manifest (format ${JSON.stringify(manifest.format)})`, { path });
  if (manifest.formatVersion !== 1) {
    throw new ModelDirectoryError(`${path} has format version ${String(manifest.formatVersion)}; this vasink reads version 1 — convert the checkpoint again`, { path });
  }
  validateDecoderConfig(manifest.decoder, path);
  return manifest;
}

/** Write `manifest.json` (pretty, stable key order as given). */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
