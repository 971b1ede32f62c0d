import { join } from 'node:path';
import { float16ArrayToFloat32 } from '@vasink/tensor';
import { VasinkError } from '@vasink/tensor';
import type { VarConfig } from '@vasink/var';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { type GenerateOptions, type GenerationEvent, generate } from './generate.js';
import type { ModelFamily, PreparedImages, PreparedPrompt, RgbImageLike } from './model-family.js';
import { type ModelManifest, ModelDirectoryError, readManifest } from './model-manifest.js';
import { type VarStepDiagnostics, createOnnxDecoderStep } from './onnx-decoder-step.js';
import { type Device, type DeviceRequest, type SessionLogger, createSession } from './session.js';
import { type Tokenizer, loadTokenizer } from './tokenizer.js';

export interface LoadVisionLanguageModelOptions {
  /** Adapters to pick from by the manifest's family. */
  families: readonly ModelFamily[];
  device?: DeviceRequest;
  intraOpNumThreads?: number;
  logger?: SessionLogger;
  /** D_sink overriding the manifest's. */
  sinkDims?: readonly number[];
}

/** One question about some images. */
export interface VisionLanguageRequest {
  question: string;
  images: readonly RgbImageLike[];
  /** The family's default prompt format, or the checkpoint's chat template. */
  template?: 'default' | 'chat';
}

/** A request with its prompt built and its image features computed (once). */
export interface PreparedRequest {
  readonly prompt: PreparedPrompt;
  readonly images: PreparedImages;
  /** `[tokens × hidden]` prompt embeddings, image features merged in. */
  readonly embeds: Float32Array;
  readonly visionMs: number;
}

/** Per-row settings of one generation: VAR on with a config, or off. */
export interface RowSettings {
  readonly var?: VarConfig;
}

export interface VisionLanguageGenerateOptions extends Omit<GenerateOptions, 'tokenizer' | 'eosTokenIds'> {
  /** One row per answer, e.g. `[{}, { var }]` for base and VAR side by side. */
  rows: readonly RowSettings[];
  /** Use the diagnostic graph (selected heads and moved mass per step). */
  diagnostics?: boolean;
}

/** Raised when VAR is asked of a model whose sink dimensions are unknown. */
export class MissingSinkDimsError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'MISSING_SINK_DIMS' });
  }
}

/**
 * A converted multimodal model, ready to answer: its sessions (vision,
 * embedding, decoder; the diagnostic decoder on demand), tokenizer and family.
 */
