import { CLIP_MEAN, CLIP_STD, type RgbImage, createRgbImage, normalize } from '@vasink/image';
import { type LlavaPreprocessMode, llavaPreprocessImage } from './llava-preprocess.js';
import { type ImagePanel, type PreparedImages, type RgbImageLike, gridPanel } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { Tensor } from 'onnxruntime-node';
import { type AnyresLayout, anyresFeatureOrder, anyresLayout, anyresTiles } from './anyres.js';
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
    panels: views.map((view) => [gridPanel(view, grid, grid)]),
  };
}

/** How images become LLaVA-NeXT's vision graph inputs (the manifest's `adapter` section). */
export interface LlavaNextImageSettings extends Omit<LlavaImageSettings, 'tokensPerImage' | 'mode'> {
  /** `image_grid_pinpoints`, each `[height, width]`. */
  readonly pinpoints: readonly (readonly [number, number])[];
}

/**
 * Preprocess images for LLaVA-NeXT as `LlavaNextImageProcessor` and
 * `LlavaNextProcessor` do: per image, the base view and the pinpoint tiles
 * (`anyresTiles`), each rescaled and normalised, into one
 * `pixel_values [tiles, 3, S, S]`; the `feature_order` of every image token
 * (`anyresFeatureOrder`, images in order, `image_newline` after the last
 * tile); the processor's token count per image. Panels: the base view
 * (grid²) and the unpadded tile grid over the resized image.
 */
export function prepareLlavaNextImages(images: readonly RgbImageLike[], settings: LlavaNextImageSettings): PreparedImages {
  const { imageSize: size, patchSize } = settings;
  if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(patchSize) || patchSize <= 0 || size % patchSize !== 0) {
    throw new InvalidArgumentError(`image size ${size} must be a positive multiple of the patch size ${patchSize}`, { size, patchSize });
  }
  const layouts = images.map((image) => anyresLayout(image.width, image.height, { imageSize: size, patchSize, pinpoints: settings.pinpoints }));
  const totalTiles = layouts.reduce((sum, layout) => sum + layout.tiles, 0);
  const plane = 3 * size * size;
  const pixels = new Float32Array(totalTiles * plane);
  const perTile = (size / patchSize) ** 2;
  const order: number[] = [];
  const panels: ImagePanel[][] = [];
  let firstTile = 0;
  images.forEach((image, i) => {
    const layout = layouts[i] as AnyresLayout;
    const { tiles, resized } = anyresTiles(image as RgbImage, layout, size);
    tiles.forEach((tile, t) => {
      const normalized = normalize(tile, { mean: settings.imageMean, std: settings.imageStd, rescaleFactor: settings.rescaleFactor });
      pixels.set(normalized.data, (firstTile + t) * plane);
    });
    order.push(...anyresFeatureOrder(layout, firstTile, totalTiles * perTile));
    const base = gridPanel(tiles[0] as RgbImage, layout.grid, layout.grid, 0, 'base');
    // Extreme aspect ratios unpad to no rows or no columns: nothing of the tiles to draw.
    panels.push(layout.unpadded.rows > 0 && layout.unpadded.cols > 0 ? [base, tilePanel(layout, resized, patchSize)] : [base]);
    firstTile += layout.tiles;
  });
  return {
    feeds: {
      [VISION_IO.pixelValues]: new Tensor('float32', pixels, [totalTiles, 3, size, size]),
      [VISION_IO.featureOrder]: new Tensor('int64', BigInt64Array.from(order, (x) => BigInt(x)), [order.length]),
    },
    tokensPerImage: layouts.map((layout) => layout.tokens),
    panels,
  };
}

/**
 * The unpadded tile grid as a picture: the resized image on its pinpoint
 * canvas, cropped to the unpadded cells (the unpadding drops whole patch
 * rows or columns of the black border, so a thin strip of it may remain).
 */
function tilePanel(layout: AnyresLayout, resized: RgbImage, patchSize: number): ImagePanel {
  const { rows, cols, top, left } = layout.unpadded;
  const view = createRgbImage(cols * patchSize, rows * patchSize);
  const [y0, x0] = [top * patchSize - layout.padding.top, left * patchSize - layout.padding.left];
  for (let y = 0; y < view.height; y++) {
    const sy = y + y0;
    if (sy < 0 || sy >= resized.height) continue;
    for (let x = 0; x < view.width; x++) {
      const sx = x + x0;
      if (sx < 0 || sx >= resized.width) continue;
      view.data.set(resized.data.subarray((sy * resized.width + sx) * 3, (sy * resized.width + sx) * 3 + 3), (y * view.width + x) * 3);
    }
  }
  const base = layout.grid * layout.grid;
  const tokens: number[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) tokens.push(base + r * (cols + 1) + c);
  return { view, rows, cols, tokens, label: 'tiles' };
}
