import type { GridThw } from '@vasink/adapter-qwen2-vl';

/** The window geometry: pixels per window side, patch and merge sizes. */
export interface WindowGeometry {
  readonly windowSize: number;
  readonly patchSize: number;
  readonly spatialMergeSize: number;
}

/**
 * transformers' `get_window_index`: the merge units (groups of merge² patches,
 * in the processor's order, numbered across images) in window order — per
 * image and frame, windows of `windowSize / merge / patch` units a side row by
 * row (the last ones cut by the image edge), units row-major inside each — and
 * `cuWindowSeqlens`, the window boundaries in patches over that order (after
 * `unique_consecutive`, so empty windows vanish).
 */
export function windowIndex(gridThw: readonly GridThw[], geometry: WindowGeometry): { index: number[]; cuWindowSeqlens: number[] } {
  const merge = geometry.spatialMergeSize;
  const side = geometry.windowSize / merge / geometry.patchSize;
  const index: number[] = [];
  const cu = [0];
  let offset = 0;
  for (const [t, h, w] of gridThw) {
    const rows = h / merge;
    const cols = w / merge;
    for (let frame = 0; frame < t; frame++) {
      for (let wr = 0; wr < rows; wr += side) {
        for (let wc = 0; wc < cols; wc += side) {
          let count = 0;
          for (let r = wr; r < Math.min(wr + side, rows); r++) {
            for (let c = wc; c < Math.min(wc + side, cols); c++) {
              index.push(offset + (frame * rows + r) * cols + c);
              count++;
            }
          }
          if (count > 0) cu.push((cu.at(-1) as number) + count * merge * merge);
        }
      }
    }
    offset += t * rows * cols;
  }
  return { index, cuWindowSeqlens: cu };
}

/** The inverse permutation (transformers' `argsort(window_index)`): where each unit of the processor's order sits in window order. */
export function inversePermutation(index: readonly number[]): number[] {
  const out = new Array<number>(index.length);
  index.forEach((unit, position) => {
    out[unit] = position;
  });
  return out;
}
