import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { Qwen2VlConfigError } from './errors.js';

/** Image preprocessing settings of a checkpoint (`preprocessor_config.json`), stored in the manifest. */
export interface Qwen2VlImageSettings {
  /** Lower bound on the resized height × width, pixels. */
  readonly minPixels: number;
  /** Upper bound on the resized height × width, pixels. */
  readonly maxPixels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
}

/** transformers' `Qwen2VLImageProcessor` defaults (what the released checkpoints use). */
export const QWEN2_VL_IMAGE_DEFAULTS: Qwen2VlImageSettings = {
  minPixels: 56 * 56,
  maxPixels: 28 * 28 * 1280,
  patchSize: 14,
  temporalPatchSize: 2,
  mergeSize: 2,
  imageMean: CLIP_MEAN,
  imageStd: CLIP_STD,
  rescaleFactor: 1 / 255,
};

/**
 * The image settings of a parsed `preprocessor_config.json` (undefined: the
 * processor defaults). Both layouts are read: `min_pixels` / `max_pixels`
 * (released checkpoints) and `size.shortest_edge` / `size.longest_edge`
 * (newer transformers, same meaning).
 */
export function parseQwen2VlImageSettings(json: Readonly<Record<string, unknown>> | undefined, source = 'preprocessor_config.json'): Qwen2VlImageSettings {
  if (!json) return QWEN2_VL_IMAGE_DEFAULTS;
  const size = typeof json.size === 'object' && json.size !== null ? (json.size as Record<string, unknown>) : {};
  const positive = (field: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Qwen2VlConfigError(`${source}: ${field} must be a positive number, got ${JSON.stringify(value)}`, { source, field });
    }
    return value;
  };
  const integer = (field: string, value: unknown, fallback: number): number => {
    const n = positive(field, value, fallback);
    if (!Number.isInteger(n)) throw new Qwen2VlConfigError(`${source}: ${field} must be an integer, got ${n}`, { source, field });
    return n;
  };
  const triple = (field: string, value: unknown, fallback: readonly [number, number, number]): readonly [number, number, number] => {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value) || value.length !== 3 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new Qwen2VlConfigError(`${source}: ${field} must be three numbers, got ${JSON.stringify(value)}`, { source, field });
    }
    return [value[0], value[1], value[2]] as const;
  };
  const d = QWEN2_VL_IMAGE_DEFAULTS;
  const settings: Qwen2VlImageSettings = {
    minPixels: integer('min_pixels', json.min_pixels ?? size.shortest_edge, d.minPixels),
    maxPixels: integer('max_pixels', json.max_pixels ?? size.longest_edge, d.maxPixels),
    patchSize: integer('patch_size', json.patch_size, d.patchSize),
    temporalPatchSize: integer('temporal_patch_size', json.temporal_patch_size, d.temporalPatchSize),
    mergeSize: integer('merge_size', json.merge_size, d.mergeSize),
    imageMean: triple('image_mean', json.image_mean, d.imageMean),
    imageStd: triple('image_std', json.image_std, d.imageStd),
    rescaleFactor: positive('rescale_factor', json.rescale_factor, d.rescaleFactor),
  };
  if (settings.minPixels > settings.maxPixels) {
    throw new Qwen2VlConfigError(`${source}: min_pixels ${settings.minPixels} is above max_pixels ${settings.maxPixels}`, { source, field: 'min_pixels' });
  }
  return settings;
}
