import { imageCentricRows } from '@vasink/head-select';
import { redistributeAttention } from '@vasink/redistribute';
import { sinkFlags as sinkFlagsOf, sinkScore } from '@vasink/sink-detect';
import {
  type Float32Tensor,
  type Uint8Tensor,
  assertDims,
  createTensor,
} from '@vasink/tensor';

/** One decoder layer's VAR inputs, in the decoder contract's terms (DESIGN §2). */
export interface VarLayerStepOptions {
  /** `[batch, Q, dim]` the layer's input hidden state for the Q new tokens. */
  hidden: Float32Tensor;
  /** `[batch, heads, Q, P+Q]` attention probabilities of the new tokens. */
  attention: Float32Tensor;
  /** `[batch, P]` this layer's sink flags of the past tokens. */
  pastSinkFlags: Uint8Tensor;
  /** The new tokens are prompt tokens: detect sinks among them. */
  detect: boolean;
  /** `[batch, P+Q]` 1 real, 0 padding. */
  attentionMask: Uint8Tensor;
  /** `[batch, P+Q]` 1 on image tokens. */
  imageMask: Uint8Tensor;
  /** `[batch, Q]` eligible queries. */
  queryMask: Uint8Tensor;
  /** `[batch, 4]` τ, ρ, p, m per row (paper convention). */
  params: Float32Tensor;
  /** `[batch]` 1 where VAR acts on this layer for the row. */
  layerActive: ArrayLike<number>;
  sinkDims: readonly number[];
}

/** The layer's VAR results. */
export interface VarLayerStep {
  /** `[batch, heads, Q, P+Q]` attention after redistribution. */
  attention: Float32Tensor;
  /** `[batch, P+Q]` sink flags of this layer, past and new (the carried state). */
  sinkFlags: Uint8Tensor;
  /** `[batch, Q]` φ of the new tokens. */
  score: Float32Tensor;
  /** `[batch, heads, Q]` 1 where head selection chose the row. */
  selected: Uint8Tensor;
  /** `[batch, heads, Q]` attention mass moved onto visual non-sinks. */
  moved: Float32Tensor;
}

/**
 * The composed per-layer VAR step (reference): sink detection on the new
 * prompt tokens, carried sink flags, image-centric head selection and
 * redistribution. Mirrors the graph the decoder runs after each softmax.
 */
export function varLayerStep(options: VarLayerStepOptions): VarLayerStep {
  const { hidden, attention, pastSinkFlags, detect, attentionMask, imageMask, queryMask, params, layerActive, sinkDims } =
    options;
  assertDims('attention', attention.dims, [null, null, null, null], ['batch', 'heads', 'query', 'key']);
  const [batch, , queries, keys] = attention.dims as [number, number, number, number];
  const past = keys - queries;
  assertDims('hidden', hidden.dims, [batch, queries, null], ['batch', 'query', 'dim']);
  assertDims('pastSinkFlags', pastSinkFlags.dims, [batch, past]);
  assertDims('attentionMask', attentionMask.dims, [batch, keys]);
  assertDims('params', params.dims, [batch, 4]);
  const column = (c: number) => Array.from({ length: batch }, (_, b) => params.data[b * 4 + c] as number);
  const [tau, rho, p, minImageAttention] = [column(0), column(1), column(2), column(3)];

  const score = sinkScore(hidden, sinkDims);
  const candidates = new Uint8Array(batch * queries);
  if (detect) {
    for (let b = 0; b < batch; b++) {
      for (let q = 0; q < queries; q++) candidates[b * queries + q] = attentionMask.data[b * keys + past + q] !== 0 ? 1 : 0;
    }
  }
  const newFlags = sinkFlagsOf({ score, tau, candidates: createTensor('uint8', [batch, queries], candidates) });
  const flags = new Uint8Array(batch * keys);
  for (let b = 0; b < batch; b++) {
    flags.set(pastSinkFlags.data.subarray(b * past, (b + 1) * past), b * keys);
    flags.set(newFlags.data.subarray(b * queries, (b + 1) * queries), b * keys + past);
  }
  const sinkFlags = createTensor('uint8', [batch, keys], flags);

  const { selected } = imageCentricRows({ attention, sinkFlags, imageMask, queryMask, rho, minImageAttention, layerActive });
  const redistributed = redistributeAttention({ attention, sinkFlags, imageMask, selected, p });
  return { attention: redistributed.attention, sinkFlags, score, selected, moved: redistributed.moved };
}
