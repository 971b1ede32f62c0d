import { type GridThw, type Qwen2VlAdapterSettings, type Qwen2VlImagesExtra, type QwenManifest, prepareQwen2VlImages, readQwenSettings } from '@vasink/adapter-qwen2-vl';
import type { ManifestSettings, ModelManifest, PreparedImages, RgbImageLike } from '@vasink/runtime';
import { Tensor } from 'onnxruntime-node';
import type { Qwen25VlVisionConfig } from './config.js';
import { VISION_IO } from './vision-graph.js';
import { type WindowGeometry, inversePermutation, windowIndex } from './window-index.js';

/**
 * The vision graph's feeds in window order, from the processor's: the rows of
 * `pixel_values` and `vision_position_ids` and the frame ids moved by whole
 * merge units as `windowIndex` orders them, each patch's window id, and the
 * order putting the merged tokens back (`argsort(window_index)`).
 */
export function windowOrderedFeeds(feeds: { pixelValues: Float32Array; positionIds: BigInt64Array; segmentIds: BigInt64Array }, gridThw: readonly GridThw[], geometry: WindowGeometry) {
  const unit = geometry.spatialMergeSize ** 2;
  const n = feeds.segmentIds.length;
  const columns = feeds.pixelValues.length / n;
  const { index, cuWindowSeqlens } = windowIndex(gridThw, geometry);
  const pixelValues = new Float32Array(feeds.pixelValues.length);
  const positionIds = new BigInt64Array(2 * n);
  const segmentIds = new BigInt64Array(n);
  index.forEach((from, to) => {
    pixelValues.set(feeds.pixelValues.subarray(from * unit * columns, (from + 1) * unit * columns), to * unit * columns);
    positionIds.set(feeds.positionIds.subarray(2 * from * unit, 2 * (from + 1) * unit), 2 * to * unit);
    segmentIds.set(feeds.segmentIds.subarray(from * unit, (from + 1) * unit), to * unit);
  });
  const windowIds = new BigInt64Array(n);
  for (let w = 0; w + 1 < cuWindowSeqlens.length; w++) windowIds.fill(BigInt(w), cuWindowSeqlens[w] as number, cuWindowSeqlens[w + 1] as number);
  const tokenOrder = BigInt64Array.from(inversePermutation(index), (x) => BigInt(x));
  return { pixelValues, positionIds, segmentIds, windowIds, tokenOrder };
}

/** Qwen2.5-VL's `adapter.vision`, checked field by field. */
export function readQwen25VlVisionSettings(vision: ManifestSettings): Qwen25VlVisionConfig {
  const depth = vision.integer('depth', { min: 1 });
  return {
    depth,
    embedDim: vision.integer('embedDim', { min: 1 }),
    numHeads: vision.integer('numHeads', { min: 1 }),
    intermediateSize: vision.integer('intermediateSize', { min: 1 }),
    patchSize: vision.integer('patchSize', { min: 1 }),
    temporalPatchSize: vision.integer('temporalPatchSize', { min: 1 }),
    spatialMergeSize: vision.integer('spatialMergeSize', { min: 1 }),
    inChannels: vision.integer('inChannels', { min: 1 }),
    outHiddenSize: vision.integer('outHiddenSize', { min: 1 }),
    windowSize: vision.integer('windowSize', { min: 1 }),
    fullAttentionBlocks: vision.integers('fullAttentionBlocks'),
    rmsNormEps: vision.positive('rmsNormEps'),
  };
}

/** The adapter settings of a qwen2.5-vl manifest, checked field by field (`qwen25vlFamily.readSettings`). */
export function qwen25vlSettings(manifest: ModelManifest): Qwen2VlAdapterSettings<Qwen25VlVisionConfig> {
  return readQwenSettings(manifest, 'qwen2.5-vl', readQwen25VlVisionSettings);
}

/**
 * Qwen2.5-VL's images: Qwen2-VL's processor (the same `Qwen2VLImageProcessor`
 * math: smart resize, patches, grid_thw, M-RoPE extra), then the feeds put in
 * window order ({@link windowOrderedFeeds}).
 */
export async function prepareQwen25VlImages(images: readonly RgbImageLike[], manifest: QwenManifest<Qwen25VlVisionConfig>): Promise<PreparedImages<Qwen2VlImagesExtra>> {
  const prepared = await prepareQwen2VlImages(images, manifest);
  if (images.length === 0) return prepared;
  const gridThw = prepared.extra?.gridThw ?? [];
  const vision = manifest.adapter.vision;
  const data = (name: string) => (prepared.feeds[name] as Tensor).data;
  const ordered = windowOrderedFeeds(
    { pixelValues: data(VISION_IO.pixelValues) as Float32Array, positionIds: data(VISION_IO.positionIds) as BigInt64Array, segmentIds: data(VISION_IO.segmentIds) as BigInt64Array },
    gridThw,
    vision,
  );
  const n = ordered.segmentIds.length;
  return {
    ...prepared,
    feeds: {
      [VISION_IO.pixelValues]: new Tensor('float32', ordered.pixelValues, [n, ordered.pixelValues.length / n]),
      [VISION_IO.positionIds]: new Tensor('int64', ordered.positionIds, [n, 2]),
      [VISION_IO.segmentIds]: new Tensor('int64', ordered.segmentIds, [n]),
      [VISION_IO.windowIds]: new Tensor('int64', ordered.windowIds, [n]),
      [VISION_IO.tokenOrder]: new Tensor('int64', ordered.tokenOrder, [ordered.tokenOrder.length]),
    },
  };
}
