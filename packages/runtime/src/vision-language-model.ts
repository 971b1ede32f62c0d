import { join } from 'node:path';
import { InvalidArgumentError, float16ArrayToFloat32 } from '@vasink/tensor';
import { VasinkError } from '@vasink/tensor';
import type { ContrastSettings, MethodRow } from '@vasink/transformer-graph';
import { addDiffusionNoise, validateContrast } from '@vasink/vcd';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { type BatchSchedulerStats, BatchScheduler, type ScheduledPromptRow } from './batch-scheduler.js';
import { type DecoderBatchOptions, DecoderBatch } from './decoder-batch.js';
import type { GenerateOptions, GenerationEvent } from './generate.js';
import type { ChatTurn } from './conversation.js';
import type { DecoderStep } from './decoder-step.js';
import { type ModelFamily, PIXEL_VALUES_FEED, checkedManifest, type PreparedImages, type PreparedPrompt, type RgbImageLike } from './model-family.js';
import { assertMemoryFits, estimateModelMemory, fitBatchRows } from './memory-preflight.js';
import { type ModelManifest, ModelDirectoryError, readManifest } from './model-manifest.js';
import { type DecoderPromptRow, type VarStepDiagnostics, createOnnxDecoderStep } from './onnx-decoder-step.js';
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
  /**
   * Which decoder graph to open at load. `'product'` (default): the plain VAR
   * graph, the diagnostic one opened on the first inspection. `'diagnostic'`:
   * only the diagnostic graph, used for every generation as well — one copy
   * of the decoder weights in memory for tools that inspect anyway.
   */
  decoder?: 'product' | 'diagnostic';
  /**
   * The memory preflight run before any session opens (see
   * `estimateModelMemory`): the longest context one row may reach (default
   * 2048 tokens) and the rows decoded at once (default 2: `--compare`).
   * A load that would not fit fails with InsufficientMemoryError naming the
   * numbers and the fix. `false` skips it.
   */
  memory?: { readonly contextTokens?: number; readonly promptTokens?: number; readonly rows?: number } | false;
  /**
   * Rows the decoder batch holds at once (continuous batching, DESIGN §6):
   * concurrent `generate` calls share one batch up to this many rows, the
   * others wait to join. Default 2 (one request with `--compare`); the
   * preflight provisions this many rows unless `memory.rows` says otherwise.
   */
  maxBatchRows?: number;
  /**
   * Lower `maxBatchRows` to what the memory preflight allows instead of
   * refusing: the load keeps the most rows, down to `min`, whose KV cache
   * and prefill activations fit (`model.maxBatchRows` tells what it kept).
   */
  fitBatchRows?: { readonly min: number };
}

/** Rows a model batches by default: one request's base and VAR rows. */
export const DEFAULT_MAX_BATCH_ROWS = 2;

/** Context the preflight provisions for when the caller does not say: a 576-token image, a long question and a long answer. */
export const DEFAULT_PREFLIGHT_CONTEXT_TOKENS = 2048;

/** One question about some images, optionally in a conversation. */
export interface VisionLanguageRequest {
  question: string;
  /** All images of the conversation, in order: the history's user turns show the first ones. */
  images: readonly RgbImageLike[];
  /** Replaces the prompt format's system message. */
  system?: string;
  /** Earlier turns: user, assistant, user, assistant, … (see `layoutConversation`). */
  history?: readonly ChatTurn[];
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

/**
 * Per-row settings of one generation: the attention interventions it runs
 * (`var`, `pai`, `vaf`; absent = off) and an optional contrast with a
 * counterpart row (VCD's noised image, PAI's text-only prompt).
 */
export type RowSettings = MethodRow;

export interface VisionLanguageGenerateOptions extends Omit<GenerateOptions, 'tokenizer' | 'eosTokenIds'> {
  /** One row per answer, e.g. `[{}, { var }]` for base and VAR side by side. */
  rows: readonly RowSettings[];
  /** Use the diagnostic graph (selected heads and moved mass per step). */
  diagnostics?: boolean;
}

/** One layer of one row, at prefill, from the diagnostic graph. */
export interface LayerInspection {
  /** Prompt positions that are sinks of this layer. */
  readonly sinkPositions: readonly number[];
  /** `[tokens]` φ of every prompt token entering the layer. */
  readonly score: Float32Array;
  /** Rows (queries) selected per head. */
  readonly selectedPerHead: readonly number[];
  /** Attention mass moved onto visual non-sinks, summed over heads and queries. */
  readonly moved: number;
  /** `[heads × tokens]` attention (after VAR) averaged over the eligible queries. */
  readonly attention: Float32Array;
  /** `[hidden]` the layer input of the first prompt token. */
  readonly firstHidden: Float32Array;
}

/** What the diagnostic graph shows of one prefill, per row. */
export interface Inspection {
  readonly rows: readonly { readonly settings: RowSettings; readonly layers: readonly LayerInspection[]; readonly logits: Float32Array }[];
}

/** Raised when VAR is asked of a model whose sink dimensions are unknown. */
export class MissingSinkDimsError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'VAR_UNAVAILABLE', exposure: 'input' });
  }
}

