import { type RgbImage, assertImageSize, assertRgbImage, createRgbImage } from './rgb-image.js';

/** Resampling filters with a Pillow-equal implementation. */
export type ResampleFilter = 'bicubic' | 'bilinear';

export interface ResizeOptions {
  /**
   * Pillow ≥ 12.2 resizes an image taller than 100 × its width, when its
   * height shrinks, as two separate resizes (vertical, then horizontal), which
   * rounds the intermediate image differently. Default false: the behaviour of
   * Pillow 7 – 12.1, which the reference LLaVA-1.5 and Qwen2-VL evaluations ran.
   */
  verticalFirstForTallImages?: boolean;
}

/**
 * Resize like Pillow's `Image.resize((width, height), Image.BICUBIC)` (Pillow ≥ 7,
 * `reducing_gap=None`), bit for bit: separable convolution with the bicubic
 * kernel (a = −0.5), support widened by the downscale factor, 8-bit fixed-point
 * arithmetic, horizontal pass first. `width`/`height` are the output size in pixels.
 */
export function resizeBicubic(image: RgbImage, width: number, height: number, options: ResizeOptions = {}): RgbImage {
  return resample(image, width, height, 'bicubic', options);
}

/** Resize like Pillow's `Image.resize((width, height), Image.BILINEAR)`, bit for bit. */
export function resizeBilinear(image: RgbImage, width: number, height: number, options: ResizeOptions = {}): RgbImage {
  return resample(image, width, height, 'bilinear', options);
}

/** Resize with a Pillow-equal filter (see {@link resizeBicubic}). */
export function resample(
  image: RgbImage,
  width: number,
  height: number,
  filter: ResampleFilter,
  options: ResizeOptions = {},
): RgbImage {
  assertRgbImage('image', image);
  assertImageSize('output', width, height);
  const kernel = KERNELS[filter];
  if (options.verticalFirstForTallImages === true && image.height > image.width * 100 && height < image.height) {
    const vertical = resampleSeparable(image, image.width, height, kernel);
    return resampleSeparable(vertical, width, height, kernel);
  }
  return resampleSeparable(image, width, height, kernel);
}

interface Kernel {
  /** Half-width of the kernel at scale 1, in input pixels. */
  readonly support: number;
  readonly weight: (x: number) => number;
}

// Pillow's kernels, with its operation order kept so the doubles match.
const BICUBIC_A = -0.5;
const KERNELS: Record<ResampleFilter, Kernel> = {
  bicubic: {
    support: 2,
    weight: (t) => {
      const x = t < 0 ? -t : t;
      if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
      return 0;
    },
  },
  bilinear: {
    support: 1,
    weight: (t) => {
      const x = t < 0 ? -t : t;
      return x < 1 ? 1 - x : 0;
    },
  },
};

/** Fixed-point bits of the 8-bit path: 32 bits − 8 for the sample − 2 for overshoot. */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output position: first input index, tap count, and `taps` fixed-point weights. */
interface Coefficients {
  readonly taps: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
}

/** Pillow's precompute_coeffs followed by normalize_coeffs_8bpc, for a full-image box. */
function precomputeCoefficients(inSize: number, outSize: number, kernel: Kernel): Coefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = kernel.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const first = Math.max(0, Math.trunc(center - support + 0.5));
    const end = Math.min(inSize, Math.trunc(center + support + 0.5));
    const n = end - first;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const v = kernel.weight((i + first - center + 0.5) * invFilterScale);
      w[i] = v;
      total += v;
    }
    for (let i = 0; i < n; i++) {
      const v = total !== 0 ? (w[i] as number) / total : (w[i] as number);
      weights[o * taps + i] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[o] = first;
    count[o] = n;
  }
  return { taps, start, count, weights };
}

/** Round a fixed-point sum back to 8 bits and clip, as Pillow's clip8 does. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Pillow's ImagingResampleInner: horizontal pass, then vertical, skipping a pass whose size is unchanged. */
function resampleSeparable(image: RgbImage, width: number, height: number, kernel: Kernel): RgbImage {
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  if (!needHorizontal && !needVertical) return createRgbImage(width, height, image.data.slice());

  const vertical = precomputeCoefficients(image.height, height, kernel);
  let source = image;
  let rowOffset = 0;
  if (needHorizontal) {
    // Only the rows the vertical pass reads are resampled horizontally.
    const firstRow = vertical.start[0] as number;
    const endRow = (vertical.start[height - 1] as number) + (vertical.count[height - 1] as number);
    const horizontal = precomputeCoefficients(image.width, width, kernel);
    source = horizontalPass(image, firstRow, endRow, width, horizontal);
    rowOffset = firstRow;
  }
  return needVertical ? verticalPass(source, rowOffset, height, vertical) : source;
}

function horizontalPass(image: RgbImage, firstRow: number, endRow: number, width: number, c: Coefficients): RgbImage {
  const rows = endRow - firstRow;
  const out = new Uint8Array(width * rows * 3);
  const input = image.data;
  const inStride = image.width * 3;
  const { taps, start, count, weights } = c;
  for (let y = 0; y < rows; y++) {
    const inRow = (y + firstRow) * inStride;
    const outRow = y * width * 3;
    for (let x = 0; x < width; x++) {
      const n = count[x] as number;
      const k0 = x * taps;
      let p = inRow + (start[x] as number) * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let i = 0; i < n; i++, p += 3) {
        const k = weights[k0 + i] as number;
        r += (input[p] as number) * k;
        g += (input[p + 1] as number) * k;
        b += (input[p + 2] as number) * k;
      }
      const o = outRow + x * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return createRgbImage(width, rows, out);
}

function verticalPass(image: RgbImage, rowOffset: number, height: number, c: Coefficients): RgbImage {
  const width = image.width;
  const stride = width * 3;
  const out = new Uint8Array(stride * height);
  const input = image.data;
  const { taps, start, count, weights } = c;
  for (let y = 0; y < height; y++) {
    const n = count[y] as number;
    const k0 = y * taps;
    const firstRow = ((start[y] as number) - rowOffset) * stride;
    const outRow = y * stride;
    for (let x = 0; x < stride; x++) {
      let sum = HALF;
      let p = firstRow + x;
      for (let i = 0; i < n; i++, p += stride) sum += (input[p] as number) * (weights[k0 + i] as number);
      out[outRow + x] = clip8(sum);
    }
  }
  return createRgbImage(width, height, out);
}
