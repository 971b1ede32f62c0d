import type { GraphBuilder, Value } from '@vasink/onnx-graph';

/** PAI values every layer shares. */
export interface PaiShared {
  /** `[batch, 1, Q, keys]` float32: 1 on (last query, image key) pairs. */
  readonly lastQueryImage: Value;
}

/**
 * Emit once per graph: the (last query, image key) mask.
 *
 * @param imageMask `[batch, keys]` uint8
 * @param newTokens `[1]` int64 Q
 */
export function emitPaiShared(g: GraphBuilder, inputs: { imageMask: Value; newTokens: Value }): PaiShared {
  return g.scope('pai', () => {
    const q = g.squeeze(inputs.newTokens, [0]);
    const lastQuery = g.reshape(g.cast(g.equal(g.range(0, q, 1), g.sub(q, 1)), 'float32'), [1, 1, -1, 1]);
    const imageKeys = g.unsqueeze(g.cast(inputs.imageMask, 'float32'), [1, 2]);
    return { lastQueryImage: g.mul(imageKeys, lastQuery) };
  });
}

/**
 * Emit one layer's PAI edit (see {@link paiScores}): `scores + |scores| ⊙ (α · mask)`,
 * which is the scores bit for bit where α or the mask is 0.
 *
 * @param scores `[batch, heads, Q, keys]` float32
 * @param alpha `[batch]` float32 this layer's α per row
 */
export function emitPaiScores(g: GraphBuilder, shared: PaiShared, inputs: { scores: Value; alpha: Value }): Value {
  const amount = g.mul(shared.lastQueryImage, g.reshape(inputs.alpha, [-1, 1, 1, 1]));
  return g.add(inputs.scores, g.mul(g.abs(inputs.scores), amount));
}
