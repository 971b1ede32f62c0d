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
    const sums = g.matMul(attention, masks);
    const imageAttention = g.gather(sums, 0, 3);
    const nonSinkImageAttention = g.gather(sums, 1, 3);
    const perRow = (x: Value) => g.reshape(x, [-1, 1, 1]);
    const epsilonTerm = g.mul(perRow(g.reduceSum(imageF, [1], false)), IMAGE_ATTENTION_EPSILON);
    const hasVisualSink = g.greater(perRow(g.reduceSum(visualSinkF, [1], false)), 0);
    const denominator = g.add(imageAttention, epsilonTerm);
    // No image token: the division is 0/0, discarded by Where (r = 1, as the reference defines it).
    const nonSinkRatio = g.where(g.greater(denominator, 0), g.div(g.add(nonSinkImageAttention, epsilonTerm), denominator), 1);
    let selected = g.and(
      g.and(hasVisualSink, g.greaterOrEqual(nonSinkRatio, perRow(rho))),
      g.and(g.greaterOrEqual(imageAttention, perRow(minImageAttention)), g.unsqueeze(queryMask, [1])),
    );
    if (layerActive) selected = g.and(selected, perRow(layerActive));
    return { selected, imageAttention, nonSinkRatio };
  });
}
