import { type Float32Tensor, InvalidArgumentError, createTensor } from '@vasink/tensor';
import { type RgbImage, assertRgbImage } from './rgb-image.js';

/** OpenAI CLIP's per-channel mean (R, G, B), for pixels rescaled to 0..1. */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** OpenAI CLIP's per-channel standard deviation (R, G, B), for pixels rescaled to 0..1. */
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export interface NormalizeOptions {
  /** Per-channel mean, after rescaling. Default {@link CLIP_MEAN}. */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation, after rescaling. Default {@link CLIP_STD}. */
  std?: readonly [number, number, number];
  /** Factor applied to the 0..255 pixel values first. Default 1/255. */
  rescaleFactor?: number;
}

/**
 * Rescale and normalise an image into a float32 CHW tensor `[3, height, width]`:
 * `(pixel · rescaleFactor − mean[c]) / std[c]`, with the float32 rounding of
 * transformers' `rescale` (float64 product cast to float32) and `normalize`
 * (float32 subtraction and division), so results are bit-identical.
 */
export function normalize(image: RgbImage, options: NormalizeOptions = {}): Float32Tensor {
  assertRgbImage('image', image);
  const out = new Float32Array(3 * image.width * image.height);
  writeNormalizedChw(image, out, 0, options);
  return createTensor('float32', [3, image.height, image.width], out);
}

/** Per channel, the normalised value of each 0..255 pixel value: `[3 × 256]`. */
export function normalizationTable(options: NormalizeOptions = {}): Float32Array {
  const mean = options.mean ?? CLIP_MEAN;
  const std = options.std ?? CLIP_STD;
  const rescale = options.rescaleFactor ?? 1 / 255;
  if (mean.length !== 3 || std.length !== 3 || !std.every((s) => s !== 0 && Number.isFinite(s)) || !mean.every(Number.isFinite)) {
    throw new InvalidArgumentError('mean and std must be three finite numbers, std non-zero', { mean, std });
  }
  if (!Number.isFinite(rescale)) throw new InvalidArgumentError('rescaleFactor must be finite', { rescale });
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c] as number);
    const s = Math.fround(std[c] as number);
    for (let v = 0; v < 256; v++) {
      const scaled = Math.fround(v * rescale);
      table[c * 256 + v] = Math.fround(Math.fround(scaled - m) / s);
    }
  }
  return table;
}

/** Write the normalised CHW planes of `image` into `out` from `offset` on. */
export function writeNormalizedChw(image: RgbImage, out: Float32Array, offset: number, options: NormalizeOptions = {}): void {
  const table = normalizationTable(options);
  const plane = image.width * image.height;
  const data = image.data;
  for (let p = 0; p < plane; p++) {
    out[offset + p] = table[data[p * 3] as number] as number;
    out[offset + plane + p] = table[256 + (data[p * 3 + 1] as number)] as number;
    out[offset + 2 * plane + p] = table[512 + (data[p * 3 + 2] as number)] as number;
  }
}
