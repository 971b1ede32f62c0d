import { InvalidArgumentError, VasinkError, float32ArrayToFloat16, toOrtTensor } from '@vasink/tensor';
import {
  type AnyIntervention,
  DECODER_IO,
  type DecoderConfig,
  type InterventionModel,
  type InterventionRow,
  interventionFeeds,
  validateInterventionRow,
} from '@vasink/transformer-graph';
import { VAR_IO } from '@vasink/var';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { ATTENTION_INTERVENTIONS } from './methods.js';

/** One prompt row bound to a decoder batch, with the attention interventions it asks for (`var`, `pai`, …; absent = off). */
export type DecoderPromptRow = InterventionRow & {
  /** `[tokens × hidden]` float32 embeddings (text and image features merged). */
  embeds: Float32Array;
  /** `[tokens]` 1 on image tokens. */
  imageMask?: Uint8Array;
  /** `[tokens]` RoPE positions, or `[3 × tokens]` for M-RoPE; default 0…tokens−1. */
  positionIds?: BigInt64Array;
  /** Position of the first generated token (M-RoPE: max position + 1); default `tokens`. */
  nextPosition?: number;
};

/**
 * VAR summaries of one decoder run, per batch row (in the order of the run's
 * `rows`) and layer.
 */
export interface VarStepDiagnostics {
  phase: 'prefill' | 'decode';
  /** Prefill only: per row, per layer, the sink positions within the row's prompt. */
  sinkPositions?: number[][][];
  /** With a diagnostic graph: per row, per layer, selected rows per head in this step. */
  selectedPerHead?: number[][][];
  /** With a diagnostic graph: per row, per layer, attention mass moved in this step. */
  moved?: number[][];
  /** With `rawOutputs`: every output of the step's run, as onnxruntime returned it (left padding included). */
  raw?: Readonly<Record<string, ort.Tensor>>;
  /** Left padding of each row in `raw` (batch positions before the row's first token). */
  padding?: readonly number[];
}

/** What one run of a {@link DecoderBatch} gives back. */
export interface BatchRunOutput {
  /** Ids of the rows the run computed, in batch order (prefill: the new rows only). */
  readonly rows: readonly number[];
  /** Next-token logits `[vocab]` per entry of `rows`. */
  readonly logits: readonly Float32Array[];
  readonly diagnostics: VarStepDiagnostics;
}

/**
 * The per-row diagnostics of a run re-indexed for a caller's rows: entry `i`
 * of each array is that of batch row `wanted[i]`, empty where that row was
 * not in the run (it had left). Batch-wide fields (`raw`, `padding`) are kept.
 */
export function diagnosticsForRows(diagnostics: VarStepDiagnostics, runRows: readonly number[], wanted: readonly number[]): VarStepDiagnostics {
  const position = new Map(runRows.map((id, b) => [id, b]));
  const pick = <T>(values: T[] | undefined, empty: () => T): T[] | undefined => {
    if (!values) return undefined;
    return wanted.map((id) => {
      const b = position.get(id);
      return b === undefined ? empty() : (values[b] as T);
    });
  };
  const { sinkPositions, selectedPerHead, moved, ...rest } = diagnostics;
  const result: VarStepDiagnostics = { ...rest };
  const sinks = pick(sinkPositions, () => []);
  const selected = pick(selectedPerHead, () => []);
  const movedByRow = pick(moved, () => []);
  if (sinks) result.sinkPositions = sinks;
  if (selected) result.selectedPerHead = selected;
  if (movedByRow) result.moved = movedByRow;
  return result;
}

/**
 * Tokens the recent KV block may hold before the runtime appends it to the
 * bulk — the one full copy of the cache, once per this many decode steps
 * (the graph reads the bulk in place and copies only the recent block).
 */
export const KV_MERGE_TOKENS = 64;

