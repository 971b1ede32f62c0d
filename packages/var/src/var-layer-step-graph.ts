import { emitImageCentricRows } from '@vasink/head-select';
import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { emitRedistribution } from '@vasink/redistribute';
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
  imageMask: Value;
  queryMask: Value;
  candidates: Value;
  tau: Value;
  rho: Value;
  p: Value;
  minImageAttention: Value;
  layers: Value;
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
  /** `[batch, heads, Q]` bool. */
  selected: Value;
  /** `[batch, heads, Q]` float32. */
  moved: Value;
}

/** Casts and splits of the raw VAR inputs that every layer shares (emit once). */
export function emitVarShared(g: GraphBuilder, raw: VarGraphInputs): VarShared {
  return g.scope('var', () => {
    const queryMask = g.cast(raw.queryMask, 'bool');
    // The new tokens are the last Q of the attention mask; only real prompt tokens may become sinks.
    const newTokens = g.shape(raw.queryMask, { start: 1, end: 2 });
    const newReal = g.cast(g.slice(raw.attentionMask, g.neg(newTokens), [Infinity], [1]), 'bool');
    const column = (c: number) => g.gather(raw.params, c, 1);
    return {
      imageMask: g.cast(raw.imageMask, 'bool'),
      queryMask,
      candidates: g.and(newReal, raw.detect),
      tau: g.unsqueeze(column(0), [1]),
      rho: column(1),
      p: column(2),
      minImageAttention: column(3),
      layers: g.cast(raw.layers, 'bool'),
      sinkDims: raw.sinkDims,
    };
  });
}

/**
 * Emit one decoder layer's VAR step (see {@link varLayerStep}) after its softmax.
 *
 * @param layer 0-based layer index (selects the row's `var_layers` column)
 * @param hidden `[batch, Q, dim]` float32 layer input
 * @param attention `[batch, heads, Q, P+Q]` float32 probabilities
 * @param pastSinkFlags `[batch, P]` uint8 this layer's carried flags
 */
export function emitVarLayer(
  g: GraphBuilder,
  shared: VarShared,
  inputs: { layer: number; hidden: Value; attention: Value; pastSinkFlags: Value },
): VarLayerGraph {
  return g.scope(`var_layer_${inputs.layer}`, () => {
    const score = emitSinkScore(g, { hidden: inputs.hidden, sinkDims: shared.sinkDims });
    const newFlags = emitSinkFlags(g, { score, tau: shared.tau, candidates: shared.candidates });
    const flags = g.concat([g.cast(inputs.pastSinkFlags, 'bool'), newFlags], 1);
    const rows = emitImageCentricRows(g, {
      attention: inputs.attention,
      sinkMask: flags,
      imageMask: shared.imageMask,
      queryMask: shared.queryMask,
      rho: shared.rho,
      minImageAttention: shared.minImageAttention,
      layerActive: g.gather(shared.layers, inputs.layer, 1),
    });
    const moved = emitRedistribution(g, {
      attention: inputs.attention,
      sinkMask: flags,
      imageMask: shared.imageMask,
      selected: rows.selected,
      p: shared.p,
    });
    return { attention: moved.attention, sinkFlags: g.cast(flags, 'uint8'), score, selected: rows.selected, moved: moved.moved };
  });
}
