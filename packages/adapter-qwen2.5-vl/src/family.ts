import { type Qwen2VlAdapterSettings, type Qwen2VlImagesExtra, type QwenManifest, type QwenVisionTower, convertQwenVisionLanguage, prepareQwen2VlPrompt } from '@vasink/adapter-qwen2-vl';
import type { ConvertOptions, ModelFamily } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { QWEN2_5_VL_ARCHITECTURE, type Qwen25VlVisionConfig, isQwen25VlConfig, parseQwen25VlConfig, visionWeightShapes } from './config.js';
import { prepareQwen25VlImages, qwen25vlSettings, readQwen25VlVisionSettings } from './prepare-images.js';
import { REAL_SHAPE_QWEN2_5_VL_REPOS, REAL_SHAPE_QWEN2_5_VL_SIZES, type RealShapeQwen25VlSize, writeRealShapeQwen25VlCheckpoint } from './real-shape-checkpoint.js';
import { writeTinyQwen25VlCheckpoint } from './tiny-checkpoint.js';
import { buildQwen25VlVisionGraph } from './vision-graph.js';

const PRODUCER = '@vasink/adapter-qwen2.5-vl';

/** Qwen2.5-VL's tower for the shared Qwen2-VL-style conversion. */
export const QWEN2_5_VL_TOWER: QwenVisionTower<Qwen25VlVisionConfig> = {
  family: 'qwen2.5-vl',
  producer: PRODUCER,
  // Qwen2.5 backbones have no published sink dims (the Qwen2-7B profile is another model's).
  sinkModelType: 'qwen2_5_vl',
  parseConfig: parseQwen25VlConfig,
  visionShapes: visionWeightShapes,
  buildVisionGraph: buildQwen25VlVisionGraph,
  readVision: readQwen25VlVisionSettings,
};

/**
 * Convert a Qwen2.5-VL checkpoint (`Qwen2_5_VLForConditionalGeneration`): the
 * Qwen2-VL conversion (language model, tokenizer, processor, layouts) with
 * Qwen2.5-VL's vision graph. Sink dims: `sinkDims`, the checkpoint's
 * `vasink.sink_dims`, else none (`dims: null`: find them with `vasink find-sink-dims`).
 */
export function convertQwen25Vl(options: ConvertOptions): Promise<QwenManifest<Qwen25VlVisionConfig>> {
  return convertQwenVisionLanguage(options, QWEN2_5_VL_TOWER);
}

/**
 * Qwen2.5-VL (3B, 7B) for the vasink runtime: conversion, images (Qwen2-VL's
 * processor, then window order), and Qwen2-VL's chat prompt and M-RoPE
 * positions — for images Qwen2.5-VL's `get_rope_index` equals Qwen2-VL's
 * (`second_per_grid_ts` only moves video frames).
 */
export const qwen25vlFamily: ModelFamily<Qwen2VlAdapterSettings<Qwen25VlVisionConfig>, Qwen2VlImagesExtra> = {
  name: 'qwen2.5-vl',
  label: 'Qwen2.5-VL',
  architectures: [QWEN2_5_VL_ARCHITECTURE],
  dynamicResolution: true,
  fixtures: {
    writeTiny: (dir, fixture) => writeTinyQwen25VlCheckpoint(dir, fixture),
    realShapeSizes: REAL_SHAPE_QWEN2_5_VL_REPOS,
    writeRealShape(dir, fixture) {
      const size = fixture.size as RealShapeQwen25VlSize;
      if (!REAL_SHAPE_QWEN2_5_VL_SIZES.includes(size)) throw new InvalidArgumentError(`no real-shape Qwen2.5-VL size "${fixture.size}": ${REAL_SHAPE_QWEN2_5_VL_SIZES.join(', ')}`);
      return writeRealShapeQwen25VlCheckpoint(dir, { ...fixture, size });
    },
  },
  matches: isQwen25VlConfig,
  convert: convertQwen25Vl,
  readSettings: qwen25vlSettings,
  prepareImages: prepareQwen25VlImages,
  preparePrompt: prepareQwen2VlPrompt,
};