export interface DecoderBatchOptions {
  /** A session over a decoder graph of `@vasink/transformer-graph`. */
  decoder: ort.InferenceSession;
  config: DecoderConfig;
  /** float16 graphs take float16 embeddings and KV cache. */
  dtype?: 'float32' | 'float16';
  /** Embeddings `[ids.length × hidden]` of generated tokens (the embedding graph). */
  embed: (ids: readonly number[]) => Promise<Float32Array>;
  /** D_sink; required when a row has VAR on. */
  sinkDims?: readonly number[];
  sinkStartLayer?: number;
  /** The interventions the runtime knows (default {@link ATTENTION_INTERVENTIONS}); those whose inputs the graph has are used. */
  interventions?: readonly AnyIntervention[];
  /** Attach every raw output of each run to the diagnostics (inspection tools). */
  rawOutputs?: boolean;
  /** Append the recent KV block to the bulk once it holds this many tokens (default {@link KV_MERGE_TOKENS}). */
  kvMergeTokens?: number;
}

/** Per-row state that is not a column of the cache. */
interface RowState {
  readonly id: number;
  nextPosition: number;
  readonly settings: InterventionRow;
}

type Columns = Float32Array | Uint16Array | Uint8Array;

/** A `[outer, batch, mid, width, inner]` array: the KV cache (1, B, kvH, T, hd), sink flags (L, B, 1, T, 1), masks (1, B, 1, T, 1). */
interface Layout {
  readonly outer: number;
  readonly mid: number;
  readonly inner: number;
}

/** Rows taken from one source into a regrouped batch: `segments` are column blocks joined along the width (bulk, recent). */
interface RegroupSource<T extends Columns> {
  readonly segments: readonly { readonly data: T; readonly width: number }[];
  readonly batch: number;
  /** Source rows, in their new order. */
  readonly rows: readonly number[];
  /** Leading columns dropped (padding every taken row shares). */
  readonly trim: number;
}

/**
 * Copy rows of several sources into one left-padded batch of `width`
 * columns: each source's columns after `trim` land right-aligned, zeros
 * before them (zero = padding in masks, sink flags and the KV cache alike).
 */
function regroup<T extends Columns>(sources: readonly RegroupSource<T>[], layout: Layout, width: number, create: (n: number) => T): T {
  const { outer, mid, inner } = layout;
  const batch = sources.reduce((n, s) => n + s.rows.length, 0);
  const out = create(outer * batch * mid * width * inner);
  let target = 0;
  for (const source of sources) {
    const total = source.segments.reduce((n, s) => n + s.width, 0);
    const pad = width - (total - source.trim);
    for (const row of source.rows) {
      for (let o = 0; o < outer; o++) {
        for (let m = 0; m < mid; m++) {
          let column = pad; // where the next kept column lands
          let skip = source.trim;
          for (const segment of source.segments) {
            const from = Math.min(skip, segment.width);
            skip -= from;
            const n = segment.width - from;
            if (n === 0) continue;
            const base = ((o * source.batch + row) * mid + m) * segment.width;
            out.set(segment.data.subarray((base + from) * inner, (base + segment.width) * inner) as never, (((o * batch + target) * mid + m) * width + column) * inner);
            column += n;
          }
        }
      }
      target++;
    }
  }
  return out;
}

/**
 * A decoder batch whose rows come and go (continuous batching, DESIGN §6):
 * `add` prefills new prompts in one run of their own and joins them to the
 * running batch, `decode` feeds one token to every row, `remove` lets rows
 * leave. Every row keeps its own KV cache columns, sink flags, image mask,
 * positions and VAR settings; rows are left-padded to a common width (the
 * attention mask hides the padding), so a row's logits are those of its
 * single-row run up to float rounding.
 *
 * The cache has two blocks (see `buildDecoderGraph`): a settled bulk read in
 * place and a recent block appended to it every `kvMergeTokens` decode
 * steps. A join or leave regroups the batch: one copy of the cache, which
 * also drops the padding columns every remaining row shares.
 */
