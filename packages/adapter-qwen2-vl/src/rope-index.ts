import { Qwen2VlPromptError } from './errors.js';
import type { GridThw } from './vision-inputs.js';

export interface RopeIndexOptions {
  /** The prompt's token ids, image tokens expanded. */
  inputIds: readonly number[];
  /** Patch grid of each image, in prompt order. */
  imageGrids: readonly GridThw[];
  imageTokenId: number;
  visionStartTokenId: number;
  /** Patches merged per side into one token (2). */
  spatialMergeSize: number;
}

/** M-RoPE positions of one prompt. */
export interface RopeIndex {
  /** `[3 × tokens]` (t, h, w rows) int64. */
  positionIds: BigInt64Array;
  /** Position of the first generated token: the largest position + 1. */
  nextPosition: number;
}

/**
 * M-RoPE position ids of a prompt, as transformers'
 * `Qwen2VLModel.get_rope_index` computes them for one unpadded row of images:
 * text tokens get t = h = w = a running index; the tokens of an image with a
 * merged grid T × H × W (H, W = patches / merge) get t = s + frame,
 * h = s + row, w = s + col, where s is the index the image starts at; the
 * text after an image continues at (largest position so far) + 1. The images
 * are those whose `<|vision_start|>` is followed by an image token.
 * `nextPosition` (the first decode position, `rope_deltas + length`) is the
 * largest position + 1.
 */
export function mropePositionIds(options: RopeIndexOptions): RopeIndex {
  const { inputIds, imageGrids, imageTokenId, visionStartTokenId, spatialMergeSize } = options;
  const n = inputIds.length;
  const t = new Array<number>(n);
  const h = new Array<number>(n);
  const w = new Array<number>(n);
  let images = 0;
  for (let i = 0; i + 1 < n; i++) if (inputIds[i] === visionStartTokenId && inputIds[i + 1] === imageTokenId) images++;
  if (images > imageGrids.length) {
    throw new Qwen2VlPromptError(`the prompt holds ${images} images but only ${imageGrids.length} grids were given`, { images, grids: imageGrids.length });
  }
  let start = 0; // first token not yet placed
  let next = 0; // position the next text token gets
  for (let image = 0; image < images; image++) {
    const end = inputIds.indexOf(imageTokenId, start);
    const [gridT, gridH, gridW] = imageGrids[image] as GridThw;
    const [rows, cols] = [gridH / spatialMergeSize, gridW / spatialMergeSize];
    const tokens = gridT * rows * cols;
    if (end < 0 || end + tokens > n) {
      throw new Qwen2VlPromptError(`image ${image} needs ${tokens} image tokens but the prompt ends before them`, { image, tokens });
    }
    for (let i = start; i < end; i++) t[i] = h[i] = w[i] = next + (i - start);
    const base = next + (end - start);
    let largest = base - 1;
    for (let k = 0; k < tokens; k++) {
      const i = end + k;
      t[i] = base + Math.floor(k / (rows * cols));
      h[i] = base + (Math.floor(k / cols) % rows);
      w[i] = base + (k % cols);
      largest = Math.max(largest, t[i] as number, h[i] as number, w[i] as number);
    }
    next = largest + 1;
    start = end + tokens;
  }
  for (let i = start; i < n; i++) t[i] = h[i] = w[i] = next + (i - start);
  const last = n > start ? next + (n - start) - 1 : next - 1;
  const positionIds = new BigInt64Array(3 * n);
  for (let i = 0; i < n; i++) {
    positionIds[i] = BigInt(t[i] as number);
    positionIds[n + i] = BigInt(h[i] as number);
    positionIds[2 * n + i] = BigInt(w[i] as number);
  }
  return { positionIds, nextPosition: last + 1 };
}
