import { type Float32Tensor, InvalidArgumentError, createTensor } from '@vasink/tensor';
import {
  type NormalizeOptions,
  type ResizeOptions,
  type RgbImage,
  assertRgbImage,
  centerCrop,
  expandToSquare,
  resizeShortestEdge,
  writeNormalizedChw,
} from '@vasink/image';

/**
 * - `'pad'`: LLaVA-1.5's original evaluation (`image_aspect_ratio='pad'`):
 *   expand to a square with {@link LLAVA_PAD_COLOUR}, then the CLIP processor.
 * - `'hf'`: the llava-hf processor: the CLIP processor alone (shortest edge,
 *   centre crop), which crops the long side away.
 */
export type LlavaPreprocessMode = 'pad' | 'hf';

export interface LlavaPreprocessOptions {
  /** Default `'pad'`. */
  mode?: LlavaPreprocessMode;
  /** Side of the square the vision tower takes, in pixels. Default 336 (CLIP ViT-L/14-336). */
  size?: number;
  /** Mean, std and rescale factor. Default CLIP's. */
  normalize?: NormalizeOptions;
  resize?: ResizeOptions;
}

/** Preprocessed input for LLaVA-1.5's vision tower. */
export interface LlavaPreprocessResult {
  /** float32 `[1, 3, size, size]`, CLIP-normalised, channels R, G, B. */
  readonly pixelValues: Float32Tensor;
}

/**
 * The `size` × `size` RGB image LLaVA-1.5's vision tower sees, before
 * normalisation: optional square padding, shortest edge to `size` (Pillow
 * bicubic), centre crop. Useful as the background of attention overlays.
 */
export function llavaPreprocessImage(image: RgbImage, options: LlavaPreprocessOptions = {}): RgbImage {
  assertRgbImage('image', image);
  const mode = options.mode ?? 'pad';
  const size = options.size ?? 336;
  if (mode !== 'pad' && mode !== 'hf') {
    throw new InvalidArgumentError(`mode must be 'pad' or 'hf', got ${JSON.stringify(mode)}`, { mode });
  }
  const square = mode === 'pad' ? expandToSquare(image) : image;
  const resized = resizeShortestEdge(square, size, options.resize);
  return centerCrop(resized, size, size);
}

/**
 * LLaVA-1.5 image preprocessing, equal to the original code (`'pad'`) or the
 * llava-hf processor (`'hf'`): {@link llavaPreprocessImage}, then rescale by
 * 1/255 and CLIP mean/std normalisation into `[1, 3, size, size]` float32.
 */
export function llavaPreprocess(image: RgbImage, options: LlavaPreprocessOptions = {}): LlavaPreprocessResult {
  const pixels = llavaPreprocessImage(image, options);
  const data = new Float32Array(3 * pixels.width * pixels.height);
  writeNormalizedChw(pixels, data, 0, options.normalize);
  return { pixelValues: createTensor('float32', [1, 3, pixels.height, pixels.width], data) };
}
