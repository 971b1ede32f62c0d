import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { IMAGE_ATTENTION_EPSILON } from './image-centric-rows.js';

/** Graph values of the image-centric head rule. */
export interface ImageCentricRowsGraph {
  /** `[batch, heads, query]` bool. */
  selected: Value;
  /** `[batch, heads, query]` float32 A_img. */
  imageAttention: Value;
  /** `[batch, heads, query]` float32 r. */
  nonSinkRatio: Value;
}

/**
 * Emit the image-centric head rule (see {@link imageCentricRows}) as ONNX ops,
 * vectorised over batch, heads and queries. A_img and Σ_N (N = I \ S) come
 * from one MatMul of the attention with the two key masks, so attention is
 * read once. r is evaluated as (Σ_N + ε|I|) / (A_img + ε|I|), equal to
 * 1 − Σ_V / (A_img + ε|I|) but without cancellation when sinks take nearly all
 * image attention.
 *
 * @param attention `[batch, heads, query, key]` float32
 * @param sinkMask `[batch, key]` bool (S_ℓ)
 * @param imageMask `[batch, key]` bool (I)
 * @param queryMask `[batch, query]` bool (eligible queries)
 * @param rho `[batch]` float32; @param minImageAttention `[batch]` float32
 * @param layerActive optional `[batch]` bool
 */
export function emitImageCentricRows(
  g: GraphBuilder,
  inputs: {
    attention: Value;
    sinkMask: Value;
    imageMask: Value;
    queryMask: Value;
    rho: Value;
    minImageAttention: Value;
    layerActive?: Value;
  },
): ImageCentricRowsGraph {
  return g.scope('head_select', () => {
    const { attention, sinkMask, imageMask, queryMask, rho, minImageAttention, layerActive } = inputs;
    const imageF = g.cast(imageMask, 'float32');
    const visualSinkF = g.cast(g.and(sinkMask, imageMask), 'float32');
    const nonSinkImageF = g.sub(imageF, visualSinkF);
    // [batch, 1, key, 2]: columns are I and N.
    const masks = g.unsqueeze(g.concat([g.unsqueeze(imageF, [-1]), g.unsqueeze(nonSinkImageF, [-1])], -1), [1]);
    const [imageAttention, nonSinkImageAttention] = g.split(g.matMul(attention, masks), [1, 1], -1) as [Value, Value];
    const perRow = (x: Value) => g.reshape(x, [-1, 1, 1, 1]);
    const imageEpsilon = g.mul(perRow(g.reduceSum(imageF, [1], false)), IMAGE_ATTENTION_EPSILON);
    const rows = emitImageCentricRowsFromSums(g, {
      imageAttention,
      nonSinkImageAttention,
      imageEpsilon,
      hasVisualSink: g.greater(perRow(g.reduceSum(visualSinkF, [1], false)), 0),
      queryMask: g.unsqueeze(queryMask, [1, 3]),
      rho: perRow(rho),
      minImageAttention: perRow(minImageAttention),
      ...(layerActive ? { layerActive: perRow(layerActive) } : {}),
    });
    // No image token: r is 0/0 there; the reference defines it as 1.
    const nonSinkRatio = g.where(g.greater(imageEpsilon, 0), rows.nonSinkRatio, 1);
    return {
      selected: g.squeeze(rows.selected, [3]),
      imageAttention: g.squeeze(imageAttention, [3]),
      nonSinkRatio: g.squeeze(nonSinkRatio, [3]),
    };
  });
}

/**
 * The head rule from precomputed row sums, everything `[batch, heads, query, 1]`
 * or broadcastable per row `[batch, 1, 1, 1]` — for callers that compute the
 * masked sums once for several rules (the composed VAR step).
 *
 * @param imageAttention A_img; @param nonSinkImageAttention Σ_N
 * @param imageEpsilon 1e-6·|I| per row; @param hasVisualSink |V| > 0 per row (bool)
 * @param queryMask `[batch, 1, query, 1]` bool (fold the layer gate in here, or pass `layerActive`)
 * @returns selected `[batch, heads, query, 1]` bool and r — NaN (0/0) in rows
 *   without image tokens, which are never selected (no visual sink)
 */
export function emitImageCentricRowsFromSums(
  g: GraphBuilder,
  inputs: {
    imageAttention: Value;
    nonSinkImageAttention: Value;
    imageEpsilon: Value;
    hasVisualSink: Value;
    queryMask: Value;
    rho: Value;
    minImageAttention: Value;
    layerActive?: Value;
  },
): { selected: Value; nonSinkRatio: Value } {
  const { imageAttention, nonSinkImageAttention, imageEpsilon, hasVisualSink, queryMask, rho, minImageAttention, layerActive } = inputs;
  // No image token: 0/0 = NaN, and NaN ≥ ρ is false; such a row has no visual sink either.
  const nonSinkRatio = g.div(g.add(nonSinkImageAttention, imageEpsilon), g.add(imageAttention, imageEpsilon));
  let selected = g.and(
    g.and(hasVisualSink, g.greaterOrEqual(nonSinkRatio, rho)),
    g.and(g.greaterOrEqual(imageAttention, minImageAttention), queryMask),
  );
  if (layerActive) selected = g.and(selected, layerActive);
  return { selected, nonSinkRatio };
}
