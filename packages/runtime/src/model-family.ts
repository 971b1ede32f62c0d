import type { Tensor } from 'onnxruntime-node';
import type { ChatTurn } from './conversation.js';
import type { ModelManifest } from './model-manifest.js';
import type { Tokenizer } from './tokenizer.js';

/** An RGB image, 8 bits per channel, row-major interleaved (as `@vasink/image` decodes it). */
export interface RgbImageLike {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** The vision graph feed holding the preprocessed float32 pixels (every family's): what VCD noises. */
export const PIXEL_VALUES_FEED = 'pixel_values';

/** Images made ready for a family's vision graph; `E` is the family's own data about them (its `extra`). */
export interface PreparedImages<E = unknown> {
  /**
   * Feeds of the vision graph, whose one output is `image_features [image tokens, hidden]` (all images, in order);
   * the preprocessed pixels as float32 {@link PIXEL_VALUES_FEED}.
   */
  readonly feeds: Record<string, Tensor>;
  /** Image tokens each image becomes, in order. */
  readonly tokensPerImage: readonly number[];
  /**
   * Per image, the pictures its tokens cover, for heatmaps and sink marks:
   * one panel for LLaVA-1.5 and Qwen2-VL; LLaVA-NeXT's base view and its
   * tiles. Tokens on no panel (LLaVA-NeXT's row separators) are not drawn.
   */
  readonly panels: readonly (readonly ImagePanel[])[];
  /** Family-specific data the prompt needs (e.g. Qwen2-VL's grid_thw), typed by the family. */
  readonly extra?: E;
}

/** One picture of an image's tokens: `view` cut into `rows × cols` cells, cell k showing the image's token `tokens[k]`. */
export interface ImagePanel {
  /** The pixels the cells cover (as the model sees them, after padding / resizing). */
  readonly view: RgbImageLike;
  readonly rows: number;
  readonly cols: number;
  /** Index among the image's tokens of the token each cell shows, row-major (rows · cols entries). */
  readonly tokens: readonly number[];
  /** Names the panel in file names and reports when an image has several (`base`, `tiles`). */
  readonly label?: string;
}

/** A panel whose cells are the image's tokens `first … first + rows · cols − 1` in order. */
export function gridPanel(view: RgbImageLike, rows: number, cols: number, first = 0, label?: string): ImagePanel {
  return { view, rows, cols, tokens: Array.from({ length: rows * cols }, (_, k) => first + k), ...(label === undefined ? {} : { label }) };
}

/** `manifest` with its `adapter` section checked and typed by `family.readSettings`: what a loaded model holds. */
export function checkedManifest<S>(family: ModelFamily<S, unknown>, manifest: ModelManifest): ModelManifest<S> {
  return { ...manifest, adapter: family.readSettings(manifest) };
}

/** A prompt ready for the decoder. */
export interface PreparedPrompt {
  /** Token ids with every image token expanded (the image token id at image positions). */
  readonly inputIds: readonly number[];
  /** 1 at image-token positions. */
  readonly imageMask: Uint8Array;
  /** M-RoPE position ids `[3 × tokens]`; absent for standard RoPE (0…n−1). */
  readonly positionIds?: BigInt64Array;
  /** First decode position (M-RoPE: max + 1); default the prompt length. */
  readonly nextPosition?: number;
  /** The rendered prompt text, image tokens collapsed (for records and logs). */
  readonly text: string;
  /** Stop strings the format implies (e.g. `<|im_end|>`). */
  readonly stopStrings?: readonly string[];
}

/** Progress of a long conversion step. */
export interface ConvertProgress {
  readonly stage: string;
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
}

/** How `convert` quantizes weights: bits, block size along the input dimension (default 32), MatMulNBits accuracy level (default 4). */
export interface QuantOptions {
  readonly bits: 4 | 8;
  readonly blockSize?: number;
  readonly accuracyLevel?: 0 | 1 | 2 | 3 | 4;
}

export interface ConvertOptions {
  /** Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer files). */
  readonly source: string;
  /** Output model directory (created). */
  readonly target: string;
  readonly dtype: 'float32' | 'float16';
  /** Weight-only quantization (`vasink convert --quant int4|int8`); float weights when absent. */
  readonly quant?: QuantOptions;
  /** Override D_sink (else the backbone profile's). */
  readonly sinkDims?: readonly number[];
  /** Second checkpoint directory holding the vision tower (original LLaVA release layout). */
  readonly visionTower?: string;
  /**
   * Bounds on a resized image's height × width in pixels, replacing the
   * checkpoint processor's `min_pixels` / `max_pixels` — for families that
   * resize dynamically (Qwen2-VL); a fixed-size family refuses them.
   */
  readonly imagePixels?: { readonly min?: number; readonly max?: number };
  readonly onProgress?: (progress: ConvertProgress) => void;
}

/** Progress of writing a checkpoint fixture (as `@vasink/safetensors` reports it). */
export interface FixtureWriteProgress {
  /** The tensor being written, and its shard file. */
  readonly tensor: string;
  readonly file: string;
  readonly tensorsWritten: number;
  readonly tensorCount: number;
  readonly bytesWritten: number;
  readonly totalBytes: number;
}

/** What a real-shape fixture wrote. */
export interface WrittenFixture {
  /** The released checkpoint it copies. */
  readonly repo: string;
  /** Shard files, then the index when there is one. */
  readonly files: readonly string[];
  /** Bytes of tensor data. */
  readonly totalBytes: number;
  readonly sinkDims: readonly number[];
}

/** Checkpoints a family writes for tests and benchmarks, in the real Hugging Face layout with planted sinks. */
export interface FamilyFixtures {
  /** Small crafted checkpoints: `tiny` runs in seconds, `bench` is larger. */
  writeTiny(dir: string, options: { readonly size: 'tiny' | 'bench'; readonly seed?: number }): Promise<unknown>;
  /** Real-shape sizes: name (`7b`) → the released checkpoint it copies (exact names, shapes, dtypes, shards; random weights). */
  readonly realShapeSizes: Readonly<Record<string, string>>;
  writeRealShape(
    dir: string,
    options: { readonly size: string; readonly seed?: number; readonly layers?: number; readonly onProgress?: (progress: FixtureWriteProgress) => void },
  ): Promise<WrittenFixture>;
}

/**
 * What a model adapter (`@vasink/adapter-llava`, `@vasink/adapter-qwen2-vl`)
 * provides to the runtime: conversion, image preparation and prompt format,
 * and the facts the CLI and server print about it (help, errors) and the
 * fixtures its tests and benchmarks run on.
 *
 * - `S`: its settings, the manifest's `adapter` section: `convert` writes
 *   them, `readSettings` checks them when a model loads, and `prepareImages` /
 *   `preparePrompt` receive the manifest typed with them (the runtime only
 *   passes manifests that went through `readSettings`).
 * - `E`: what its `prepareImages` tells its `preparePrompt` about the images
 *   (`PreparedImages.extra`).
 *
 * A registry holds families as `ModelFamily` (both `unknown`); each family's
 * own code sees its types without casts.
 */
export interface ModelFamily<S = unknown, E = unknown> {
  /** Family name stored in manifests and typed on the command line, e.g. `llava`. */
  readonly name: string;
  /** How people write it: `LLaVA-1.5`. */
  readonly label: string;
  /** The Hugging Face `architectures` it converts (for messages; `matches` decides). */
  readonly architectures: readonly string[];
  /** Images are resized to dynamic sizes (so `ConvertOptions.imagePixels` applies). */
  readonly dynamicResolution: boolean;
  readonly fixtures: FamilyFixtures;
  /** True when a checkpoint's `config.json` belongs to this family. */
  matches(hfConfig: Readonly<Record<string, unknown>>): boolean;
  /** Convert a checkpoint into a model directory; returns the manifest written. */
  convert(options: ConvertOptions): Promise<ModelManifest<S>>;
  /**
   * Check the manifest's `adapter` section (read from disk: anything) and
   * return it typed; throw `ModelDirectoryError` (or another input error)
   * naming the first missing or invalid field and saying to convert again.
   * Called once when a model loads.
   */
  readSettings(manifest: ModelManifest): S;
  /** Preprocess images into the vision graph's feeds. */
  prepareImages(images: readonly RgbImageLike[], manifest: ModelManifest<S>): Promise<PreparedImages<E>>;
  /**
   * Build the prompt of one question about the prepared images. `template`:
   * the family's default (the original evaluation format) or the checkpoint's
   * chat template. `system` replaces the format's system message; `history`
   * holds earlier turns (see `layoutConversation`): its user turns show the
   * first images, the question the rest.
   */
  preparePrompt(input: {
    question: string;
    system?: string;
    history?: readonly ChatTurn[];
    images: PreparedImages<E>;
    manifest: ModelManifest<S>;
    tokenizer: Tokenizer;
    template: 'default' | 'chat';
  }): PreparedPrompt;
}
