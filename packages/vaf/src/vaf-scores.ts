import { type Float32Tensor, assertDims, createTensor } from '@vasink/tensor';

/**
 * Per row: `[keys]` 1 on system-prompt keys — real keys before the row's
 * first image token (ClearSight's `[:SYS_LEN]`), none when it has no image —
 * and the position of its last image token (−1 without one).
 */
export function vafKeyRoles(imageMask: ArrayLike<number>, attentionMask: ArrayLike<number>, batch: number): { system: Uint8Array; lastImage: Int32Array } {
  const keys = imageMask.length / batch;
  const system = new Uint8Array(batch * keys);
  const lastImage = new Int32Array(batch).fill(-1);
  for (let b = 0; b < batch; b++) {
    let first = -1;
    for (let t = 0; t < keys; t++) {
      if (!imageMask[b * keys + t]) continue;
      if (first < 0) first = t;
      lastImage[b] = t;
    }
    for (let t = 0; t < first; t++) system[b * keys + t] = attentionMask[b * keys + t] ? 1 : 0;
  }
  return { system, lastImage };
}

/**
 * VAF's edit of one layer's attention scores (reference): for queries after
 * the row's last image token (every text query of the prefill that follows
 * the image; each decode token), logits on image keys × (1 + β) and on
 * system-prompt keys × (1 − α) (float32, as the graph rounds). Other entries
 * are kept bit for bit.
 *
 * @param scores `[batch, heads, Q, keys]` float32 scaled scores (the last Q keys are the new tokens)
 * @param imageMask `[batch, keys]` 1 on image tokens
 * @param attentionMask `[batch, keys]` 1 real, 0 padding
 * @param scales `[batch × 2]` this layer's (β, −α) per row (0, 0 = off)
 */
export function vafScores(options: { scores: Float32Tensor; imageMask: ArrayLike<number>; attentionMask: ArrayLike<number>; scales: ArrayLike<number> }): Float32Tensor {
  const { scores, imageMask, attentionMask, scales } = options;
  assertDims('scores', scores.dims, [null, null, null, null], ['batch', 'heads', 'query', 'key']);
  const [batch, heads, queries, keys] = scores.dims as [number, number, number, number];
  assertDims('imageMask', [imageMask.length], [batch * keys]);
  assertDims('scales', [scales.length], [batch * 2]);
  const { system, lastImage } = vafKeyRoles(imageMask, attentionMask, batch);
  const past = keys - queries;
  const out = Float32Array.from(scores.data);
  for (let b = 0; b < batch; b++) {
    const enhance = Math.fround(scales[b * 2] as number);
    const suppress = Math.fround(scales[b * 2 + 1] as number);
    if (enhance === 0 && suppress === 0) continue;
    for (let q = 0; q < queries; q++) {
      if (past + q <= (lastImage[b] as number)) continue;
      // The multiplier as the graph forms it: 1 + (β·I + (−α)·S).
      for (let t = 0; t < keys; t++) {
        const delta = imageMask[b * keys + t] ? enhance : system[b * keys + t] ? suppress : 0;
        if (delta === 0) continue;
        const multiplier = Math.fround(1 + delta);
        for (let h = 0; h < heads; h++) {
          const i = ((b * heads + h) * queries + q) * keys + t;
          out[i] = Math.fround((out[i] as number) * multiplier);
        }
      }
    }
  }
  return createTensor('float32', scores.dims, out);
}