export class DecoderBatch {
  private readonly decoder: ort.InferenceSession;
  private readonly config: DecoderConfig;
  private readonly dtype: 'float32' | 'float16';
  /** The interventions the graph carries, in registry order. */
  private readonly interventions: readonly AnyIntervention[];
  private readonly model: InterventionModel;
  private readonly diagnosticGraph: boolean;
  private readonly twoBlocks: boolean;
  private readonly mergeTokens: number;
  private readonly mrope: boolean;

  private state: RowState[] = [];
  /** Columns of the batch: cached tokens, left padding included. */
  private width = 0;
  private attention: Uint8Array = new Uint8Array(0);
  private image: Uint8Array = new Uint8Array(0);
  /** `[L, B, width]` per-token state of the interventions that carry one (VAR's sink flags), by graph input name. */
  private carried = new Map<string, Uint8Array>();
  private bulk: { key: ort.Tensor; value: ort.Tensor }[] | undefined;
  private recent: { key: ort.Tensor; value: ort.Tensor }[] | undefined;
  private leaving = new Set<number>();
  private nextId = 0;

  constructor(private readonly options: DecoderBatchOptions) {
    const { decoder, config } = options;
    this.decoder = decoder;
    this.config = config;
    this.dtype = options.dtype ?? 'float32';
    if (decoder.inputNames.includes('var_image_mask')) {
      // Graphs before the intervention contract took VAR's own image mask; the inputs changed names since.
      throw new VasinkError('the decoder graph was converted by an older vasink (it has input var_image_mask, now image_mask): convert the model again', {
        code: 'BAD_DECODER_GRAPH',
        exposure: 'config',
      });
    }
    this.interventions = (options.interventions ?? ATTENTION_INTERVENTIONS).filter((i) => i.inputNames.every((name) => decoder.inputNames.includes(name)));
    this.diagnosticGraph = decoder.outputNames.includes(VAR_IO.diagnosticSelected(0));
    this.twoBlocks = decoder.inputNames.includes(DECODER_IO.recentKey(0));
    this.mergeTokens = options.kvMergeTokens ?? KV_MERGE_TOKENS;
    if (!Number.isInteger(this.mergeTokens) || this.mergeTokens < 1) {
      throw new InvalidArgumentError(`kvMergeTokens must be a positive integer, got ${String(this.mergeTokens)}`);
    }
    this.model = {
      numLayers: config.numLayers,
      numHeads: config.numHeads,
      hiddenSize: config.hiddenSize,
      sinkDims: options.sinkDims ?? [],
      sinkStartLayer: options.sinkStartLayer ?? 2,
    };
    this.mrope = config.rope.type === 'mrope';
  }

  /** Ids of the rows in the batch, in batch order (rows removed but not yet regrouped excluded). */
  get rows(): readonly number[] {
    return this.state.filter((row) => !this.leaving.has(row.id)).map((row) => row.id);
  }

  /** Rows in the batch. */
  get size(): number {
    return this.state.length - this.leaving.size;
  }

  /** Check prompts before anything runs: what `add` would refuse. */
  validate(prompts: readonly DecoderPromptRow[]): void {
    const d = this.config.hiddenSize;
    const carried = new Set(this.interventions.map((i) => i.name));
    for (const p of prompts) {
      for (const intervention of this.options.interventions ?? ATTENTION_INTERVENTIONS) {
        if (p[intervention.name] !== undefined && !carried.has(intervention.name)) {
          throw new VasinkError(`${intervention.label} was requested but the decoder graph has no ${intervention.label} inputs (built without it, or by an older vasink: convert the model again)`, {
            code: 'BAD_DECODER_GRAPH',
            exposure: 'config',
          });
        }
      }
      validateInterventionRow(this.interventions, p, this.model);
    }
    prompts.forEach((p, row) => {
      if (p.embeds.length === 0 || p.embeds.length % d !== 0) {
        throw new InvalidArgumentError(`prompt ${row}: embeddings hold ${p.embeds.length} values, not a positive multiple of hidden size ${d}`);
      }
      const tokens = p.embeds.length / d;
      if (p.imageMask && p.imageMask.length !== tokens) throw new InvalidArgumentError(`prompt ${row}: image mask has ${p.imageMask.length} entries for ${tokens} tokens`);
      if (p.positionIds && p.positionIds.length !== (this.mrope ? 3 : 1) * tokens) {
        throw new InvalidArgumentError(`prompt ${row}: ${p.positionIds.length} position ids for ${tokens} tokens (${this.mrope ? 'M-RoPE needs 3 per token' : 'one per token'})`);
      }
    });
  }

