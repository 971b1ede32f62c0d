import type { GraphBuilder, Value } from '@vasink/onnx-graph';

/** VAF values every layer shares. */
export interface VafShared {
  /** `[batch, 1, 1, keys]` float32 image keys I. */
  readonly imageKeys: Value;
  /** `[batch, 1, 1, keys]` float32 system-prompt keys S. */
  readonly systemKeys: Value;
  /** `[batch, 1, Q, 1]` float32: 1 on queries after the row's last image token. */
  readonly queries: Value;
}

/**
 * Emit once per graph: image keys, system-prompt keys (real keys before the
 * row's first image token; none without an image) and the queries VAF edits
 * (see {@link vafScores}).
 *
 * @param imageMask `[batch, keys]` uint8
 * @param attentionMask `[batch, keys]` int64
 * @param newTokens `[1]` int64 Q
 */
export function emitVafShared(g: GraphBuilder, inputs: { imageMask: Value; attentionMask: Value; newTokens: Value }): VafShared {
  return g.scope('vaf', () => {
    const image = g.cast(inputs.imageMask, 'bool');
    const keys = g.shape(inputs.imageMask, { start: 1, end: 2 });
    const positions = g.range(0, g.squeeze(keys, [0]), 1); // [keys] int64
    // First image position (keys when none) and last (−1 when none), per row: [batch, 1].
    const first = g.reduceMin(g.where(image, positions, g.squeeze(keys, [0])), [1], true);
    const last = g.reduceMax(g.where(image, positions, -1), [1], true);
    const real = g.cast(inputs.attentionMask, 'bool');
    // Without an image the row has no system prompt in VAF's sense (first = keys would make every key one).
    const hasImage = g.less(first, g.squeeze(keys, [0]));
    const system = g.and(g.and(g.less(g.unsqueeze(positions, [0]), first), real), hasImage);
    const queryPositions = g.add(g.range(0, g.squeeze(inputs.newTokens, [0]), 1), g.sub(keys, inputs.newTokens)); // [Q]
    const after = g.greater(g.unsqueeze(queryPositions, [0]), last); // [batch, Q]
    return {
      imageKeys: g.unsqueeze(g.cast(image, 'float32'), [1, 2]),
      systemKeys: g.unsqueeze(g.cast(system, 'float32'), [1, 2]),
      queries: g.unsqueeze(g.cast(after, 'float32'), [1, 3]),
    };
  });
}

/**
 * Emit one layer's VAF edit: `scores · (1 + Q ⊙ (β·I + (−α)·S))` — the scores
 * bit for bit where β, α or the masks are 0.
 *
 * @param scores `[batch, heads, Q, keys]` float32
 * @param scales `[batch, 2]` float32 this layer's (β, −α) per row
 */
export function emitVafScores(g: GraphBuilder, shared: VafShared, inputs: { scores: Value; scales: Value }): Value {
  const column = (c: number) => g.reshape(g.gather(inputs.scales, c, 1), [-1, 1, 1, 1]);
  const delta = g.add(g.mul(shared.imageKeys, column(0)), g.mul(shared.systemKeys, column(1))); // [batch, 1, 1, keys]
  return g.mul(inputs.scores, g.add(g.mul(delta, shared.queries), 1));
}
