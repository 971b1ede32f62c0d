import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { SINK_SCORE_EPSILON } from './sink-score.js';

/**
 * Emit φ (see {@link sinkScore}) as ONNX ops, vectorised over batch and tokens.
 *
 * @param hidden `[batch, tokens, dim]` float32
 * @param sinkDims `[n]` int64 (a graph input, so D_sink can change at run time)
 * @returns `[batch, tokens]` float32
 */
export function emitSinkScore(g: GraphBuilder, inputs: { hidden: Value; sinkDims: Value }): Value {
  return g.scope('sink_score', () => {
    const { hidden, sinkDims } = inputs;
    const meanSquare = g.reduceMean(g.mul(hidden, hidden), [-1], false);
    const rms = g.sqrt(g.add(meanSquare, SINK_SCORE_EPSILON));
    const peak = g.reduceMax(g.abs(g.gather(hidden, sinkDims, 2)), [-1], false);
    return g.div(peak, rms);
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
