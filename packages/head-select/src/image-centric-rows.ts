import {
  type Float32Tensor,
  type RowParam,
  type Uint8Tensor,
  assertDType,
  assertDims,
  createTensor,
  rowParamValue,
} from '@vasink/tensor';

/** Scale of the |I| term that keeps r finite when a row gives the image no attention. */
export const IMAGE_ATTENTION_EPSILON = 1e-6;

/** Inputs of the image-centric head rule for one decoder layer. */
export interface ImageCentricRowsOptions {
  /** `[batch, heads, query, key]` attention probabilities after softmax. */
  attention: Float32Tensor;
  /** `[batch, key]` 1 where the key is a sink of this layer (S_ℓ). */
  sinkFlags: Uint8Tensor;
  /** `[batch, key]` 1 where the key is an image token (I). */
  imageMask: Uint8Tensor;
  /** `[batch, query]` 1 where the query is eligible (see DESIGN §1). */
  queryMask: Uint8Tensor;
  /** ρ, the minimum visual non-sink ratio (paper convention). */
  rho: RowParam;
  /** m, the minimum image attention A_img. */
  minImageAttention: RowParam;
  /** `[batch]` 1 where VAR acts on this layer for the row; all when omitted. */
  layerActive?: ArrayLike<number>;
}

/** Per row (batch, head, query) quantities of the rule. */
export interface ImageCentricRows {
  /** `[batch, heads, query]` 1 where the row is redistributed. */
  selected: Uint8Tensor;
  /** `[batch, heads, query]` A_img = Σ_{k∈I} α_k. */
  imageAttention: Float32Tensor;
  /** `[batch, heads, query]` r = 1 − Σ_{k∈V} α_k / (A_img + 1e-6·|I|); 1 where |I| = 0. */
  nonSinkRatio: Float32Tensor;
}

/**
 * The image-centric head rule (DESIGN §1). A row (layer ℓ, head h, query q)
 * is selected iff |V| > 0, r ≥ ρ, A_img ≥ m, the query is eligible and the
 * layer is active, where V = S_ℓ ∩ I are the visual sinks.
 */
export function imageCentricRows(options: ImageCentricRowsOptions): ImageCentricRows {
  const { attention, sinkFlags, imageMask, queryMask, rho, minImageAttention, layerActive } = options;
  assertDType('attention', attention, 'float32');
  assertDims('attention', attention.dims, [null, null, null, null], ['batch', 'heads', 'query', 'key']);
  const [batch, heads, queries, keys] = attention.dims as [number, number, number, number];
  assertDims('sinkFlags', sinkFlags.dims, [batch, keys]);
  assertDims('imageMask', imageMask.dims, [batch, keys]);
  assertDims('queryMask', queryMask.dims, [batch, queries]);
  if (layerActive && layerActive.length !== batch) {
    assertDims('layerActive', [layerActive.length], [batch]);
  }

  const rows = batch * heads * queries;
  const selected = new Uint8Array(rows);
  const imageAttention = new Float32Array(rows);
  const nonSinkRatio = new Float32Array(rows);

  for (let b = 0; b < batch; b++) {
    const rowRho = rowParamValue('rho', rho, b, batch);
    const rowMin = rowParamValue('minImageAttention', minImageAttention, b, batch);
    const active = layerActive === undefined || layerActive[b] !== 0;
    let imageCount = 0;
    let visualSinkCount = 0;
    for (let k = 0; k < keys; k++) {
      if (imageMask.data[b * keys + k] === 0) continue;
      imageCount++;
      if (sinkFlags.data[b * keys + k] !== 0) visualSinkCount++;
    }
    for (let h = 0; h < heads; h++) {
      for (let q = 0; q < queries; q++) {
        const row = (b * heads + h) * queries + q;
        const base = row * keys;
        let aImg = 0;
        let aVisualSink = 0;
        for (let k = 0; k < keys; k++) {
          if (imageMask.data[b * keys + k] === 0) continue;
          const alpha = attention.data[base + k] as number;
          aImg += alpha;
          if (sinkFlags.data[b * keys + k] !== 0) aVisualSink += alpha;
        }
        const denominator = aImg + IMAGE_ATTENTION_EPSILON * imageCount;
        const r = denominator > 0 ? 1 - aVisualSink / denominator : 1;
        imageAttention[row] = aImg;
        nonSinkRatio[row] = r;
        const eligible = queryMask.data[b * queries + q] !== 0;
        selected[row] = active && eligible && visualSinkCount > 0 && r >= rowRho && aImg >= rowMin ? 1 : 0;
      }
    }
  }
  const dims = [batch, heads, queries];
  return {
    selected: createTensor('uint8', dims, selected),
    imageAttention: createTensor('float32', dims, imageAttention),
    nonSinkRatio: createTensor('float32', dims, nonSinkRatio),
  };
}
