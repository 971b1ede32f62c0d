import { IMAGE_ATTENTION_EPSILON, emitImageCentricRowsFromSums } from '@vasink/head-select';
import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { emitRedistributionFromSums } from '@vasink/redistribute';
import { emitSinkFlags, emitSinkScore } from '@vasink/sink-detect';

/** The decoder's raw VAR inputs (DESIGN §2 contract). */
export interface VarGraphInputs {
  /** `[]` bool: the new tokens are prompt tokens. */
  detect: Value;
  /** `[batch, P+Q]` uint8. */
  imageMask: Value;
  /** `[batch, Q]` uint8. */
  queryMask: Value;
  /** `[batch, 4]` float32: τ, ρ, p, m. */
  params: Value;
  /** `[batch, layers]` uint8. */
  layers: Value;
  /** `[n]` int64. */
  sinkDims: Value;
  /** `[batch, P+Q]` int64, 1 real / 0 padding. */
  attentionMask: Value;
}

/** VAR values shared by every layer, computed once per graph by {@link emitVarShared}. */
export interface VarShared {
  /** `[batch, Q]` bool eligible queries. */
  queryMask: Value;
  /** `[2]` int64: `[batch, Q]`. */
  queryShape: Value;
  /**
   * `[layers, batch, 1, Q, 1]` bool: query eligible and VAR on in that layer
   * for that row — the layer's gate on head selection, one Gather per layer.
   */
  rowGates: Value;
  /** `[batch, Q]` bool: new real prompt tokens (sink candidates) when detecting. */
  candidates: Value;
  /** `[batch, 1, 1, key]` float32 image mask I. */
  imageRow: Value;
  /** `[batch, 1, 1, 1]` 1e-6·|I|. */
  imageEpsilon: Value;
  /** `[batch, 1]` τ. */
  tau: Value;
  /** `[batch, 1, 1, 1]` ρ, p, m. */
  rho: Value;
  p: Value;
  minImageAttention: Value;
  sinkDims: Value;
}

/** Graph values of one layer's VAR step. */
export interface VarLayerGraph {
  /** `[batch, heads, Q, P+Q]` float32. */
  attention: Value;
  /** `[batch, P+Q]` uint8: this layer's present sink flags. */
  sinkFlags: Value;
  /** `[batch, Q]` float32 φ. */
  score: Value;
  /** `[batch, heads, Q, 1]` bool. */
  selectedRows: Value;
  /** `[batch, heads, Q, 1]` float32. */
  movedRows: Value;
  /** Emit `[batch, heads, Q]` views of the selected rows and moved mass (diagnostic outputs only). */
  diagnostics(): { selected: Value; moved: Value };
}

/** Casts and reshapes of the raw VAR inputs that every layer shares (emit once). */
export function emitVarShared(g: GraphBuilder, raw: VarGraphInputs): VarShared {
  return g.scope('var', () => {
    const queryMask = g.cast(raw.queryMask, 'bool');
    // The new tokens are the last Q of the attention mask; only real prompt tokens may become sinks.
    const newTokens = g.shape(raw.queryMask, { start: 1, end: 2 });
    const newReal = g.cast(g.slice(raw.attentionMask, g.neg(newTokens), [Infinity], [1]), 'bool');
    const perRow = (x: Value) => g.reshape(x, [-1, 1, 1, 1]);
    const column = (c: number) => perRow(g.gather(raw.params, c, 1));
    const imageRow = g.unsqueeze(g.cast(raw.imageMask, 'float32'), [1, 2]);
    // [layers, batch, 1, 1, 1] ∧ [batch, 1, Q, 1]
    const layerGates = g.unsqueeze(g.transpose(g.cast(raw.layers, 'bool'), [1, 0]), [2, 3, 4]);
    return {
      queryMask,
      queryShape: g.shape(raw.queryMask),
      rowGates: g.and(layerGates, g.unsqueeze(queryMask, [1, 3])),
      candidates: g.and(newReal, raw.detect),
      imageRow,
      imageEpsilon: g.mul(g.reduceSum(imageRow, [3], true), IMAGE_ATTENTION_EPSILON),
      tau: g.unsqueeze(g.gather(raw.params, 0, 1), [1]),
      rho: column(1),
      p: column(2),
      minImageAttention: column(3),
      sinkDims: raw.sinkDims,
    };
  });
}

