import { InvalidArgumentError } from '@vasink/tensor';

/** One image's patch grid: temporal patches, rows and columns of 14-pixel patches. */
export type GridThw = readonly [number, number, number];

/** Check grids against the merge size; returns the total number of patches. */
export function patchCount(gridThw: readonly GridThw[], mergeSize: number): number {
  let total = 0;
  gridThw.forEach(([t, h, w], i) => {
    for (const [name, value] of Object.entries({ t, h, w })) {
      if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`image ${i}: grid ${name} must be a positive integer, got ${String(value)}`);
    }
    if (h % mergeSize !== 0 || w % mergeSize !== 0) {
      throw new InvalidArgumentError(`image ${i}: grid ${h}x${w} patches is not a multiple of the merge size ${mergeSize}`);
    }
    total += t * h * w;
  });
  return total;
}

/**
 * Row and column of every patch, `[N × 2]` (h, w), in the order the processor
 * emits patches: per image and frame, merge windows row-major and the
 * `merge × merge` patches of each window row-major — transformers'
 * `Qwen2VisionTransformerPretrainedModel.rot_pos_emb` position ids.
 */
export function visionPositionIds(gridThw: readonly GridThw[], mergeSize: number): BigInt64Array {
  const out = new BigInt64Array(2 * patchCount(gridThw, mergeSize));
  let p = 0;
  for (const [t, h, w] of gridThw) {
    for (let frame = 0; frame < t; frame++) {
      for (let bh = 0; bh < h / mergeSize; bh++) {
        for (let bw = 0; bw < w / mergeSize; bw++) {
          for (let mh = 0; mh < mergeSize; mh++) {
            for (let mw = 0; mw < mergeSize; mw++) {
              out[2 * p] = BigInt(bh * mergeSize + mh);
              out[2 * p + 1] = BigInt(bw * mergeSize + mw);
              p++;
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Attention segment of every patch, `[N]`: patches attend only within their
 * segment, one per image frame (transformers' `cu_seqlens`).
 */
export function visionSegmentIds(gridThw: readonly GridThw[], mergeSize: number): BigInt64Array {
  const out = new BigInt64Array(patchCount(gridThw, mergeSize));
  let p = 0;
  let segment = 0n;
  for (const [t, h, w] of gridThw) {
    for (let frame = 0; frame < t; frame++, segment++) out.fill(segment, p, (p += h * w));
  }
  return out;
}
