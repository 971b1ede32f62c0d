import { assertSinkDims } from '@vasink/sink-detect';
import { InvalidArgumentError, concatTensors, createTensor, float32ArrayToFloat16, fromOrtTensor, toOrtTensor } from '@vasink/tensor';
import { DECODER_IO, type DecoderConfig } from '@vasink/transformer-graph';
import { DEFAULT_VAR_PRESET, VAR_PRESETS, type VarConfig, eligibleQueries, varLayerMask, varParamsRow } from '@vasink/var';
import type * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import type { DecodeInput, DecoderStep, StepOutput } from './decoder-step.js';

/** One prompt row bound to a decoder step. */
export interface DecoderPromptRow {
  /** `[tokens × hidden]` float32 embeddings (text and image features merged). */
  embeds: Float32Array;
  /** `[tokens]` 1 on image tokens. */
  imageMask?: Uint8Array;
  /** `[tokens]` RoPE positions, or `[3 × tokens]` for M-RoPE; default 0…tokens−1. */
  positionIds?: BigInt64Array;
  /** Position of the first generated token (M-RoPE: max position + 1); default `tokens`. */
  nextPosition?: number;
  /** VAR settings of the row; undefined = VAR off. */
  var?: VarConfig;
}

/** VAR summaries of one step, per row and layer. */
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

/**
 * Tokens the recent KV block may hold before the runtime appends it to the
 * bulk — the one full copy of the cache, once per this many decode steps
 * (the graph reads the bulk in place and copies only the recent block).
 */
export const KV_MERGE_TOKENS = 64;

export interface OnnxDecoderStepOptions {
  /** A session over a decoder graph of `@vasink/transformer-graph`. */
  decoder: ort.InferenceSession;
  config: DecoderConfig;
  /** float16 graphs take float16 embeddings and KV cache. */
  dtype?: 'float32' | 'float16';
  /** Embeddings `[ids.length × hidden]` of generated tokens (the embedding graph). */
  embed: (ids: readonly number[]) => Promise<Float32Array>;
  prompts: readonly DecoderPromptRow[];
  /** D_sink; required when a row has VAR on. */
  sinkDims?: readonly number[];
  sinkStartLayer?: number;
  /** Attach every raw output of each run to the diagnostics (inspection tools). */
  rawOutputs?: boolean;
  /** Append the recent KV block to the bulk once it holds this many tokens (default {@link KV_MERGE_TOKENS}). */
  kvMergeTokens?: number;
}

/**
 * A DecoderStep over an onnxruntime decoder session (DESIGN §2 contract):
 * left-pads the prompts into one batch, carries the KV cache and sink flags
 * between calls, computes positions and eligible queries, and sets VAR per row.
 * Finished rows stay in the batch, fed their last token; their logits are ignored.
 */
