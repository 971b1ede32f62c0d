import { type Uint8Tensor, assertDims, createTensor } from '@vasink/tensor';

/**
 * Eligible queries (DESIGN §1) for the new tokens of one step.
 * - prefill (`phase: 'prefill'`): real, non-image tokens after the row's first image token;
 * - decode: every real new token (rows without image tokens are never
 *   redistributed anyway: they have no visual sinks).
 *
 * @param imageMask `[batch, tokens]` 1 on image tokens, over past + new tokens
 * @param attentionMask `[batch, tokens]` 1 real, 0 padding, over past + new tokens
 * @param newTokens Q, the number of new tokens (the last Q positions)
 * @returns `[batch, Q]` uint8
 */
export function eligibleQueries(options: {
  imageMask: Uint8Tensor;
  attentionMask: Uint8Tensor;
  newTokens: number;
  phase: 'prefill' | 'decode';
}): Uint8Tensor {
  const { imageMask, attentionMask, newTokens, phase } = options;
  assertDims('imageMask', imageMask.dims, [null, null], ['batch', 'tokens']);
  const [batch, tokens] = imageMask.dims as [number, number];
  assertDims('attentionMask', attentionMask.dims, [batch, tokens]);
  if (!Number.isInteger(newTokens) || newTokens < 0 || newTokens > tokens) {
    assertDims('new tokens', [newTokens], [tokens]);
  }
  const past = tokens - newTokens;
  const out = new Uint8Array(batch * newTokens);
  for (let b = 0; b < batch; b++) {
    let seenImage = false;
    for (let t = 0; t < tokens; t++) {
      const i = b * tokens + t;
      const isImage = imageMask.data[i] !== 0;
      const real = attentionMask.data[i] !== 0;
      if (t >= past && real) {
        const eligible = phase === 'decode' ? true : seenImage && !isImage;
        out[b * newTokens + (t - past)] = eligible ? 1 : 0;
      }
      if (isImage && real) seenImage = true;
    }
  }
  return createTensor('uint8', [batch, newTokens], out);
}
