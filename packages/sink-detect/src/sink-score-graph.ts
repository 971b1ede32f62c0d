import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { SINK_SCORE_EPSILON } from './sink-score.js';

/**
 * Emit φ (see {@link sinkScore}) as ONNX ops, vectorised over every leading axis.
 *
 * @param hidden `[..., dim]` float32 (e.g. `[batch, tokens, dim]`)
 * @param sinkDims `[n]` int64 (a graph input, so D_sink can change at run time)
 * @param meanSquare optional `[..., 1]` float32 mean of `hidden²` over `dim`
 *   — a decoder passes its RMSNorm's own, so the hidden state is read once
 * @param keepDims keep `dim` as a size-1 axis in the result
 * @returns `[...]` float32 (`[..., 1]` with `keepDims`)
 */
export function emitSinkScore(g: GraphBuilder, inputs: { hidden: Value; sinkDims: Value; meanSquare?: Value; keepDims?: boolean }): Value {
  return g.scope('sink_score', () => {
    const { hidden, sinkDims } = inputs;
    const keepDims = inputs.keepDims === true;
    // A given mean square has the kept axis: reduce with it and drop it at the end if asked.
    const reduceKeeping = inputs.meanSquare !== undefined || keepDims;
    const meanSquare = inputs.meanSquare ?? g.reduceMean(g.mul(hidden, hidden), [-1], reduceKeeping);
    const rms = g.sqrt(g.add(meanSquare, SINK_SCORE_EPSILON));
    const peak = g.reduceMax(g.abs(g.gather(hidden, sinkDims, -1)), [-1], reduceKeeping);
    const score = g.div(peak, rms);
    return reduceKeeping && !keepDims ? g.squeeze(score, [-1]) : score;
  });
}

/**
 * Emit sink flags: `score > tau` (strict) and `candidates`.
 *
 * @param score `[batch, tokens]` float32
 * @param tau `[batch, 1]` float32, per row
 * @param candidates `[batch, tokens]` bool
 * @returns `[batch, tokens]` bool
 */
export function emitSinkFlags(g: GraphBuilder, inputs: { score: Value; tau: Value; candidates: Value }): Value {
  return g.scope('sink_flags', () => g.and(g.greater(inputs.score, inputs.tau), inputs.candidates));
}
