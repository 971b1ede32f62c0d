import { ManifestSettings, type ModelManifest } from '@vasink/runtime';
import type { Qwen2VlTensorLayout } from './checkpoint-layout.js';
import type { Qwen2VlImageSettings } from './preprocessor-config.js';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';

/** What the qwen2-vl adapter stores in `manifest.adapter` at conversion and reads back at run time. */
export interface Qwen2VlAdapterSettings<V = Qwen2VlVisionConfig> {
  /** Preprocessing, from the checkpoint's `preprocessor_config.json` (min/max pixels, patch and merge sizes, mean/std). */
  readonly image: Qwen2VlImageSettings;
  readonly imageTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** The vision tower converted (for inspection and `find-sink-dims`). */
  readonly vision: V;
  /** Tensor naming of the source checkpoint. */
  readonly tensorLayout: Qwen2VlTensorLayout;
  /** System message of the default prompt format. */
  readonly systemPrompt: string;
}

/** A manifest of a Qwen2-VL-style family whose vision tower is described by `V`. */
export type QwenManifest<V = Qwen2VlVisionConfig> = ModelManifest<Qwen2VlAdapterSettings<V>>;

/** The system message Qwen2-VL's chat template inserts when a conversation has none. */
export const QWEN2_VL_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** Qwen2-VL's `adapter.vision`, checked field by field. */
export function readQwen2VlVisionSettings(vision: ManifestSettings): Qwen2VlVisionConfig {
  return {
    depth: vision.integer('depth', { min: 1 }),
    embedDim: vision.integer('embedDim', { min: 1 }),
    numHeads: vision.integer('numHeads', { min: 1 }),
    mlpHiddenSize: vision.integer('mlpHiddenSize', { min: 1 }),
    patchSize: vision.integer('patchSize', { min: 1 }),
    temporalPatchSize: vision.integer('temporalPatchSize', { min: 1 }),
    spatialMergeSize: vision.integer('spatialMergeSize', { min: 1 }),
    inChannels: vision.integer('inChannels', { min: 1 }),
    outHiddenSize: vision.integer('outHiddenSize', { min: 1 }),
    layerNormEps: vision.positive('layerNormEps'),
  };
}

/**
 * The adapter settings of a manifest of a Qwen2-VL-style `family`, checked
 * field by field (`readVision` checks its tower's `adapter.vision`); throws
 * naming the first missing or invalid field. A manifest without
 * `systemPrompt` gets Qwen2-VL's.
 */
export function readQwenSettings<V>(manifest: ModelManifest, family: string, readVision: (vision: ManifestSettings) => V): Qwen2VlAdapterSettings<V> {
  const a = ManifestSettings.of(manifest, family);
  const id = (name: string) => a.integer(name);
  const image = a.object('image');
  return {
    image: {
      minPixels: image.positive('minPixels'),
      maxPixels: image.positive('maxPixels'),
      patchSize: image.integer('patchSize', { min: 1 }),
      temporalPatchSize: image.integer('temporalPatchSize', { min: 1 }),
      mergeSize: image.integer('mergeSize', { min: 1 }),
      imageMean: image.triple('imageMean'),
      imageStd: image.triple('imageStd'),
      rescaleFactor: image.positive('rescaleFactor'),
    },
    imageTokenId: id('imageTokenId'),
    visionStartTokenId: id('visionStartTokenId'),
    visionEndTokenId: id('visionEndTokenId'),
    vision: readVision(a.object('vision')),
    tensorLayout: a.oneOf('tensorLayout', ['legacy', 'current']),
    systemPrompt: a.optional('systemPrompt', (s, name) => s.string(name)) ?? QWEN2_VL_SYSTEM_PROMPT,
  };
}

/** The adapter settings of a qwen2-vl manifest, checked (`qwen2vlFamily.readSettings`). */
export function qwen2vlSettings(manifest: ModelManifest): Qwen2VlAdapterSettings {
  return readQwenSettings(manifest, 'qwen2-vl', readQwen2VlVisionSettings);
}
