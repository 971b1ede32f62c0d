import { InvalidArgumentError } from '@vasink/tensor';

export interface SmartResizeOptions {
  /** Both output sides are multiples of this: patch size × merge size. Default 28. */
  factor?: number;
  /** Lower bound on output height × width. Default 56 × 56. */
  minPixels?: number;
  /** Upper bound on output height × width. Default 28 × 28 × 1280. */
  maxPixels?: number;
}

/**
 * Qwen2-VL's `smart_resize` (transformers v4.52): the output size, in pixels,
 * for a `height` × `width` input — both sides multiples of `factor`, close to
 * the input's aspect ratio, with height × width in [minPixels, maxPixels].
 * Sides are first rounded to the nearest multiple with Python's
 * round-half-to-even; above maxPixels both are scaled by 1/β and floored,
 * below minPixels scaled by β and ceiled, β = sqrt(ratio of pixel counts).
 *
 * Throws, as there, when a side is below `factor` or the aspect ratio exceeds
 * 200. Where the floor gives 0 (only with a tiny maxPixels), the side becomes
 * `factor`, as newer transformers releases do (v4.52 went on to fail in resize).
 */
export function smartResize(height: number, width: number, options: SmartResizeOptions = {}): { height: number; width: number } {
  const factor = options.factor ?? 28;
  const minPixels = options.minPixels ?? 56 * 56;
  const maxPixels = options.maxPixels ?? 28 * 28 * 1280;
  for (const [name, value] of Object.entries({ height, width, factor, minPixels, maxPixels })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`smartResize: ${name} must be a positive integer, got ${String(value)}`, { [name]: value });
    }
  }
  if (height < factor || width < factor) {
    throw new InvalidArgumentError(`image is ${width}x${height} pixels; both sides must be at least the factor ${factor}`, {
      height,
      width,
      factor,
    });
  }
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new InvalidArgumentError(
      `absolute aspect ratio must be at most 200, got ${Math.max(height, width) / Math.min(height, width)} for ${width}x${height}`,
      { height, width },
    );
  }
  let hBar = roundHalfToEven(height / factor) * factor;
  let wBar = roundHalfToEven(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: hBar, width: wBar };
}

/** Python 3's `round(x)` for a float: nearest integer, ties to even. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
