import type { ModelFamily } from '@vasink/runtime';
import { convertQwen2Vl } from './convert.js';
import { prepareQwen2VlImages } from './prepare-images.js';
import { prepareQwen2VlPrompt } from './prompt.js';
import { isQwen2VlConfig } from './qwen2vl-config.js';

/**
 * Qwen2-VL (2B, 7B; `Qwen2VLForConditionalGeneration`) for the vasink
 * runtime: conversion, image preparation (dynamic resolution, M-RoPE) and the
 * chat prompt. Pass it to `VisionLanguageModel.load(dir, { families: [qwen2vlFamily] })`.
 */
export const qwen2vlFamily: ModelFamily = {
  name: 'qwen2-vl',
  matches: isQwen2VlConfig,
  convert: convertQwen2Vl,
  prepareImages: prepareQwen2VlImages,
  preparePrompt: prepareQwen2VlPrompt,
};
