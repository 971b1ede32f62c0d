import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalDataFile, type ModelProto, writeModel } from '@vasink/onnx-graph';
import { type WeightNaming, type WeightSource, WeightStore, assertQuantScheme } from '@vasink/transformer-graph';
import { assertFloat16Range } from './float16-range.js';
import { MissingFileError } from './errors.js';
import type { ConvertOptions, ConvertProgress, QuantOptions } from './model-family.js';
import { MANIFEST_FILE, type ModelManifest, type WeightQuantization, writeManifest } from './model-manifest.js';

/** The one external weight file of a converted model directory. */
export const MODEL_WEIGHTS_FILE = 'weights.bin';

/** Defaults of `vasink convert --quant`: llama.cpp's Q4_0 / onnxruntime-genai's CPU choice (block 32, int8 activations). */
export const DEFAULT_QUANT_BLOCK_SIZE = 32;
export const DEFAULT_QUANT_ACCURACY_LEVEL = 4;

/** The manifest fields the writer fills in itself. */
export type ManifestContent<S = unknown> = Omit<ModelManifest<S>, 'format' | 'formatVersion' | 'dtype' | 'quantization' | 'weights' | 'source'> & {
  readonly source: Omit<ModelManifest['source'], 'convertedAt'>;
};

/**
 * The one conversion pipeline every adapter writes through: a model directory
 * with one shared external weight file, graphs built from {@link weightStore}s
 * (the dtype and `--quant` scheme applied in one place), checkpoint files
 * copied, and the manifest written last — a half-converted directory is never
 * loadable (a stale manifest is removed first). Weights are read one tensor at
 * a time from the checkpoint (each once: stores reuse what they wrote), so the
 * conversion holds about one tensor in memory, never the checkpoint.
 */
export class ModelDirectoryWriter {
  private readonly stores: WeightStore[] = [];
  private read = 0;
  private stage = 'validate';
  private closed = false;

  private constructor(
    private readonly options: ConvertOptions,
    private readonly data: ExternalDataFile,
    private readonly total: number,
  ) {}

  /**
   * Create (or reuse) the target directory, remove any manifest in it and
   * open its weight file. `totalTensors` (for progress) counts the checkpoint
   * tensors the graphs will read.
   */
  static async create(options: ConvertOptions, totalTensors: number): Promise<ModelDirectoryWriter> {
    const quant = ModelDirectoryWriter.quantOf(options);
    if (quant) assertQuantScheme(quant);
    await mkdir(options.target, { recursive: true });
    await rm(join(options.target, MANIFEST_FILE), { force: true });
    return new ModelDirectoryWriter(options, ExternalDataFile.create(join(options.target, MODEL_WEIGHTS_FILE)), totalTensors);
  }

  /** The quantization the options ask for, with defaults filled in; undefined for float models. */
  static quantOf(options: Pick<ConvertOptions, 'quant'>): Required<QuantOptions> | undefined {
    const quant = options.quant;
    if (!quant) return undefined;
    return { bits: quant.bits, blockSize: quant.blockSize ?? DEFAULT_QUANT_BLOCK_SIZE, accuracyLevel: quant.accuracyLevel ?? DEFAULT_QUANT_ACCURACY_LEVEL };
  }

  private report(progress: ConvertProgress): void {
    this.options.onProgress?.(progress);
  }

  /** Start a named stage of the conversion (progress only). */
  enter(stage: string): void {
    this.stage = stage;
    this.report({ stage, done: this.read, total: this.total });
  }

  /**
   * For `dtype: 'float16'`: check, before anything is written, that every
   * named checkpoint tensor stored in a wider type (bfloat16, float32) fits
   * float16 (float16 tensors fit by construction and are not read). Throws
   * Float16RangeError naming the tensors.
   */
  static async assertFloat16Range(options: Pick<ConvertOptions, 'dtype' | 'onProgress'>, checks: readonly { source: WeightSource; names: readonly string[] }[]): Promise<void> {
    if (options.dtype !== 'float16') return;
    let checked = 0;
    for (const { source, names } of checks) {
      const wide: string[] = [];
      for (const name of names) if ((await source.describe(name))?.dtype !== 'float16') wide.push(name);
      await assertFloat16Range(source, wide, (name) => options.onProgress?.({ stage: 'check-float16', done: checked++, total: wide.length, detail: name }));
    }
  }

  /**
   * A weight store over `source` in the target dtype, appending to the shared
   * weight file; its linear layers are quantized with the options' scheme
   * unless `quantize: false`.
   */
  weightStore(source: WeightSource, options: { naming?: WeightNaming; quantize?: boolean } = {}): WeightStore {
    const quant = options.quantize === false ? undefined : ModelDirectoryWriter.quantOf(this.options);
    const counted: WeightSource = {
      describe: (name) => source.describe(name),
      read: async (name) => {
        const tensor = await source.read(name);
        this.report({ stage: this.stage, done: ++this.read, total: this.total, detail: name });
        return tensor;
      },
    };
    const store = new WeightStore({
      source: counted,
      dtype: this.options.dtype,
      externalData: this.data,
      ...(options.naming ? { naming: options.naming } : {}),
      ...(quant ? { quant } : {}),
    });
    this.stores.push(store);
    return store;
  }

  /** Write one graph file (relative to the target) whose weights live in the shared weight file. */
  async writeGraph(file: string, model: ModelProto | Promise<ModelProto>): Promise<void> {
    writeModel(await model, join(this.options.target, file), { externalData: this.data });
  }

  /** Copy checkpoint files into the model directory: `required` must exist, `optional` are copied when present. */
  async copyFiles(from: string, files: { required?: readonly string[]; optional?: readonly string[] }): Promise<void> {
    this.enter('files');
    for (const file of files.required ?? []) {
      await copyFile(join(from, file), join(this.options.target, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new MissingFileError(`${join(from, file)} is missing; the checkpoint needs it`, { path: join(from, file) });
        throw error;
      });
    }
    for (const file of files.optional ?? []) {
      await copyFile(join(from, file), join(this.options.target, file)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }

  /** What the stores quantized (and kept float although asked), for the manifest. */
  quantization(): WeightQuantization | undefined {
    const quant = ModelDirectoryWriter.quantOf(this.options);
    if (!quant) return undefined;
    return {
      scheme: quant.bits === 4 ? 'int4' : 'int8',
      ...quant,
      quantizedTensors: this.stores.reduce((sum, s) => sum + s.quantizedNames.length, 0),
      floatTensors: [...new Set(this.stores.flatMap((s) => s.floatLinearNames))],
    };
  }

  /** Close the weight file and write the manifest (last, so only a complete directory is loadable). */
  async finish<S>(content: ManifestContent<S>): Promise<ModelManifest<S>> {
    this.close();
    const quantization = this.quantization();
    const manifest: ModelManifest<S> = {
      format: 'vasink-model',
      formatVersion: 1,
      family: content.family,
      architecture: content.architecture,
      dtype: this.options.dtype,
      ...(quantization ? { quantization } : {}),
      decoder: content.decoder,
      graphs: content.graphs,
      weights: [MODEL_WEIGHTS_FILE],
      sink: content.sink,
      tokens: content.tokens,
      adapter: content.adapter,
      source: { ...content.source, convertedAt: new Date().toISOString() },
    };
    await writeManifest(this.options.target, manifest);
    this.enter('done');
    return manifest;
  }

  /** Close the weight file (idempotent; call on failure paths). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.data.close();
  }
}