  /**
   * Prefill `prompts` (left-padded among themselves, in one run) and join
   * them to the batch. Returns the new rows' ids and first-token logits.
   */
  async add(prompts: readonly DecoderPromptRow[], signal?: AbortSignal): Promise<BatchRunOutput> {
    if (prompts.length === 0) throw new InvalidArgumentError('a decoder batch needs at least one prompt to add');
    this.validate(prompts);
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const { hiddenSize: d, numLayers: L } = this.config;
    const batch = prompts.length;
    const lengths = prompts.map((p) => p.embeds.length / d);
    const width = Math.max(...lengths);
    const padding = lengths.map((n) => width - n);
    const embeds = new Float32Array(batch * width * d);
    const attention = new Uint8Array(batch * width);
    const image = new Uint8Array(batch * width);
    const channels = this.mrope ? 3 : 1;
    const positions = new BigInt64Array(channels * batch * width).fill(1n);
    prompts.forEach((p, b) => {
      const pad = padding[b] as number;
      const n = lengths[b] as number;
      embeds.set(p.embeds, (b * width + pad) * d);
      attention.fill(1, b * width + pad, (b + 1) * width);
      if (p.imageMask) image.set(p.imageMask, b * width + pad);
      for (let c = 0; c < channels; c++) {
        for (let t = 0; t < n; t++) positions[(c * batch + b) * width + pad + t] = p.positionIds ? (p.positionIds[c * n + t] as bigint) : BigInt(t);
      }
    });
    const rows: RowState[] = prompts.map((p, b) => ({
      id: this.nextId + b,
      nextPosition: p.nextPosition ?? (lengths[b] as number),
      settings: Object.fromEntries(this.interventions.flatMap((i) => (p[i.name] === undefined ? [] : [[i.name, p[i.name]]]))) as InterventionRow,
    }));
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_IO.inputsEmbeds]: this.floatTensor(embeds, [batch, width, d]),
      [DECODER_IO.attentionMask]: new Tensor('int64', BigInt64Array.from(attention, BigInt), [batch, width]),
      [DECODER_IO.positionIds]: new Tensor('int64', positions, this.mrope ? [3, batch, width] : [batch, width]),
    };
    const empty = this.floatTensor(new Float32Array(0), [batch, this.config.numKvHeads, 0, this.config.headDim]);
    this.bindCache(feeds, undefined, undefined, empty);
    const out = await this.run(feeds, { rows, attention, image, carried: new Map(), width, queries: width, phase: 'prefill' });
    this.nextId += batch;
    const present = this.presentOf(out);
    const carried = this.carriedOf(out);
    this.join({ rows, width, attention, image, carried, present });
    const flags = carried.get(VAR_IO.pastSinkFlags);

    const diagnostics: VarStepDiagnostics = { phase: 'prefill', ...this.runDiagnostics(out, batch, width), ...(this.options.rawOutputs ? { raw: out, padding } : {}) };
    if (flags) {
      diagnostics.sinkPositions = rows.map((_, b) =>
        Array.from({ length: L }, (_, l) => {
          // Layers before the sink start layer have no sinks by definition (DESIGN §1).
          const found: number[] = [];
          if (l < this.model.sinkStartLayer) return found;
          for (let t = 0; t < width; t++) if (flags[(l * batch + b) * width + t]) found.push(t - (padding[b] as number));
          return found;
        }),
      );
    }
    return { rows: rows.map((r) => r.id), logits: this.logitsOf(out, batch), diagnostics };
  }

  /**
   * Feed one token to every row of the batch: `tokens` maps each row id of
   * {@link rows} to the token it chose. Returns the logits of every row, in
   * batch order.
   */
  async decode(tokens: ReadonlyMap<number, number>, signal?: AbortSignal): Promise<BatchRunOutput> {
    this.settle();
    const batch = this.state.length;
    if (batch === 0) throw new InvalidArgumentError('decode on an empty decoder batch');
    const missing = this.state.filter((row) => !tokens.has(row.id));
    if (missing.length > 0) throw new InvalidArgumentError(`decode needs a token for every row; none for row(s) ${missing.map((r) => r.id).join(', ')}`);
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const d = this.config.hiddenSize;
    const ids = this.state.map((row) => tokens.get(row.id) as number);
    const embeddings = await this.options.embed(ids);
    if (embeddings.length !== ids.length * d) {
      throw new InvalidArgumentError(`embed returned ${embeddings.length} values for ${ids.length} tokens of hidden size ${d}`);
    }
    // One more column per row: a real, non-image token.
    const width = this.width + 1;
    const attention = appendColumn(this.attention, batch, this.width, 1);
    const image = appendColumn(this.image, batch, this.width, 0);
    const channels = this.mrope ? 3 : 1;
    const positions = new BigInt64Array(channels * batch);
    for (let c = 0; c < channels; c++) this.state.forEach((row, b) => (positions[c * batch + b] = BigInt(row.nextPosition)));
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_IO.inputsEmbeds]: this.floatTensor(embeddings, [batch, 1, d]),
      [DECODER_IO.attentionMask]: new Tensor('int64', BigInt64Array.from(attention, BigInt), [batch, width]),
      [DECODER_IO.positionIds]: new Tensor('int64', positions, this.mrope ? [3, batch, 1] : [batch, 1]),
    };
    const empty = this.floatTensor(new Float32Array(0), [batch, this.config.numKvHeads, 0, this.config.headDim]);
    this.bindCache(feeds, this.bulk, this.recent, empty);
    const out = await this.run(feeds, { rows: this.state, attention, image, carried: this.carried, width: this.width, queries: 1, phase: 'decode' });
    for (const row of this.state) row.nextPosition += 1;
    this.width = width;
    this.attention = attention;
    this.image = image;
    this.carried = this.carriedOf(out);
    const present = this.presentOf(out);
    if (!this.twoBlocks) this.bulk = present;
    else if ((present[0]?.key.dims[2] ?? 0) < this.mergeTokens) this.recent = present;
    else {
      const bulk = this.bulk;
      this.bulk = bulk ? this.mergeBlocks(bulk, present) : present;
      this.recent = undefined;
    }
    return { rows: this.state.map((r) => r.id), logits: this.logitsOf(out, batch), diagnostics: { phase: 'decode', ...this.runDiagnostics(out, batch, 1) } };
  }

  /** Let rows leave the batch; their cache is dropped at the next `add` or `decode` (one regroup for all that left). */
  remove(rows: readonly number[]): void {
    for (const id of rows) if (this.state.some((row) => row.id === id)) this.leaving.add(id);
  }

  /** Release the KV cache. */
  dispose(): void {
    this.state = [];
    this.leaving.clear();
    this.width = 0;
    this.attention = new Uint8Array(0);
    this.image = new Uint8Array(0);
    this.carried = new Map();
    this.bulk = undefined;
    this.recent = undefined;
  }

  private floatTensor(data: Float32Array, dims: number[]): ort.Tensor {
    return this.dtype === 'float16' ? new Tensor('float16', float32ArrayToFloat16(data), dims) : new Tensor('float32', data, dims);
  }

  private bindCache(feeds: Record<string, ort.Tensor>, bulk: DecoderBatch['bulk'], recent: DecoderBatch['recent'], empty: ort.Tensor): void {
    for (let l = 0; l < this.config.numLayers; l++) {
      feeds[DECODER_IO.pastKey(l)] = bulk?.[l]?.key ?? empty;
      feeds[DECODER_IO.pastValue(l)] = bulk?.[l]?.value ?? empty;
      if (!this.twoBlocks) continue;
      feeds[DECODER_IO.recentKey(l)] = recent?.[l]?.key ?? empty;
      feeds[DECODER_IO.recentValue(l)] = recent?.[l]?.value ?? empty;
    }
  }

  /** Bind the interventions' inputs (the shared image mask, each one's per-row values, carried state) and run. */
  private async run(
    feeds: Record<string, ort.Tensor>,
    step: { rows: readonly RowState[]; attention: Uint8Array; image: Uint8Array; carried: ReadonlyMap<string, Uint8Array>; width: number; queries: number; phase: 'prefill' | 'decode' },
  ): Promise<ort.InferenceSession.ReturnType> {
    if (this.interventions.length > 0) {
      const batch = step.rows.length;
      const total = step.phase === 'prefill' ? step.width : step.width + 1;
      const cached = step.phase === 'prefill' ? 0 : step.width;
      const context = { phase: step.phase, batch, total, queries: step.queries, attentionMask: step.attention, imageMask: step.image, model: this.model };
      feeds[DECODER_IO.imageMask] = new Tensor('uint8', step.image, [batch, total]);
      for (const [name, tensor] of Object.entries(interventionFeeds(this.interventions, context, step.rows.map((row) => row.settings)))) feeds[name] = toOrtTensor(tensor);
      for (const intervention of this.interventions) {
        if (!intervention.carried) continue;
        const state = step.carried.get(intervention.carried.input) ?? new Uint8Array(0);
        feeds[intervention.carried.input] = new Tensor('uint8', state, [this.config.numLayers, batch, cached]);
      }
    }
    return this.decoder.run(feeds);
  }

  /** The carried state a run returns, by the input name the next run takes it under. */
  private carriedOf(out: ort.InferenceSession.ReturnType): Map<string, Uint8Array> {
    const carried = new Map<string, Uint8Array>();
    for (const intervention of this.interventions) {
      if (!intervention.carried) continue;
      const state = out[intervention.carried.output];
      if (!state) throw new VasinkError(`the decoder graph has no output ${intervention.carried.output}`, { code: 'BAD_DECODER_GRAPH', exposure: 'config' });
      carried.set(intervention.carried.input, state.data as Uint8Array);
    }
    return carried;
  }

  private presentOf(out: ort.InferenceSession.ReturnType): { key: ort.Tensor; value: ort.Tensor }[] {
    return Array.from({ length: this.config.numLayers }, (_, l) => {
      const key = out[DECODER_IO.presentKey(l)];
      const value = out[DECODER_IO.presentValue(l)];
      if (!key || !value) throw new VasinkError(`the decoder graph has no output ${DECODER_IO.presentKey(l)}`, { code: 'BAD_DECODER_GRAPH', exposure: 'config' });
      return { key, value };
    });
  }

  private logitsOf(out: ort.InferenceSession.ReturnType, batch: number): Float32Array[] {
    const logits = out[DECODER_IO.logits]?.data as Float32Array | undefined;
    if (!logits) throw new VasinkError('the decoder graph has no logits output', { code: 'BAD_DECODER_GRAPH', exposure: 'config' });
    const vocab = this.config.vocabSize;
    // Views of the run's output, not copies: 128 KB per row and step at a 32k vocabulary is garbage the
    // collector would otherwise chase; the output lives as long as a view of it.
    return Array.from({ length: batch }, (_, b) => logits.subarray(b * vocab, (b + 1) * vocab));
  }

  private runDiagnostics(out: ort.InferenceSession.ReturnType, batch: number, queries: number): Pick<VarStepDiagnostics, 'selectedPerHead' | 'moved'> {
    if (!this.diagnosticGraph) return {};
    const { numLayers: L, numHeads: heads } = this.config;
    return {
      selectedPerHead: Array.from({ length: batch }, (_, b) =>
        Array.from({ length: L }, (_, l) => {
          const selected = out[VAR_IO.diagnosticSelected(l)]!.data as Uint8Array;
          return Array.from({ length: heads }, (_, h) => selected.subarray((b * heads + h) * queries, (b * heads + h + 1) * queries).reduce((a, x) => a + x, 0));
        }),
      ),
      moved: Array.from({ length: batch }, (_, b) =>
        Array.from({ length: L }, (_, l) => (out[VAR_IO.diagnosticMoved(l)]!.data as Float32Array).subarray(b * heads * queries, (b + 1) * heads * queries).reduce((a, x) => a + x, 0)),
      ),
    };
  }

  /** Append the recent block to the bulk (one copy of the cache). */
  private mergeBlocks(bulk: { key: ort.Tensor; value: ort.Tensor }[], recent: { key: ort.Tensor; value: ort.Tensor }[]): { key: ort.Tensor; value: ort.Tensor }[] {
    const batch = this.state.length;
    const rows = [...this.state.keys()];
    return bulk.map((settled, l) => {
      const fresh = recent[l]!;
      const width = (settled.key.dims[2] as number) + (fresh.key.dims[2] as number);
      const join = (a: ort.Tensor, b: ort.Tensor) => this.kvTensor(this.regroupKv([{ blocks: [a, b], batch, rows, trim: 0 }], width), batch, width);
      return { key: join(settled.key, fresh.key), value: join(settled.value, fresh.value) };
    });
  }

  /** Drop the rows that left: one regroup of the cache, without the padding the remaining rows share. */
  private settle(): void {
    if (this.leaving.size === 0) return;
    const keep = this.takeKept();
    if (keep.length === 0) return this.dispose();
    this.regroupWith(keep, undefined);
  }

  /** The new rows' prefill joins the batch (after the rows that left are dropped). */
  private join(fresh: {
    rows: RowState[];
    width: number;
    attention: Uint8Array;
    image: Uint8Array;
    carried: Map<string, Uint8Array>;
    present: { key: ort.Tensor; value: ort.Tensor }[];
  }): void {
    const keep = this.takeKept();
    if (keep.length === 0) {
      // The prefill's cache becomes the batch's bulk as it is: no copy.
      this.state = fresh.rows;
      this.width = fresh.width;
      this.attention = fresh.attention;
      this.image = fresh.image;
      this.carried = fresh.carried;
      this.bulk = fresh.present;
      this.recent = undefined;
      return;
    }
    this.regroupWith(keep, fresh);
  }

  /** Batch positions of the rows that stay; the leaving ones are forgotten (the caller regroups). */
  private takeKept(): number[] {
    const keep = [...this.state.keys()].filter((b) => !this.leaving.has((this.state[b] as RowState).id));
    this.leaving.clear();
    return keep;
  }

  /** Rebuild the batch from the kept rows (and the joining ones), left-padded to the narrowest common width. */
  private regroupWith(keep: number[], fresh: Parameters<DecoderBatch['join']>[0] | undefined): void {
    const batch = this.state.length;
    const L = this.config.numLayers;
    // Leading columns that every kept row has as padding.
    let trim = this.width;
    for (const b of keep) {
      const first = this.attention.subarray(b * this.width, (b + 1) * this.width).indexOf(1);
      trim = Math.min(trim, first < 0 ? this.width : first);
    }
    const width = Math.max(this.width - trim, fresh?.width ?? 0);
    const masks = { outer: 1, mid: 1, inner: 1 };
    const columns = (data: Uint8Array, freshData: Uint8Array | undefined) =>
      regroup(
        [
          { segments: [{ data, width: this.width }], batch, rows: keep, trim },
          ...(fresh && freshData ? [{ segments: [{ data: freshData, width: fresh.width }], batch: fresh.rows.length, rows: [...fresh.rows.keys()], trim: 0 }] : []),
        ],
        masks,
        width,
        (n) => new Uint8Array(n),
      );
    const attention = columns(this.attention, fresh?.attention);
    const image = columns(this.image, fresh?.image);
    const carried = new Map<string, Uint8Array>();
    for (const [name, data] of this.carried) {
      const freshData = fresh?.carried.get(name);
      if (fresh && !freshData) continue;
      carried.set(
        name,
        regroup(
          [
            { segments: [{ data, width: this.width }], batch, rows: keep, trim },
            ...(fresh && freshData ? [{ segments: [{ data: freshData, width: fresh.width }], batch: fresh.rows.length, rows: [...fresh.rows.keys()], trim: 0 }] : []),
          ],
          { outer: L, mid: 1, inner: 1 },
          width,
          (n) => new Uint8Array(n),
        ),
      );
    }
    const rows = keep.length + (fresh?.rows.length ?? 0);
    const bulk = Array.from({ length: L }, (_, l) => {
      const block = (pick: 'key' | 'value') => {
        const own = [this.bulk?.[l]?.[pick], this.recent?.[l]?.[pick]].filter((t): t is ort.Tensor => t !== undefined);
        const sources = [
          { blocks: own, batch, rows: keep, trim },
          ...(fresh ? [{ blocks: [fresh.present[l]![pick]], batch: fresh.rows.length, rows: [...fresh.rows.keys()], trim: 0 }] : []),
        ];
        return this.kvTensor(this.regroupKv(sources, width), rows, width);
      };
      return { key: block('key'), value: block('value') };
    });
    this.state = [...keep.map((b) => this.state[b] as RowState), ...(fresh?.rows ?? [])];
    this.width = width;
    this.attention = attention;
    this.image = image;
    this.carried = carried;
    this.bulk = bulk;
    this.recent = undefined;
  }

  private regroupKv(sources: { blocks: ort.Tensor[]; batch: number; rows: readonly number[]; trim: number }[], width: number): Float32Array | Uint16Array {
    const layout = { outer: 1, mid: this.config.numKvHeads, inner: this.config.headDim };
    const segments = (blocks: ort.Tensor[]) => blocks.map((t) => ({ data: t.data as Float32Array | Uint16Array, width: t.dims[2] as number }));
    if (this.dtype === 'float16') {
      return regroup(sources.map((s) => ({ ...s, segments: segments(s.blocks) as { data: Uint16Array; width: number }[] })), layout, width, (n) => new Uint16Array(n));
    }
    return regroup(sources.map((s) => ({ ...s, segments: segments(s.blocks) as { data: Float32Array; width: number }[] })), layout, width, (n) => new Float32Array(n));
  }

  private kvTensor(data: Float32Array | Uint16Array, batch: number, width: number): ort.Tensor {
    const dims = [batch, this.config.numKvHeads, width, this.config.headDim];
    return data instanceof Uint16Array ? new Tensor('float16', data, dims) : new Tensor('float32', data, dims);
  }
}

/** `[batch, width]` → `[batch, width + 1]`, the new last column set to `value`. */
function appendColumn(data: Uint8Array, batch: number, width: number, value: number): Uint8Array {
  const out = new Uint8Array(batch * (width + 1));
  for (let b = 0; b < batch; b++) {
    out.set(data.subarray(b * width, (b + 1) * width), b * (width + 1));
    out[b * (width + 1) + width] = value;
  }
  return out;
}
