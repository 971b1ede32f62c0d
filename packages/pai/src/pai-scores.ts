import { type Float32Tensor, assertDims, createTensor } from '@vasink/tensor';

/**
 * PAI's edit of one layer's attention scores (reference): on the last query
 * of each row, the logits on image keys become `a + α·|a|` (float32, as the
 * graph rounds); every other entry is kept bit for bit.
 *
 * @param scores `[batch, heads, Q, keys]` float32 scaled scores
 * @param imageMask `[batch, keys]` 1 on image tokens
 * @param alpha `[batch]` this layer's α per row (0 = off)
 */
export function paiScores(options: { scores: Float32Tensor; imageMask: ArrayLike<number>; alpha: ArrayLike<number> }): Float32Tensor {
  const { scores, imageMask, alpha } = options;
  assertDims('scores', scores.dims, [null, null, null, null], ['batch', 'heads', 'query', 'key']);
  const [batch, heads, queries, keys] = scores.dims as [number, number, number, number];
  assertDims('imageMask', [imageMask.length], [batch * keys]);
  assertDims('alpha', [alpha.length], [batch]);
  const out = Float32Array.from(scores.data);
  for (let b = 0; b < batch; b++) {
    const a = Math.fround(alpha[b] as number);
    if (a === 0) continue;
    for (let h = 0; h < heads; h++) {
      const row = ((b * heads + h) * queries + queries - 1) * keys;
      for (let t = 0; t < keys; t++) {
        if (!imageMask[b * keys + t]) continue;
        const s = out[row + t] as number;
        out[row + t] = Math.fround(s + Math.fround(Math.abs(s) * a));
      }
    }
  }
  return createTensor('float32', scores.dims, out);
}
