import { type Float32Tensor, type TypedTensor, type Uint8Tensor, concatTensors, createTensor } from '@vasink/tensor';
import type { DecoderConfig } from '../decoder-config.js';
import { DECODER_IO } from '../decoder-graph.js';
import { type AnyIntervention, type InterventionModel, type InterventionRow, type InterventionStep, interventionFeeds, interventionReferences } from '../intervention.js';
import { referenceDecoderStep } from '../reference-decoder.js';
import type { TinyPrompt } from './tiny-decoder.js';

/** One run of the decoder graph and of the reference, side by side. */
export interface SideBySideStep {
  /** `[batch × vocab]` logits of the graph. */
  onnxLogits: Float32Array;
  refLogits: Float32Array;
  /** Every graph output. */
  onnx: Record<string, TypedTensor>;
  /** The reference interventions' outputs (carried state, diagnostics) by graph output name. */
  ref: Record<string, TypedTensor>;
  /** Greedy token of each row (from the graph), fed to the next step. */
  chosen: number[];
}

export interface SideBySideOptions {
  /** Runs the decoder graph (a session over `buildDecoderGraph`'s model). */
  run: (feeds: Record<string, TypedTensor>) => Promise<Record<string, TypedTensor>>;
  config: DecoderConfig;
  weights: ReadonlyMap<string, TypedTensor>;
  prompt: TinyPrompt;
  /** The interventions the graph was built with, in the same order. */
  interventions: readonly AnyIntervention[];
  /** Settings per batch row; required when `interventions` is not empty. */
  rows?: readonly InterventionRow[];
  /** Sink dims and start layer (VAR); defaults: none, 2. */
  model?: Partial<Pick<InterventionModel, 'sinkDims' | 'sinkStartLayer'>>;
  /** Greedy decode steps after the prefill. */
  steps: number;
  mrope?: boolean;
  /** Merge the recent cache block into the bulk once it holds this many tokens (default 2: both paths run). */
  mergeAt?: number;
  /** The fused graph: one cache block, full present out. */
  fused?: boolean;
}

/**
 * Prefill `prompt` and decode `steps` greedy tokens through the ONNX graph
 * and the TypeScript reference with the same interventions, keeping the
 * cache (two blocks, as the runtime does) and each intervention's carried
 * state. Returns every step's logits and outputs.
 */
