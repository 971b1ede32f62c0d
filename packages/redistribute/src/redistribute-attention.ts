import {
  type Float32Tensor,
  type RowParam,
  type Uint8Tensor,
  assertDType,
  assertDims,
  createTensor,
  rowParamValue,
} from '@vasink/tensor';

/** Inputs of the redistribution rule for one decoder layer. */
export interface RedistributeOptions {
  /** `[batch, heads, query, key]` attention probabilities after softmax. */
  attention: Float32Tensor;
  /** `[batch, key]` 1 where the key is a sink of this layer (S_ℓ, text sinks included). */
  sinkFlags: Uint8Tensor;
  /** `[batch, key]` 1 where the key is an image token (I). */
  imageMask: Uint8Tensor;
  /** `[batch, heads, query]` 1 where the row is redistributed (from head selection). */
  selected: Uint8Tensor;
  /** p, the fraction of sink attention moved (paper convention). */
  p: RowParam;
}

/** Redistributed attention and what moved. */
export interface Redistribution {
  /** `[batch, heads, query, key]`; rows not redistributed are bit-identical to the input. */
  attention: Float32Tensor;
  /** `[batch, heads, query]` attention mass moved onto visual non-sinks (0 where nothing moved). */
  moved: Float32Tensor;
  /** `[batch, heads, query]` 1 where the row actually changed (selected and Σ_N α > 0). */
  applied: Uint8Tensor;
}

/**
 * Visual attention redistribution (DESIGN §1). On a selected row, with
 * N = I \ S_ℓ the visual non-sinks:
 *
 *     B    = p · Σ_{k∈S_ℓ} α_k
 *     α'_k = (1 − p) · α_k                 k ∈ S_ℓ
 *     α'_k = α_k + B · α_k / Σ_{j∈N} α_j    k ∈ N
 *     α'_k = α_k                           otherwise
 *
 * A row whose Σ_{j∈N} α_j is 0 stays unchanged (the released code gives NaN).
 */
export function redistributeAttention(options: RedistributeOptions): Redistribution {
  const { attention, sinkFlags, imageMask, selected, p } = options;
  assertDType('attention', attention, 'float32');
  assertDims('attention', attention.dims, [null, null, null, null], ['batch', 'heads', 'query', 'key']);
  const [batch, heads, queries, keys] = attention.dims as [number, number, number, number];
  assertDims('sinkFlags', sinkFlags.dims, [batch, keys]);
  assertDims('imageMask', imageMask.dims, [batch, keys]);
  assertDims('selected', selected.dims, [batch, heads, queries]);

  const out = new Float32Array(attention.data);
  const moved = new Float32Array(batch * heads * queries);
  const applied = new Uint8Array(batch * heads * queries);
  for (let b = 0; b < batch; b++) {
    const fraction = rowParamValue('p', p, b, batch);
    const isSink = (k: number) => sinkFlags.data[b * keys + k] !== 0;
    const isNonSinkImage = (k: number) => imageMask.data[b * keys + k] !== 0 && !isSink(k);
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < queries; q++) {
        const row = (b * heads + h) * queries + q;
        if (selected.data[row] === 0) continue;
        const base = row * keys;
        let sinkMass = 0;
        let nonSinkImageMass = 0;
        for (let k = 0; k < keys; k++) {
          const alpha = attention.data[base + k] as number;
          if (isSink(k)) sinkMass += alpha;
          else if (isNonSinkImage(k)) nonSinkImageMass += alpha;
        }
        if (nonSinkImageMass === 0) continue;
        const budget = fraction * sinkMass;
        for (let k = 0; k < keys; k++) {
          const alpha = attention.data[base + k] as number;
          if (isSink(k)) out[base + k] = (1 - fraction) * alpha;
          else if (isNonSinkImage(k)) out[base + k] = alpha + (budget * alpha) / nonSinkImageMass;
        }
        moved[row] = budget;
        applied[row] = 1;
      }
    }
  }
  return {
    attention: createTensor('float32', attention.dims, out),
    moved: createTensor('float32', [batch, heads, queries], moved),
    applied: createTensor('uint8', [batch, heads, queries], applied),
  };
}
