import { CLIP_MEAN, CLIP_STD, type LlavaPreprocessMode, llavaPreprocessImage, normalize } from '@vasink/image';
import type { PreparedImages, RgbImageLike } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { Tensor } from 'onnxruntime-node';
import { VISION_IO } from './vision-graph.js';

/** How images become the vision graph's input (stored in the manifest's `adapter` section). */
export interface LlavaImageSettings {
  /** Side of the square the vision tower takes, pixels (CLIP `image_size`). */
  readonly imageSize: number;
  readonly patchSize: number;
  /** Image tokens per image (grid², +1 when the CLS token is kept). */
  readonly tokensPerImage: number;
  /** `'pad'`: original LLaVA-1.5 evaluation (square padding with the mean colour); `'hf'`: llava-hf processor (centre crop). */
  readonly mode: LlavaPreprocessMode;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
}

/** CLIP's normalisation, for checkpoints without a preprocessor_config.json. */
export const CLIP_NORMALIZATION = { imageMean: CLIP_MEAN, imageStd: CLIP_STD, rescaleFactor: 1 / 255 } as const;

/**
 * Preprocess images for the LLaVA vision graph: per image, `llavaPreprocessImage`
 * (optional square padding, shortest edge to S with Pillow's bicubic, centre
 * crop) then rescale and normalise — exactly `llavaPreprocess` — into one
 * `pixel_values [images, 3, S, S]` float32 feed. `views` are the S × S
 * pictures the model sees; each image is a (S / patch)² grid of tokens.
 */
export function prepareLlavaImages(images: readonly RgbImageLike[], settings: LlavaImageSettings): PreparedImages {
  const { imageSize: size, patchSize, mode } = settings;
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(patchSize) || patchSize <= 0 || size % patchSize !== 0) {
    throw new InvalidArgumentError(`image size ${size} must be a positive multiple of the patch size ${patchSize}`, { size, patchSize });
  }
  const plane = 3 * size * size;
  const pixels = new Float32Array(images.length * plane);
  const views = images.map((image, i) => {
    const view = llavaPreprocessImage(image, { mode, size });
    const normalized = normalize(view, { mean: settings.imageMean, std: settings.imageStd, rescaleFactor: settings.rescaleFactor });
    pixels.set(normalized.data, i * plane);
    return view;
  });
  const grid = size / patchSize;
  return {
    feeds: { [VISION_IO.pixelValues]: new Tensor('float32', pixels, [images.length, 3, size, size]) },
    tokensPerImage: images.map(() => settings.tokensPerImage),
    grids: images.map(() => ({ rows: grid, cols: grid })),
    views,
  };
}
