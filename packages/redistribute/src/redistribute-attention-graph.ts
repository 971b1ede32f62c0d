import type { GraphBuilder, Value } from '@vasink/onnx-graph';

/** Graph values of the redistribution. */
export interface RedistributionGraph {
  /** `[batch, heads, query, key]` float32. */
  attention: Value;
  /** `[batch, heads, query]` float32 mass moved. */
  moved: Value;
  /** `[batch, heads, query]` bool: row changed. */
  applied: Value;
}

/**
 * Emit the redistribution (see {@link redistributeAttention}) as ONNX ops,
 * vectorised over batch, heads and queries. Each row is scaled by
 * `1 − c_S·[k∈S] + c_N·[k∈N]` with c_S = p and c_N = p·Σ_S/Σ_N on applied rows
 * and 0 elsewhere, so unchanged rows are multiplied by exactly 1. Σ_S and Σ_N
 * come from one MatMul with the masks, the scale from a second.
 *
 * @param attention `[batch, heads, query, key]` float32
 * @param sinkMask `[batch, key]` bool (S_ℓ); @param imageMask `[batch, key]` bool (I)
 * @param selected `[batch, heads, query]` bool; @param p `[batch]` float32
 */
export function emitRedistribution(
  g: GraphBuilder,
  inputs: { attention: Value; sinkMask: Value; imageMask: Value; selected: Value; p: Value },
): RedistributionGraph {
  return g.scope('redistribute', () => {
    const { attention, sinkMask, imageMask, selected, p } = inputs;
    const sinkF = g.cast(sinkMask, 'float32');
    const nonSinkImageF = g.cast(g.and(imageMask, g.not(sinkMask)), 'float32');
    // [batch, 1, key, 2]: columns are S and N.
    const masks = g.unsqueeze(g.concat([g.unsqueeze(sinkF, [-1]), g.unsqueeze(nonSinkImageF, [-1])], -1), [1]);
    const sums = g.matMul(attention, masks);
    const sinkMass = g.gather(sums, 0, 3);
    const nonSinkImageMass = g.gather(sums, 1, 3);
    const applied = g.and(selected, g.greater(nonSinkImageMass, 0));
    const sinkCoefficient = g.where(applied, g.reshape(p, [-1, 1, 1]), 0);
    const moved = g.mul(sinkCoefficient, sinkMass);
    // Σ_N = 0 rows divide by zero here; Where discards them.
    const nonSinkCoefficient = g.where(applied, g.div(moved, nonSinkImageMass), 0);
    const coefficients = g.concat([g.unsqueeze(g.neg(sinkCoefficient), [-1]), g.unsqueeze(nonSinkCoefficient, [-1])], -1);
    const scale = g.add(g.matMul(coefficients, g.transpose(masks, [0, 1, 3, 2])), 1);
    return { attention: g.mul(attention, scale), moved, applied };
  });
}