export class VisionLanguageModel {
  private diagnosticDecoder: InferenceSession | undefined;

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly family: ModelFamily,
    readonly tokenizer: Tokenizer,
    readonly device: Device,
    private readonly sessions: { vision: InferenceSession; embed: InferenceSession; decoder: InferenceSession },
    private readonly options: LoadVisionLanguageModelOptions,
  ) {}

  /** Open a converted model directory. */
  static async load(dir: string, options: LoadVisionLanguageModelOptions): Promise<VisionLanguageModel> {
    const manifest = await readManifest(dir);
    const family = options.families.find((f) => f.name === manifest.family);
    if (!family) {
      throw new ModelDirectoryError(`${dir} holds a ${manifest.family} model; this vasink knows ${options.families.map((f) => f.name).join(', ')}`, {
        dir,
        family: manifest.family,
      });
    }
    const tokenizer = await loadTokenizer(dir);
    const open = (file: string) =>
      createSession(join(dir, file), {
        device: options.device ?? 'cpu',
        ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
        ...(options.logger ? { logger: options.logger } : {}),
      });
    const decoder = await open(manifest.graphs.decoder);
    const [vision, embed] = await Promise.all([open(manifest.graphs.vision), open(manifest.graphs.embed)]);
    return new VisionLanguageModel(dir, manifest, family, tokenizer, decoder.device, { vision: vision.session, embed: embed.session, decoder: decoder.session }, options);
  }

  /** D_sink in use: the override, else the manifest's; null when unknown. */
  get sinkDims(): readonly number[] | null {
    return this.options.sinkDims && this.options.sinkDims.length > 0 ? this.options.sinkDims : this.manifest.sink.dims;
  }

  /** Build the prompt and compute the image features (once per request, whatever the rows). */
  async prepare(request: VisionLanguageRequest): Promise<PreparedRequest> {
    const images = await this.family.prepareImages(request.images, this.manifest);
    const prompt = this.family.preparePrompt({
      question: request.question,
      images,
      manifest: this.manifest,
      tokenizer: this.tokenizer,
      template: request.template ?? 'default',
    });
    const started = performance.now();
    const features = request.images.length > 0 ? await this.runVision(images) : new Float32Array(0);
    const visionMs = performance.now() - started;
    const embeds = await this.embedTokens(prompt.inputIds);
    const d = this.manifest.decoder.hiddenSize;
    const imagePositions = [...prompt.imageMask.entries()].filter(([, m]) => m).map(([t]) => t);
    if (imagePositions.length * d !== features.length) {
      throw new VasinkError(
        `the prompt has ${imagePositions.length} image tokens but the vision graph gave features for ${features.length / d}`,
        { code: 'IMAGE_TOKEN_MISMATCH' },
      );
    }
    imagePositions.forEach((t, k) => embeds.set(features.subarray(k * d, (k + 1) * d), t * d));
    return { prompt, images, embeds, visionMs };
  }

  /** Generate one answer per row from one prepared request (the image features are shared). */
  async *generate(prepared: PreparedRequest, options: VisionLanguageGenerateOptions): AsyncGenerator<GenerationEvent<VarStepDiagnostics>> {
    const { rows, diagnostics, ...rest } = options;
    const anyVar = rows.some((r) => r.var);
    const sinkDims = this.sinkDims;
    if (anyVar && !sinkDims) {
      throw new MissingSinkDimsError(
        `no sink dimensions are known for this model (backbone ${this.manifest.sink.backbone ?? 'unknown'}); run \`vasink find-sink-dims --model ${this.dir} --images <files>\` and pass --sink-dims, or run without VAR`,
      );
    }
    const decoder = diagnostics ? await this.diagnosticSession() : this.sessions.decoder;
    const step = createOnnxDecoderStep({
      decoder,
      config: this.manifest.decoder,
      dtype: this.manifest.dtype,
      embed: (ids) => this.embedTokens(ids),
      prompts: rows.map((row) => ({
        embeds: prepared.embeds,
        imageMask: prepared.prompt.imageMask,
        ...(prepared.prompt.positionIds ? { positionIds: prepared.prompt.positionIds } : {}),
        ...(prepared.prompt.nextPosition === undefined ? {} : { nextPosition: prepared.prompt.nextPosition }),
        ...(row.var ? { var: row.var } : {}),
      })),
      ...(sinkDims ? { sinkDims } : {}),
      sinkStartLayer: this.manifest.sink.startLayer,
    });
    yield* generate(step, {
      ...rest,
      tokenizer: this.tokenizer,
      eosTokenIds: this.manifest.tokens.eosTokenIds,
      stopStrings: [...(rest.stopStrings ?? []), ...(prepared.prompt.stopStrings ?? [])],
    });
  }

  /** The diagnostic decoder session (loaded on first use). */
  async diagnosticSession(): Promise<InferenceSession> {
    if (!this.diagnosticDecoder) {
      const created = await createSession(join(this.dir, this.manifest.graphs.decoderDiagnostics), {
        device: this.device,
        ...(this.options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: this.options.intraOpNumThreads }),
        ...(this.options.logger ? { logger: this.options.logger } : {}),
      });
      this.diagnosticDecoder = created.session;
    }
    return this.diagnosticDecoder;
  }

  /** Embeddings `[ids × hidden]` as float32. */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.sessions.embed.run({ input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return asFloat32(out.inputs_embeds as Tensor);
  }

  private async runVision(images: PreparedImages): Promise<Float32Array> {
    const out = await this.sessions.vision.run(images.feeds);
    const features = out.image_features;
    if (!features) throw new VasinkError('the vision graph has no image_features output', { code: 'BAD_VISION_GRAPH' });
    return asFloat32(features as Tensor);
  }

  async close(): Promise<void> {
    await Promise.all([
      this.sessions.vision.release(),
      this.sessions.embed.release(),
      this.sessions.decoder.release(),
      this.diagnosticDecoder?.release(),
    ]);
  }
}

function asFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === 'float32') return Float32Array.from(tensor.data as Float32Array);
  if (tensor.type === 'float16') return float16ArrayToFloat32(tensor.data as Uint16Array);
  throw new VasinkError(`expected float32 or float16, got ${tensor.type}`, { code: 'DTYPE_MISMATCH' });
}