/**
 * A converted multimodal model, ready to answer: its sessions (vision,
 * embedding, decoder; the diagnostic decoder on demand), tokenizer and family.
 */
export class VisionLanguageModel {
  private diagnosticDecoder: InferenceSession | undefined;
  private visionRunCount = 0;
  private readonly schedulers = new Map<InferenceSession, BatchScheduler>();

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
    // The family's settings, checked once here: every later call gets them typed.
    const settled = checkedManifest(family, manifest);
    const tokenizer = await loadTokenizer(dir);
    // The decoder decides the device (CUDA or the CPU fallback); the other graphs follow it.
    const decoderFile = options.decoder === 'diagnostic' ? manifest.graphs.decoderDiagnostics : manifest.graphs.decoder;
    let maxBatchRows = options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
    if (!(Number.isInteger(maxBatchRows) && maxBatchRows >= 1)) throw new InvalidArgumentError(`maxBatchRows must be a positive integer, got ${maxBatchRows}`);
    const memory = options.memory;
    if (memory !== false) {
      // Checked for the CPU unless CUDA was asked for explicitly: 'auto' may fall back to the CPU.
      const estimate = (rows: number) =>
        estimateModelMemory({
          dir,
          manifest,
          graphs: [decoderFile, manifest.graphs.vision, manifest.graphs.embed],
          device: options.device === 'cuda' ? 'cuda' : 'cpu',
          contextTokens: memory?.contextTokens ?? DEFAULT_PREFLIGHT_CONTEXT_TOKENS,
          rows,
          ...(memory?.promptTokens === undefined ? {} : { promptTokens: memory.promptTokens }),
        });
      if (options.fitBatchRows) {
        const fitted = fitBatchRows({ estimate, min: options.fitBatchRows.min, max: maxBatchRows });
        // Not even the minimum fits: refuse, naming the numbers at the minimum.
        if (fitted === undefined) assertMemoryFits(estimate(options.fitBatchRows.min), manifest);
        else maxBatchRows = fitted;
      } else assertMemoryFits(estimate(memory?.rows ?? maxBatchRows), manifest);
    }
    const decoder = await openGraph(dir, decoderFile, options.device ?? 'cpu', options);
    const [vision, embed] = await Promise.all([
      openGraph(dir, manifest.graphs.vision, decoder.device, options),
      openGraph(dir, manifest.graphs.embed, decoder.device, options),
    ]);
    return new VisionLanguageModel(dir, settled, family, tokenizer, decoder.device, { vision: vision.session, embed: embed.session, decoder: decoder.session }, { ...options, maxBatchRows });
  }

  /** D_sink in use: the override, else the manifest's; null when unknown. */
  get sinkDims(): readonly number[] | null {
    return this.options.sinkDims && this.options.sinkDims.length > 0 ? this.options.sinkDims : this.manifest.sink.dims;
  }

  /** Build the prompt and compute the image features (once per request, whatever the rows). */
  async prepare(request: VisionLanguageRequest): Promise<PreparedRequest> {
    const images = await this.family.prepareImages(request.images, this.manifest);
    const prompt = this.promptFor(request, images);
    const started = performance.now();
    const features = request.images.length > 0 ? await this.runVision(images) : new Float32Array(0);
    const visionMs = performance.now() - started;
    return { prompt, images, embeds: await this.embedPrompt(prompt, features), visionMs };
  }

  /**
   * Another prompt about the images of a prepared request (new question,
   * system message, history or template), reusing their features: no vision
   * run, `visionMs` 0. For several questions about one image, or prompts of
   * chosen lengths (benchmarks).
   */
  async reprompt(prepared: PreparedRequest, request: Omit<VisionLanguageRequest, 'images'>): Promise<PreparedRequest> {
    const prompt = this.promptFor(request, prepared.images);
    const d = this.manifest.decoder.hiddenSize;
    const positions = imagePositionsOf(prepared.prompt.imageMask);
    const features = new Float32Array(positions.length * d);
    positions.forEach((t, k) => features.set(prepared.embeds.subarray(t * d, (t + 1) * d), k * d));
    return { prompt, images: prepared.images, embeds: await this.embedPrompt(prompt, features), visionMs: 0 };
  }

  private promptFor(request: Omit<VisionLanguageRequest, 'images'>, images: PreparedImages): PreparedPrompt {
    return this.family.preparePrompt({
      question: request.question,
      ...(request.system !== undefined ? { system: request.system } : {}),
      ...(request.history !== undefined ? { history: request.history } : {}),
      images,
      manifest: this.manifest,
      tokenizer: this.tokenizer,
      template: request.template ?? 'default',
    });
  }

  /** `[tokens × hidden]` embeddings of the prompt with the image features at its image positions. */
  private async embedPrompt(prompt: PreparedPrompt, features: Float32Array): Promise<Float32Array> {
    const embeds = await this.embedTokens(prompt.inputIds);
    const d = this.manifest.decoder.hiddenSize;
    const imagePositions = imagePositionsOf(prompt.imageMask);
    if (imagePositions.length * d !== features.length) {
      throw new VasinkError(
        `the prompt has ${imagePositions.length} image tokens but the vision graph gave features for ${features.length / d}`,
        { code: 'IMAGE_TOKEN_MISMATCH' },
      );
    }
    imagePositions.forEach((t, k) => embeds.set(features.subarray(k * d, (k + 1) * d), t * d));
    return embeds;
  }

  /**
   * Generate one answer per row from one prepared request (the image
   * features are shared). Concurrent calls share one decoder batch
   * (continuous batching, up to `maxBatchRows` rows): each streams its own
   * events, its rows numbered from 0, with the tokens its rows would get alone.
   */
  async *generate(prepared: PreparedRequest, options: VisionLanguageGenerateOptions): AsyncGenerator<GenerationEvent<VarStepDiagnostics>> {
    const { rows, diagnostics, ...rest } = options;
    this.assertSinkDimsFor(rows);
    const scheduler = await this.schedulerFor(diagnostics === true);
    const counterparts = new Map<string, Promise<DecoderPromptRow>>();
    const prompts: ScheduledPromptRow[] = [];
    for (const row of rows) {
      const own = this.promptRow(prepared, row);
      const contrast = row.contrast;
      // α = 0 is the row itself; without an image there is nothing to contrast.
      if (!contrast || contrast.alpha === 0 || prepared.images.tokensPerImage.length === 0) {
        prompts.push(own);
        continue;
      }
      validateContrast(contrast);
      const key = JSON.stringify({ contrast, row: contrast.counterpart === 'noised-image' ? { ...row, contrast: undefined } : {} });
      if (!counterparts.has(key)) counterparts.set(key, this.counterpartRow(prepared, row, contrast));
      prompts.push({ ...own, contrast: { settings: contrast, counterpart: await (counterparts.get(key) as Promise<DecoderPromptRow>) } });
    }
    yield* scheduler.submit(prompts, { ...rest, stopStrings: [...(rest.stopStrings ?? []), ...(prepared.prompt.stopStrings ?? [])] });
  }

  /**
   * The counterpart row of a contrast: the prompt without its image tokens
   * and no intervention (PAI's unconditioned pass), or the prompt with the
   * image features of its noised pixels and the row's own interventions
   * (VCD: the same model seeing a distorted image; one more vision run).
   */
  private async counterpartRow(prepared: PreparedRequest, row: RowSettings, contrast: ContrastSettings): Promise<DecoderPromptRow> {
    const d = this.manifest.decoder.hiddenSize;
    if (contrast.counterpart === 'text-only') {
      const keep = [...prepared.prompt.imageMask.keys()].filter((t) => !prepared.prompt.imageMask[t]);
      const embeds = new Float32Array(keep.length * d);
      keep.forEach((t, k) => embeds.set(prepared.embeds.subarray(t * d, (t + 1) * d), k * d));
      const n = keep.length;
      // Without image tokens M-RoPE's three components are the plain positions.
      const positionIds = prepared.prompt.positionIds ? BigInt64Array.from({ length: 3 * n }, (_, i) => BigInt(i % n)) : undefined;
      return { embeds, imageMask: new Uint8Array(n), ...(positionIds ? { positionIds, nextPosition: n } : {}) };
    }
    const pixels = prepared.images.feeds[PIXEL_VALUES_FEED];
    if (!pixels || pixels.type !== 'float32') {
      throw new VasinkError(`this model's vision graph takes no float32 ${PIXEL_VALUES_FEED}: its images cannot be noised for a contrast`, { code: 'BAD_VISION_GRAPH', exposure: 'config' });
    }
    const noised = addDiffusionNoise(pixels.data as Float32Array, { step: contrast.noiseStep ?? 500, seed: contrast.noiseSeed ?? 0 });
    const images: PreparedImages = { ...prepared.images, feeds: { ...prepared.images.feeds, [PIXEL_VALUES_FEED]: new Tensor('float32', noised, pixels.dims) } };
    const embeds = await this.embedPrompt(prepared.prompt, await this.runVision(images));
    return this.promptRow({ ...prepared, embeds }, row);
  }

  /** Rows the decoder batch holds at most (after `fitBatchRows`). */
  get maxBatchRows(): number {
    return this.options.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
  }

  /** Batching counters of the product decoder (rows now, waiting requests, decode steps and rows computed). */
  get batchStats(): BatchSchedulerStats | undefined {
    return this.schedulers.get(this.sessions.decoder)?.stats;
  }

  /** The scheduler over the product (or diagnostic) decoder, created on first use. */
  private async schedulerFor(diagnostics: boolean): Promise<BatchScheduler> {
    // (With `decoder: 'diagnostic'`, sessions.decoder is the diagnostic graph: its diagnostics come along.)
    const decoder = diagnostics ? await this.diagnosticSession() : this.sessions.decoder;
    let scheduler = this.schedulers.get(decoder);
    if (!scheduler) {
      scheduler = new BatchScheduler({
        batch: new DecoderBatch(this.batchOptions(decoder)),
        tokenizer: this.tokenizer,
        eosTokenIds: this.manifest.tokens.eosTokenIds,
        maxRows: this.maxBatchRows,
      });
      this.schedulers.set(decoder, scheduler);
    }
    return scheduler;
  }

  private batchOptions(decoder: InferenceSession): DecoderBatchOptions {
    const sinkDims = this.sinkDims;
    return {
      decoder,
      config: this.manifest.decoder,
      dtype: this.manifest.dtype,
      embed: (ids) => this.embedTokens(ids),
      ...(sinkDims ? { sinkDims } : {}),
      sinkStartLayer: this.manifest.sink.startLayer,
    };
  }

  /**
   * The decoder step of one prepared request, one batch row per setting, its
   * prompt bound and its KV cache its own: what `generate` drives, for callers
   * that drive it themselves (benchmarks: a fixed number of steps, no stop).
   * `diagnostics`: over the diagnostic graph.
   */
  async decoderStep(prepared: PreparedRequest, options: { rows: readonly RowSettings[]; diagnostics?: boolean }): Promise<DecoderStep<VarStepDiagnostics>> {
    this.assertSinkDimsFor(options.rows);
    const decoder = options.diagnostics ? await this.diagnosticSession() : this.sessions.decoder;
    return createOnnxDecoderStep({ ...this.batchOptions(decoder), prompts: options.rows.map((row) => this.promptRow(prepared, row)) });
  }

  /**
   * Run one prefill of the prepared request through the diagnostic graph, one
   * batch row per setting, and read every layer's sinks, selected heads, moved
   * mass, attention and first-token hidden state.
   */
  async inspect(prepared: PreparedRequest, rows: readonly RowSettings[]): Promise<Inspection> {
    this.assertSinkDimsFor(rows);
    const step = createOnnxDecoderStep({
      ...this.batchOptions(await this.diagnosticSession()),
      prompts: rows.map((row) => this.promptRow(prepared, row)),
      rawOutputs: true,
    });
    const { logits, diagnostics } = await step.prefill({});
    const raw = diagnostics?.raw;
    if (!raw) throw new VasinkError('the diagnostic decoder returned no outputs', { code: 'BAD_DIAGNOSTIC_GRAPH', exposure: 'config' });
    const { numLayers, numHeads } = this.manifest.decoder;
    const tokens = prepared.prompt.inputIds.length;
    const d = this.manifest.decoder.hiddenSize;
    const batch = rows.length;
    const read = (name: string) => {
      const tensor = raw[name];
      if (!tensor) throw new VasinkError(`the diagnostic decoder has no output ${name}`, { code: 'BAD_DIAGNOSTIC_GRAPH', exposure: 'config' });
      return tensor.data as Float32Array | Uint8Array;
    };
    return {
      rows: rows.map((settings, b) => ({
        settings,
        logits: logits[b] as Float32Array,
        layers: Array.from({ length: numLayers }, (_, l) => {
          const flags = read('present_sink_flags').subarray((l * batch + b) * tokens, (l * batch + b + 1) * tokens);
          const selected = read(`var_selected.${l}`) as Uint8Array;
          const moved = read(`var_moved.${l}`) as Float32Array;
          return {
            sinkPositions: [...flags].flatMap((f, t) => (f ? [t] : [])),
            score: Float32Array.from((read(`var_score.${l}`) as Float32Array).subarray(b * tokens, (b + 1) * tokens)),
            selectedPerHead: Array.from({ length: numHeads }, (_, h) =>
              selected.subarray((b * numHeads + h) * tokens, (b * numHeads + h + 1) * tokens).reduce((a, x) => a + x, 0),
            ),
            moved: moved.subarray(b * numHeads * tokens, (b + 1) * numHeads * tokens).reduce((a, x) => a + x, 0),
            attention: Float32Array.from((read(`var_attention.${l}`) as Float32Array).subarray(b * numHeads * tokens, (b + 1) * numHeads * tokens)),
            firstHidden: Float32Array.from((read(`hidden_first.${l}`) as Float32Array).subarray(b * d, (b + 1) * d)),
          };
        }),
      })),
    };
  }

  private assertSinkDimsFor(rows: readonly RowSettings[]): void {
    if (rows.some((r) => r.var) && !this.sinkDims) {
      throw new MissingSinkDimsError(
        `no sink dimensions are known for this model (backbone ${this.manifest.sink.backbone ?? 'unknown'}); run \`vasink find-sink-dims --model ${this.dir} --images <files>\` and pass --sink-dims, or run without VAR`,
      );
    }
  }

  private promptRow(prepared: PreparedRequest, row: RowSettings): DecoderPromptRow {
    const { contrast: _, ...interventions } = row;
    return {
      embeds: prepared.embeds,
      imageMask: prepared.prompt.imageMask,
      ...(prepared.prompt.positionIds ? { positionIds: prepared.prompt.positionIds } : {}),
      ...(prepared.prompt.nextPosition === undefined ? {} : { nextPosition: prepared.prompt.nextPosition }),
      ...interventions,
    };
  }

  /** Decoder graphs opened so far, in order (`'product'`, `'diagnostic'`). */
  get openDecoders(): readonly ('product' | 'diagnostic')[] {
    if (this.options.decoder === 'diagnostic') return ['diagnostic'];
    return this.diagnosticDecoder ? ['product', 'diagnostic'] : ['product'];
  }

  /** The diagnostic decoder session (loaded on first use, unless it is the only decoder). */
  async diagnosticSession(): Promise<InferenceSession> {
    if (this.options.decoder === 'diagnostic') return this.sessions.decoder;
    if (!this.diagnosticDecoder) {
      this.diagnosticDecoder = (await openGraph(this.dir, this.manifest.graphs.decoderDiagnostics, this.device, this.options)).session;
    }
    return this.diagnosticDecoder;
  }

  /** Embeddings `[ids × hidden]` as float32. */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.sessions.embed.run({ input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return asFloat32(out.inputs_embeds as Tensor);
  }

  /** How many times the vision graph has run since load (one per prepared request with images). */
  get visionRuns(): number {
    return this.visionRunCount;
  }

  private async runVision(images: PreparedImages): Promise<Float32Array> {
    this.visionRunCount += 1;
    const out = await this.sessions.vision.run(images.feeds);
    const features = out.image_features;
    if (!features) throw new VasinkError('the vision graph has no image_features output', { code: 'BAD_VISION_GRAPH', exposure: 'config' });
    return asFloat32(features as Tensor);
  }

  async close(): Promise<void> {
    for (const scheduler of this.schedulers.values()) scheduler.close();
    this.schedulers.clear();
    await Promise.all([
      this.sessions.vision.release(),
      this.sessions.embed.release(),
      this.sessions.decoder.release(),
      this.diagnosticDecoder?.release(),
    ]);
  }
}

/** A session over one graph file of a model directory. */
function openGraph(dir: string, file: string, device: DeviceRequest, options: LoadVisionLanguageModelOptions) {
  return createSession(join(dir, file), {
    device,
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

function imagePositionsOf(imageMask: Uint8Array): number[] {
  return [...imageMask.entries()].filter(([, m]) => m).map(([t]) => t);
}

function asFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === 'float32') return Float32Array.from(tensor.data as Float32Array);
  if (tensor.type === 'float16') return float16ArrayToFloat32(tensor.data as Uint16Array);
  throw new VasinkError(`expected float32 or float16, got ${tensor.type}`, { code: 'DTYPE_MISMATCH' });
}
