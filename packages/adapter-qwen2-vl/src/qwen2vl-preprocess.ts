import { type Float32Tensor, InvalidArgumentError, createTensor } from '@vasink/tensor';
import { type NormalizeOptions, type ResizeOptions, type RgbImage, assertRgbImage, normalizationTable, resizeBicubic } from '@vasink/image';
import { smartResize } from './smart-resize.js';

export interface Qwen2VlPreprocessOptions {
  /** Lower bound on resized height × width. Default 56 × 56. */
  minPixels?: number;
  /** Upper bound on resized height × width. Default 28 × 28 × 1280. */
  maxPixels?: number;
  /** Side of a vision patch, in pixels. Default 14. */
  patchSize?: number;
  /** Frames per temporal patch; a still image is repeated this many times. Default 2. */
  temporalPatchSize?: number;
  /** Patches merged per side into one language-model token. Default 2. */
  mergeSize?: number;
  /** Mean, std and rescale factor. Default CLIP's. */
  normalize?: NormalizeOptions;
  resize?: ResizeOptions;
}

/** Preprocessed input for Qwen2-VL's vision tower. */
export interface Qwen2VlPreprocessResult {
  /**
   * float32 `[N, 3 · temporalPatchSize · patchSize²]` (`[N, 1176]` by default),
   * the patches of all images one after the other, N = Σ t · h · w.
   */
  readonly pixelValues: Float32Tensor;
  /** Per image, its patch grid `[t, h, w]` (h, w in patches; t = 1 for an image). */
  readonly gridThw: [number, number, number][];
}

interface Geometry {
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
}

/**
 * The RGB image Qwen2-VL's vision tower sees, before normalisation: resized
 * with Pillow bicubic to {@link smartResize}'s size (factor patchSize × mergeSize).
 */
export function qwen2vlPreprocessImage(image: RgbImage, options: Qwen2VlPreprocessOptions = {}): RgbImage {
  assertRgbImage('image', image);
  const { patchSize, mergeSize } = geometry(options);
  const size = smartResize(image.height, image.width, {
    factor: patchSize * mergeSize,
    ...(options.minPixels === undefined ? {} : { minPixels: options.minPixels }),
    ...(options.maxPixels === undefined ? {} : { maxPixels: options.maxPixels }),
  });
  return resizeBicubic(image, size.width, size.height, options.resize);
}

/**
 * Qwen2-VL image preprocessing, equal to transformers' slow
 * `Qwen2VLImageProcessor`: per image, {@link qwen2vlPreprocessImage}, rescale
 * by 1/255, CLIP normalisation, the frame repeated `temporalPatchSize` times,
 * then flattened into patches. Rows are ordered (grid_t, grid_h / merge,
 * grid_w / merge, merge_h, merge_w) — each 2 × 2 block of patches that merges
 * into one token is contiguous — and columns (channel, frame, y, x) inside a
 * patch, the result of its reshape / permute(0, 3, 6, 4, 7, 2, 1, 5, 8).
 */
export function qwen2vlPreprocess(
  images: RgbImage | readonly RgbImage[],
  options: Qwen2VlPreprocessOptions = {},
): Qwen2VlPreprocessResult {
  const list: readonly RgbImage[] = Array.isArray(images) ? images : [images as RgbImage];
  if (list.length === 0) throw new InvalidArgumentError('qwen2vlPreprocess needs at least one image', {});
  const g = geometry(options);
  const table = normalizationTable(options.normalize);
  const resized = list.map((image) => qwen2vlPreprocessImage(image, options));
  const columns = 3 * g.temporalPatchSize * g.patchSize * g.patchSize;
  const rows = resized.reduce((n, image) => n + (image.width / g.patchSize) * (image.height / g.patchSize), 0);
  const data = new Float32Array(rows * columns);
  const gridThw: [number, number, number][] = [];
  let row = 0;
  for (const image of resized) {
    row = writePatches(image, g, table, data, row);
    gridThw.push([1, image.height / g.patchSize, image.width / g.patchSize]);
  }
  return { pixelValues: createTensor('float32', [rows, columns], data), gridThw };
}

function geometry(options: Qwen2VlPreprocessOptions): Geometry {
  const patchSize = options.patchSize ?? 14;
  const temporalPatchSize = options.temporalPatchSize ?? 2;
  const mergeSize = options.mergeSize ?? 2;
  for (const [name, value] of Object.entries({ patchSize, temporalPatchSize, mergeSize })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
    }
  }
  return { patchSize, temporalPatchSize, mergeSize };
}

/** Write one image's patches from row `row` on; returns the next free row. */
function writePatches(image: RgbImage, g: Geometry, table: Float32Array, out: Float32Array, row: number): number {
  const { patchSize: ps, temporalPatchSize: tps, mergeSize: m } = g;
  const gridH = image.height / ps;
  const gridW = image.width / ps;
  const columns = 3 * tps * ps * ps;
  const data = image.data;
  let r = row;
  for (let bh = 0; bh < gridH / m; bh++) {
    for (let bw = 0; bw < gridW / m; bw++) {
      for (let mh = 0; mh < m; mh++) {
        for (let mw = 0; mw < m; mw++) {
          const y0 = (bh * m + mh) * ps;
          const x0 = (bw * m + mw) * ps;
          let o = r * columns;
          for (let c = 0; c < 3; c++) {
            // The still image is every frame of the temporal patch.
            for (let t = 0; t < tps; t++) {
              for (let py = 0; py < ps; py++) {
                let p = ((y0 + py) * image.width + x0) * 3 + c;
                for (let px = 0; px < ps; px++, p += 3) out[o++] = table[c * 256 + (data[p] as number)] as number;
              }
            }
          }
          r++;
        }
      }
    }
  }
  return r;
}