export function createOnnxDecoderStep(options: OnnxDecoderStepOptions): DecoderStep<VarStepDiagnostics> {
  const { decoder, config, prompts } = options;
  const dtype = options.dtype ?? 'float32';
  const d = config.hiddenSize;
  const L = config.numLayers;
  const batch = prompts.length;
  if (batch === 0) throw new InvalidArgumentError('a decoder step needs at least one prompt');
  const hasVarGraph = decoder.inputNames.includes(DECODER_IO.varParams);
  const anyVar = prompts.some((p) => p.var !== undefined);
  if (anyVar && !hasVarGraph) throw new InvalidArgumentError('VAR was requested but the decoder graph has no VAR inputs (built with attention "baseline" or "fused")');
  // With every row VAR-off the graph still takes sink dims; any valid index will do.
  const sinkDims = options.sinkDims && options.sinkDims.length > 0 ? options.sinkDims : anyVar ? [] : [0];
  if (hasVarGraph) assertSinkDims(sinkDims, d);
  const diagnosticGraph = decoder.outputNames.includes(DECODER_IO.diagnosticSelected(0));
  const sinkStartLayer = options.sinkStartLayer ?? 2;
  const mrope = config.rope.type === 'mrope';

  const lengths = prompts.map((p, row) => {
    if (p.embeds.length === 0 || p.embeds.length % d !== 0) {
      throw new InvalidArgumentError(`prompt ${row}: embeddings hold ${p.embeds.length} values, not a positive multiple of hidden size ${d}`);
    }
    const tokens = p.embeds.length / d;
    if (p.imageMask && p.imageMask.length !== tokens) throw new InvalidArgumentError(`prompt ${row}: image mask has ${p.imageMask.length} entries for ${tokens} tokens`);
    if (p.positionIds && p.positionIds.length !== (mrope ? 3 : 1) * tokens) {
      throw new InvalidArgumentError(`prompt ${row}: ${p.positionIds.length} position ids for ${tokens} tokens (${mrope ? 'M-RoPE needs 3 per token' : 'one per token'})`);
    }
    return tokens;
  });
  const width = Math.max(...lengths);
  const padding = lengths.map((n) => width - n);

  // Per-generation state.
  let total = width;
  let attentionMask = new BigInt64Array(batch * width);
  let imageMask = new Uint8Array(batch * width);
  const nextPosition = prompts.map((p, row) => p.nextPosition ?? (lengths[row] as number));
  const lastIds = new Array<number>(batch).fill(0);
  let cache: Record<string, ort.Tensor> = {};
  // The two-block KV cache of the var/baseline graphs (see buildDecoderGraph); the fused graph has one block.
  const twoBlocks = decoder.inputNames.includes(DECODER_IO.recentKey(0));
  const mergeTokens = options.kvMergeTokens ?? KV_MERGE_TOKENS;
  if (!Number.isInteger(mergeTokens) || mergeTokens < 1) throw new InvalidArgumentError(`kvMergeTokens must be a positive integer, got ${String(mergeTokens)}`);
  let bulk: { key: ort.Tensor; value: ort.Tensor }[] | undefined;
  let recent: { key: ort.Tensor; value: ort.Tensor }[] | undefined;
  const params = new Float32Array(batch * 4);
  const layers = new Uint8Array(batch * L);
  // A VAR-off row still detects sinks (for diagnostics) with the default preset's τ; its layers stay off.
  prompts.forEach((p, row) => {
    params.set(varParamsRow(p.var ?? VAR_PRESETS[DEFAULT_VAR_PRESET]), row * 4);
    if (!p.var) return;
    layers.set(varLayerMask(p.var, { numLayers: L, sinkStartLayer }), row * L);
  });

  const floatTensor = (data: Float32Array, dims: number[]) =>
    dtype === 'float16' ? new Tensor('float16', float32ArrayToFloat16(data), dims) : new Tensor('float32', data, dims);

  const run = async (feeds: Record<string, ort.Tensor>, queries: number, phase: 'prefill' | 'decode', signal?: AbortSignal) => {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    if (hasVarGraph) {
      const query = eligibleQueries({
        imageMask: createTensor('uint8', [batch, total], imageMask),
        attentionMask: createTensor('uint8', [batch, total], Uint8Array.from(attentionMask, Number)),
        newTokens: queries,
        phase,
      });
      Object.assign(feeds, {
        [DECODER_IO.pastSinkFlags]: cache[DECODER_IO.presentSinkFlags] ?? new Tensor('uint8', new Uint8Array(0), [L, batch, 0]),
        [DECODER_IO.varDetect]: new Tensor('bool', Uint8Array.of(phase === 'prefill' ? 1 : 0), []),
        [DECODER_IO.varImageMask]: new Tensor('uint8', imageMask, [batch, total]),
        [DECODER_IO.varQueryMask]: new Tensor('uint8', query.data, [batch, queries]),
        [DECODER_IO.varParams]: new Tensor('float32', params, [batch, 4]),
        [DECODER_IO.varLayers]: new Tensor('uint8', layers, [batch, L]),
        [DECODER_IO.varSinkDims]: new Tensor('int64', BigInt64Array.from(sinkDims, BigInt), [sinkDims.length]),
      });
    }
    const empty = floatTensor(new Float32Array(0), [batch, config.numKvHeads, 0, config.headDim]);
    for (let l = 0; l < L; l++) {
      feeds[DECODER_IO.pastKey(l)] = bulk?.[l]?.key ?? empty;
      feeds[DECODER_IO.pastValue(l)] = bulk?.[l]?.value ?? empty;
      if (!twoBlocks) continue;
      feeds[DECODER_IO.recentKey(l)] = recent?.[l]?.key ?? empty;
      feeds[DECODER_IO.recentValue(l)] = recent?.[l]?.value ?? empty;
    }
    const out = await decoder.run(feeds);
    cache = out;
    const present = Array.from({ length: L }, (_, l) => ({ key: out[DECODER_IO.presentKey(l)]!, value: out[DECODER_IO.presentValue(l)]! }));
    if (!twoBlocks) bulk = present;
    else if ((present[0]?.key.dims[2] ?? 0) < mergeTokens) recent = present;
    else {
      bulk = present.map((p, l) => {
        const settled = bulk?.[l];
        if (!settled || settled.key.dims[2] === 0) return p; // the prefill: the prompt's block becomes the bulk, no copy
        const join = (a: ort.Tensor, b: ort.Tensor) => toOrtTensor(concatTensors([fromOrtTensor(a), fromOrtTensor(b)], 2)) as ort.Tensor;
        return { key: join(settled.key, p.key), value: join(settled.value, p.value) };
      });
      recent = undefined;
    }
    const logits = out[DECODER_IO.logits]!.data as Float32Array;
    const vocab = config.vocabSize;
    const rows = Array.from({ length: batch }, (_, b) => logits.slice(b * vocab, (b + 1) * vocab));
    return { rows, diagnostics: diagnosticsOf(out, phase, queries) };
  };

  const diagnosticsOf = (out: ort.InferenceSession.ReturnType, phase: 'prefill' | 'decode', queries: number): VarStepDiagnostics => {
    const result: VarStepDiagnostics = { phase, ...(options.rawOutputs ? { raw: out, padding } : {}) };
    const flags = out[DECODER_IO.presentSinkFlags]?.data as Uint8Array | undefined;
    if (flags && phase === 'prefill') {
      result.sinkPositions = prompts.map((_, b) =>
        Array.from({ length: L }, (_, l) => {
          // Layers before the sink start layer have no sinks by definition (DESIGN §1).
          const positions: number[] = [];
          if (l < sinkStartLayer) return positions;
          for (let t = 0; t < total; t++) if (flags[(l * batch + b) * total + t]) positions.push(t - (padding[b] as number));
          return positions;
        }),
      );
    }
    if (diagnosticGraph) {
      const heads = config.numHeads;
      result.selectedPerHead = prompts.map((_, b) =>
        Array.from({ length: L }, (_, l) => {
          const selected = out[DECODER_IO.diagnosticSelected(l)]!.data as Uint8Array;
          return Array.from({ length: heads }, (_, h) => selected.subarray((b * heads + h) * queries, (b * heads + h + 1) * queries).reduce((a, x) => a + x, 0));
        }),
      );
      result.moved = prompts.map((_, b) =>
        Array.from({ length: L }, (_, l) => (out[DECODER_IO.diagnosticMoved(l)]!.data as Float32Array).subarray(b * heads * queries, (b + 1) * heads * queries).reduce((a, x) => a + x, 0)),
      );
    }
    return result;
  };

  return {
    batchSize: batch,
    async prefill({ signal }): Promise<StepOutput<VarStepDiagnostics>> {
      const embeds = new Float32Array(batch * width * d);
      const positions = new BigInt64Array((mrope ? 3 : 1) * batch * width).fill(1n);
      prompts.forEach((p, b) => {
        const pad = padding[b] as number;
        const n = lengths[b] as number;
        embeds.set(p.embeds, (b * width + pad) * d);
        attentionMask.fill(1n, b * width + pad, (b + 1) * width);
        if (p.imageMask) imageMask.set(p.imageMask, b * width + pad);
        for (let c = 0; c < (mrope ? 3 : 1); c++) {
          for (let t = 0; t < n; t++) positions[(c * batch + b) * width + pad + t] = p.positionIds ? (p.positionIds[c * n + t] as bigint) : BigInt(t);
        }
      });
      const feeds: Record<string, ort.Tensor> = {
        [DECODER_IO.inputsEmbeds]: floatTensor(embeds, [batch, width, d]),
        [DECODER_IO.attentionMask]: new Tensor('int64', attentionMask, [batch, width]),
        [DECODER_IO.positionIds]: new Tensor('int64', positions, mrope ? [3, batch, width] : [batch, width]),
      };
      const { rows, diagnostics } = await run(feeds, width, 'prefill', signal);
      return { logits: rows, diagnostics };
    },
    async decode(input: DecodeInput): Promise<StepOutput<VarStepDiagnostics>> {
      input.rows.forEach((row, i) => (lastIds[row] = input.ids[i] as number));
      const embeddings = await embedOrThrow(lastIds);
      // One more column per row: a real, non-image token.
      const mask = new BigInt64Array(batch * (total + 1));
      const image = new Uint8Array(batch * (total + 1));
      for (let b = 0; b < batch; b++) {
        mask.set(attentionMask.subarray(b * total, (b + 1) * total), b * (total + 1));
        mask[b * (total + 1) + total] = 1n;
        image.set(imageMask.subarray(b * total, (b + 1) * total), b * (total + 1));
      }
      attentionMask = mask;
      imageMask = image;
      total += 1;
      const positions = new BigInt64Array((mrope ? 3 : 1) * batch);
      for (let c = 0; c < (mrope ? 3 : 1); c++) for (let b = 0; b < batch; b++) positions[c * batch + b] = BigInt(nextPosition[b] as number);
      nextPosition.forEach((p, b) => (nextPosition[b] = p + 1));
      const feeds: Record<string, ort.Tensor> = {
        [DECODER_IO.inputsEmbeds]: floatTensor(embeddings, [batch, 1, d]),
        [DECODER_IO.attentionMask]: new Tensor('int64', attentionMask, [batch, total]),
        [DECODER_IO.positionIds]: new Tensor('int64', positions, mrope ? [3, batch, 1] : [batch, 1]),
      };
      const { rows, diagnostics } = await run(feeds, 1, 'decode', input.signal);
      return { logits: input.rows.map((row) => rows[row] as Float32Array), diagnostics };
    },
    dispose() {
      cache = {};
      bulk = undefined;
      recent = undefined;
    },
  };

  async function embedOrThrow(ids: readonly number[]): Promise<Float32Array> {
    const embeddings = await options.embed(ids);
    if (embeddings.length !== ids.length * d) {
      throw new InvalidArgumentError(`embed returned ${embeddings.length} values for ${ids.length} tokens of hidden size ${d}`);
    }
    return embeddings;
  }
}
