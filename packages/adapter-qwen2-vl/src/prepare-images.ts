import type { RgbImage } from '@vasink/image';
import { type Qwen2VlPreprocessOptions, qwen2vlPreprocess, qwen2vlPreprocessImage } from './qwen2vl-preprocess.js';
import { smartResize } from './smart-resize.js';
import { type ModelManifest, type PreparedImages, type RgbImageLike, gridPanel } from '@vasink/runtime';
import { Tensor } from 'onnxruntime-node';
import type { Qwen2VlAdapterSettings } from './adapter-settings.js';
import type { Qwen2VlImageSettings } from './preprocessor-config.js';
import { VISION_IO } from './vision-graph.js';
import { type GridThw, visionPositionIds, visionSegmentIds } from './vision-inputs.js';

/** `PreparedImages.extra` of this family: the patch grid of each image, as the processor's `image_grid_thw`. */
export interface Qwen2VlImagesExtra {
  readonly gridThw: readonly GridThw[];
}

/** `@vasink/image` options for a checkpoint's image settings. */
export function preprocessOptions(image: Qwen2VlImageSettings): Qwen2VlPreprocessOptions {
  return {
    minPixels: image.minPixels,
    maxPixels: image.maxPixels,
    patchSize: image.patchSize,
    temporalPatchSize: image.temporalPatchSize,
    mergeSize: image.mergeSize,
    normalize: { mean: image.imageMean, std: image.imageStd, rescaleFactor: image.rescaleFactor },
  };
}

/**
 * Preprocess images for the vision graph (transformers' slow
 * `Qwen2VLImageProcessor`, Pillow-exact): smart resize within the manifest's
 * min/max pixels, CLIP normalisation, patches `[N, 1176]`, plus the patch
 * positions and attention segments the graph takes. Each image becomes
 * t·h·w / merge² tokens on a (h / merge) × (w / merge) grid.
 */
export async function prepareQwen2VlImages(
  images: readonly RgbImageLike[],
  manifest: ModelManifest<Qwen2VlAdapterSettings<unknown>>,
): Promise<PreparedImages<Qwen2VlImagesExtra>> {
  const settings = manifest.adapter;
  const merge = settings.image.mergeSize;
  if (images.length === 0) {
    return { feeds: {}, tokensPerImage: [], panels: [], extra: { gridThw: [] } satisfies Qwen2VlImagesExtra };
  }
  const options = preprocessOptions(settings.image);
  const views = images.map((image) => qwen2vlPreprocessImage(image as RgbImage, options));
  // A view already at its smart-resize size resizes to itself (a copy): preprocess the views and resize once.
  const factor = settings.image.patchSize * merge;
  const settled = views.every((view) => {
    const size = smartResize(view.height, view.width, { factor, minPixels: settings.image.minPixels, maxPixels: settings.image.maxPixels });
    return size.height === view.height && size.width === view.width;
  });
  const { pixelValues, gridThw } = qwen2vlPreprocess(settled ? views : (images as readonly RgbImage[]), options);
  const patches = pixelValues.dims[0] as number;
  return {
    feeds: {
      [VISION_IO.pixelValues]: new Tensor('float32', pixelValues.data, [...pixelValues.dims]),
      [VISION_IO.positionIds]: new Tensor('int64', visionPositionIds(gridThw, merge), [patches, 2]),
      [VISION_IO.segmentIds]: new Tensor('int64', visionSegmentIds(gridThw, merge), [patches]),
    },
    tokensPerImage: gridThw.map(([t, h, w]) => (t * h * w) / (merge * merge)),
    panels: gridThw.map(([, h, w], i) => [gridPanel(views[i] as RgbImage, h / merge, w / merge)]),
    extra: { gridThw } satisfies Qwen2VlImagesExtra,
  };
}
