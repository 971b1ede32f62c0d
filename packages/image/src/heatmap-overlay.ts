import { InvalidArgumentError } from '@vasink/tensor';
import { type ColormapName, colormapIndex, colormapTable } from './colormap.js';
import { type RgbImage, assertRgbImage, createRgbImage } from './rgb-image.js';
import { type TokenGrid, assertTokenGrid } from './token-grid.js';

export interface HeatmapOverlayOptions {
  /** Weight of the heatmap colour, 0..1 (0 = image only, 1 = heatmap only). Default 0.5. */
  alpha?: number;
  /** Default `'viridis'`. */
  colormap?: ColormapName;
  /** Values mapped to the ends of the colour map. Default: the values' min and max. */
  range?: readonly [number, number];
  /** `'bilinear'` (default) interpolates between cell centres; `'nearest'` keeps cells as blocks. */
  upsample?: 'bilinear' | 'nearest';
}

/**
 * Blend a per-token heatmap over an image, for inspection pictures.
 * `values` holds one number per grid cell, row-major (`[rows × cols]`, e.g.
 * attention on each of 24 × 24 image tokens); it is scaled to 0..1 by `range`,
 * upsampled to the image size, coloured, and blended:
 * `out = (1 − alpha) · image + alpha · colour`, rounded. Returns a new image.
 */
export function overlayHeatmap(
  image: RgbImage,
  values: ArrayLike<number>,
  grid: TokenGrid,
  options: HeatmapOverlayOptions = {},
): RgbImage {
  assertRgbImage('image', image);
  assertTokenGrid(grid);
  const { rows, cols } = grid;
  if (values.length !== rows * cols) {
    throw new InvalidArgumentError(`heatmap has ${values.length} values for a ${rows}x${cols} grid (${rows * cols})`, {
      values: values.length,
      rows,
      cols,
    });
  }
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`alpha must be in [0, 1], got ${alpha}`, { alpha });
  const table = colormapTable(options.colormap ?? 'viridis');
  const [lo, hi] = options.range ?? finiteRange(values);
  const span = hi - lo;
  const scaled = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    scaled[i] = span > 0 && Number.isFinite(v) ? Math.min(1, Math.max(0, (v - lo) / span)) : 0;
  }

  const { width, height } = image;
  const out = new Uint8Array(image.data.length);
  const xs = axisSamples(width, cols, options.upsample ?? 'bilinear');
  const ys = axisSamples(height, rows, options.upsample ?? 'bilinear');
  for (let y = 0; y < height; y++) {
    const r0 = (ys.first[y] as number) * cols;
    const r1 = (ys.second[y] as number) * cols;
    const fy = ys.fraction[y] as number;
    for (let x = 0; x < width; x++) {
      const c0 = xs.first[x] as number;
      const c1 = xs.second[x] as number;
      const fx = xs.fraction[x] as number;
      const top = (scaled[r0 + c0] as number) * (1 - fx) + (scaled[r0 + c1] as number) * fx;
      const bottom = (scaled[r1 + c0] as number) * (1 - fx) + (scaled[r1 + c1] as number) * fx;
      const k = colormapIndex(top * (1 - fy) + bottom * fy) * 3;
      const p = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        out[p + c] = Math.round((1 - alpha) * (image.data[p + c] as number) + alpha * (table[k + c] as number));
      }
    }
  }
  return createRgbImage(width, height, out);
}

function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** For each pixel along an axis: the two cells it blends and the weight of the second. */
function axisSamples(pixels: number, cells: number, mode: 'bilinear' | 'nearest') {
  const first = new Int32Array(pixels);
  const second = new Int32Array(pixels);
  const fraction = new Float64Array(pixels);
  for (let i = 0; i < pixels; i++) {
    if (mode === 'nearest') {
      const cell = Math.min(cells - 1, Math.floor((i * cells) / pixels));
      first[i] = cell;
      second[i] = cell;
      continue;
    }
    // Cell centres sit at (j + 0.5) · pixels / cells; clamp beyond the outer centres.
    const position = Math.min(cells - 1, Math.max(0, ((i + 0.5) * cells) / pixels - 0.5));
    const j = Math.floor(position);
    first[i] = j;
    second[i] = Math.min(cells - 1, j + 1);
    fraction[i] = position - j;
  }
  return { first, second, fraction };
}
