import { InvalidArgumentError } from '@vasink/tensor';
import { type ResizeOptions, resizeBicubic } from './resample.js';
import { type RgbImage, assertImageSize } from './rgb-image.js';

/**
 * Output size when the shorter side is resized to `size`, as transformers'
 * `get_resize_output_image_size(image, size, default_to_square=False)`: the
 * long side becomes `int(size * long / short)` (truncated).
 */
export function shortestEdgeSize(width: number, height: number, size: number): { width: number; height: number } {
  assertImageSize('image', width, height);
  if (!Number.isInteger(size) || size < 1) {
    throw new InvalidArgumentError(`size must be a positive integer, got ${String(size)}`, { size });
  }
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/**
 * CLIPImageProcessor's resize: shorter side to `size` pixels (aspect ratio
 * kept, see {@link shortestEdgeSize}), Pillow bicubic.
 */
export function resizeShortestEdge(image: RgbImage, size: number, options: ResizeOptions = {}): RgbImage {
  const out = shortestEdgeSize(image.width, image.height, size);
  return resizeBicubic(image, out.width, out.height, options);
}
