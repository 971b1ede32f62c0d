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
    // [batch, 1, 2, key]: rows N (visual non-sinks) and S (sinks).
    const rows = g.concat(
      [g.unsqueeze(g.cast(g.and(imageMask, g.not(sinkMask)), 'float32'), [1, 2]), g.unsqueeze(g.cast(sinkMask, 'float32'), [1, 2])],
      2,
    );
    const [nonSinkImageMass, sinkMass] = g.split(g.matMul(attention, g.transpose(rows, [0, 1, 3, 2])), [1, 1], -1) as [Value, Value];
    const out = emitRedistributionFromSums(g, {
      attention,
      sinkMass,
      nonSinkImageMass,
      selected: g.unsqueeze(selected, [3]),
      p: g.reshape(p, [-1, 1, 1, 1]),
      masks: rows,
    });
    return { attention: out.attention, moved: g.squeeze(out.moved, [3]), applied: g.squeeze(out.applied, [3]) };
  });
}

/**
 * The redistribution from precomputed row sums (all `[batch, heads, query, 1]`)
 * and the key masks `[batch, 1, 2, key]` (row 0: N, row 1: S) — for callers
 * that compute the masked sums once for several rules (the composed VAR step).
 *
 * @param p `[batch, 1, 1, 1]`
 * @returns attention, moved `[batch, heads, query, 1]`, applied (bool, same shape)
 */
export function emitRedistributionFromSums(
  g: GraphBuilder,
  inputs: { attention: Value; sinkMass: Value; nonSinkImageMass: Value; selected: Value; p: Value; masks: Value },
): RedistributionGraph {
  const { attention, sinkMass, nonSinkImageMass, selected, p, masks } = inputs;
  const applied = g.and(selected, g.greater(nonSinkImageMass, 0));
  const sinkCoefficient = g.where(applied, p, 0);
  const moved = g.mul(sinkCoefficient, sinkMass);
  // Σ_N = 0 rows divide by zero here; Where discards them.
  const nonSinkCoefficient = g.where(applied, g.div(moved, nonSinkImageMass), 0);
  // Row scale 1 + c_N·[k∈N] − c_S·[k∈S]: exactly 1 where nothing applies.
  const scale = g.add(g.matMul(g.concat([nonSinkCoefficient, g.neg(sinkCoefficient)], -1), masks), 1);
  return { attention: g.mul(attention, scale), moved, applied };
}