export async function runDecoderSideBySide(options: SideBySideOptions): Promise<SideBySideStep[]> {
  const { config, weights, prompt, steps, interventions } = options;
  const rows = options.rows ?? Array.from({ length: prompt.batch }, () => ({}));
  if (interventions.length > 0 && rows.length !== prompt.batch) throw new Error(`side by side: ${rows.length} rows of settings for a batch of ${prompt.batch}`);
  const { batch } = prompt;
  const L = config.numLayers;
  const kv = config.numKvHeads;
  const hd = config.headDim;
  const model: InterventionModel = {
    numLayers: L,
    numHeads: config.numHeads,
    hiddenSize: config.hiddenSize,
    sinkDims: options.model?.sinkDims ?? [],
    sinkStartLayer: options.model?.sinkStartLayer ?? 2,
  };
  let total = prompt.tokens;
  let embeds = prompt.embeds;
  let attentionMask = Array.from(prompt.attentionMask, Number);
  let imageMask = Array.from(prompt.imageMask);
  let positionIds = prompt.positionIds;
  const emptyBlock = () => ({ key: createTensor('float32', [batch, kv, 0, hd]), value: createTensor('float32', [batch, kv, 0, hd]) });
  let onnxPast: { key: TypedTensor; value: TypedTensor }[] = Array.from({ length: L }, emptyBlock);
  let onnxRecent: { key: TypedTensor; value: TypedTensor }[] = Array.from({ length: L }, emptyBlock);
  const mergeAt = options.mergeAt ?? 2;
  let refPast = Array.from({ length: L }, emptyBlock) as { key: Float32Tensor; value: Float32Tensor }[];
  const noCarried = () => new Map(interventions.flatMap((i) => (i.carried ? [[i.carried.input, createTensor('uint8', [L, batch, 0])] as const] : [])));
  let onnxCarried: Map<string, Uint8Tensor> = noCarried();
  let refCarried: Map<string, Uint8Tensor> = noCarried();
  const records: SideBySideStep[] = [];
  for (let step = 0; step <= steps; step++) {
    const queries = embeds.dims[1] as number;
    const context: InterventionStep = {
      phase: step === 0 ? 'prefill' : 'decode',
      batch,
      total,
      queries,
      attentionMask: Uint8Array.from(attentionMask),
      imageMask: Uint8Array.from(imageMask),
      model,
    };
    const positions = createTensor('int64', options.mrope ? [3, batch, queries] : [batch, queries], positionIds);
    const feeds: Record<string, TypedTensor> = {
      [DECODER_IO.inputsEmbeds]: embeds,
      [DECODER_IO.attentionMask]: createTensor('int64', [batch, total], attentionMask),
      [DECODER_IO.positionIds]: positions,
    };
    onnxPast.forEach((p, l) => {
      feeds[DECODER_IO.pastKey(l)] = p.key;
      feeds[DECODER_IO.pastValue(l)] = p.value;
      if (options.fused) return;
      feeds[DECODER_IO.recentKey(l)] = onnxRecent[l]!.key;
      feeds[DECODER_IO.recentValue(l)] = onnxRecent[l]!.value;
    });
    if (interventions.length > 0) {
      feeds[DECODER_IO.imageMask] = createTensor('uint8', [batch, total], context.imageMask);
      Object.assign(feeds, interventionFeeds(interventions, context, rows), Object.fromEntries(onnxCarried));
    }
    const out = await options.run(feeds);
    const ref = referenceDecoderStep({
      config,
      weights,
      inputsEmbeds: embeds,
      attentionMask,
      positionIds: positions.data,
      past: refPast,
      interventions: interventionReferences(interventions, context, rows, refCarried),
    });
    const onnxLogits = out[DECODER_IO.logits]!.data as Float32Array;
    const chosen = Array.from({ length: batch }, (_, b) => {
      const row = onnxLogits.subarray(b * config.vocabSize, (b + 1) * config.vocabSize);
      return row.indexOf(Math.max(...row));
    });
    records.push({ onnxLogits, refLogits: ref.logits.data, onnx: out, ref: ref.outputs, chosen });
    // Next step: the chosen tokens' embeddings at the next positions.
    const table = weights.get('embed_tokens.weight')!.data as Float32Array;
    const d = config.hiddenSize;
    const next = new Float32Array(batch * d);
    chosen.forEach((id, b) => next.set(table.subarray(id * d, (id + 1) * d), b * d));
    embeds = createTensor('float32', [batch, 1, d], next);
    const lastPositions = Array.from({ length: batch }, (_, b) => positions.data[b * queries + queries - 1] as bigint);
    positionIds = new BigInt64Array(options.mrope ? [...lastPositions, ...lastPositions, ...lastPositions].map((p) => p + 1n) : lastPositions.map((p) => p + 1n));
    const grow = (values: number[], extra: number) => Array.from({ length: batch }, (_, b) => [...values.slice(b * total, (b + 1) * total), extra]).flat();
    attentionMask = grow(attentionMask, 1);
    imageMask = grow(imageMask, 0);
    total += 1;
    const present = Array.from({ length: L }, (_, l) => ({ key: out[DECODER_IO.presentKey(l)]!, value: out[DECODER_IO.presentValue(l)]! }));
    if (options.fused) onnxPast = present;
    else if ((present[0]!.key.dims[2] as number) >= mergeAt) {
      onnxPast = onnxPast.map((p, l) => ({ key: concatTensors([p.key, present[l]!.key], 2), value: concatTensors([p.value, present[l]!.value], 2) }));
      onnxRecent = Array.from({ length: L }, emptyBlock);
    } else onnxRecent = present;
    refPast = ref.present;
    const carriedNext = (outputs: Record<string, TypedTensor>) =>
      new Map(interventions.flatMap((i) => (i.carried ? [[i.carried.input, outputs[i.carried.output] as Uint8Tensor] as const] : [])));
    onnxCarried = carriedNext(out);
    refCarried = carriedNext(ref.outputs);
  }
  return records;
}
