import type { ModelFamily } from '@vasink/runtime';
import { type Qwen2VlAdapterSettings, qwen2vlSettings } from './adapter-settings.js';
import { InvalidArgumentError } from '@vasink/tensor';
import { convertQwen2Vl } from './convert.js';
import { type Qwen2VlImagesExtra, prepareQwen2VlImages } from './prepare-images.js';
import { prepareQwen2VlPrompt } from './prompt.js';
import { QWEN2_VL_ARCHITECTURE, isQwen2VlConfig } from './qwen2vl-config.js';
import { REAL_SHAPE_QWEN2_VL_REPOS, REAL_SHAPE_QWEN2_VL_SIZES, type RealShapeQwen2VlSize, writeRealShapeQwen2VlCheckpoint } from './real-shape-checkpoint.js';
import { writeTinyQwen2VlCheckpoint } from './tiny-checkpoint.js';

/**
 * Qwen2-VL (2B, 7B; `Qwen2VLForConditionalGeneration`) for the vasink
 * runtime: conversion, image preparation (dynamic resolution, M-RoPE) and the
 * chat prompt. Pass it to `VisionLanguageModel.load(dir, { families: [qwen2vlFamily] })`.
 */
export const qwen2vlFamily: ModelFamily<Qwen2VlAdapterSettings, Qwen2VlImagesExtra> = {
  name: 'qwen2-vl',
  label: 'Qwen2-VL',
  architectures: [QWEN2_VL_ARCHITECTURE],
  dynamicResolution: true,
  fixtures: {
    writeTiny: (dir, fixture) => writeTinyQwen2VlCheckpoint(dir, fixture),
    realShapeSizes: REAL_SHAPE_QWEN2_VL_REPOS,
    writeRealShape(dir, fixture) {
      const size = fixture.size as RealShapeQwen2VlSize;
      if (!REAL_SHAPE_QWEN2_VL_SIZES.includes(size)) throw new InvalidArgumentError(`no real-shape Qwen2-VL size "${fixture.size}": ${REAL_SHAPE_QWEN2_VL_SIZES.join(', ')}`);
      return writeRealShapeQwen2VlCheckpoint(dir, { ...fixture, size });
    },
  },
  matches: isQwen2VlConfig,
  convert: convertQwen2Vl,
  readSettings: qwen2vlSettings,
  prepareImages: prepareQwen2VlImages,
  preparePrompt: prepareQwen2VlPrompt,
};