/**
 * Emit one decoder layer's VAR step (see {@link varLayerStep}) after its
 * softmax: sink detection, then head selection and redistribution from ONE
 * MatMul of the attention with the key masks [I, N, S] (read once). Every
 * per-row or per-graph value comes from {@link emitVarShared}, so a layer
 * costs ~40 small ops (what decode pays per layer).
 *
 * @param layer 0-based layer index (selects the row's `var_layers` column)
 * @param hidden float32 layer input, `[batch, Q, dim]` or flattened `[batch·Q, dim]`
 * @param meanSquare optional `[..., 1]` mean of `hidden²` over `dim` (the
 *   layer's RMSNorm computes it anyway: φ then reads the hidden state once)
 * @param attention `[batch, heads, Q, P+Q]` float32 probabilities
 * @param pastSinkFlags `[batch, P]` uint8 this layer's carried flags
 */
export function emitVarLayer(
  g: GraphBuilder,
  shared: VarShared,
  inputs: { layer: number; hidden: Value; meanSquare?: Value; attention: Value; pastSinkFlags: Value },
): VarLayerGraph {
  return g.scope(`var_layer_${inputs.layer}`, () => {
    const kept = emitSinkScore(g, {
      hidden: inputs.hidden,
      sinkDims: shared.sinkDims,
      keepDims: true,
      ...(inputs.meanSquare ? { meanSquare: inputs.meanSquare } : {}),
    });
    const score = g.reshape(kept, shared.queryShape);
    const newFlags = emitSinkFlags(g, { score, tau: shared.tau, candidates: shared.candidates });
    const flags = g.concat([inputs.pastSinkFlags, g.cast(newFlags, 'uint8')], 1);
    // Key masks as rows [batch, 1, 1, key]: S, V = I·S, N = I − V.
    const sinks = g.unsqueeze(g.cast(flags, 'float32'), [1, 2]);
    const visualSinks = g.mul(shared.imageRow, sinks);
    const nonSinkImage = g.sub(shared.imageRow, visualSinks);
    // Row sums for all three rules in one MatMul with the masks [I, N, S].
    const rows = g.concat([shared.imageRow, nonSinkImage, sinks], 2);
    const [imageAttention, nonSinkImageAttention, sinkAttention] = g.split(
      g.matMul(inputs.attention, g.transpose(rows, [0, 1, 3, 2])),
      [1, 1, 1],
      -1,
    ) as [Value, Value, Value];
    const heads = emitImageCentricRowsFromSums(g, {
      imageAttention,
      nonSinkImageAttention,
      imageEpsilon: shared.imageEpsilon,
      hasVisualSink: g.greater(g.reduceMax(visualSinks, [3], true), 0),
      queryMask: g.gather(shared.rowGates, inputs.layer, 0),
      rho: shared.rho,
      minImageAttention: shared.minImageAttention,
    });
    const moved = emitRedistributionFromSums(g, {
      attention: inputs.attention,
      sinkMass: sinkAttention,
      nonSinkImageMass: nonSinkImageAttention,
      selected: heads.selected,
      p: shared.p,
      masks: g.slice(rows, [1], [3], [2]),
    });
    return {
      attention: moved.attention,
      sinkFlags: flags,
      score,
      selectedRows: heads.selected,
      movedRows: moved.moved,
      diagnostics: () => ({ selected: g.squeeze(heads.selected, [3]), moved: g.squeeze(moved.moved, [3]) }),
    };
  });
}
