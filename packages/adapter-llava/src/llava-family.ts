import { ManifestSettings, type ModelFamily, type ModelManifest } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { type LlavaAdapterSettings, type LlavaNextAdapterSettings, convertLlavaAs } from './convert.js';
import type { LlavaLayout } from './llava-checkpoint.js';
import type { LlavaPreprocessMode } from './llava-preprocess.js';
import type { LlavaPromptFormat } from './llava-prompt.js';
import { LLAVA_ARCHITECTURES, LLAVA_NEXT_ARCHITECTURES, llavaArchitectureOf, llavaNextArchitectureOf } from './llava-config.js';
import {
  REAL_SHAPE_LLAVA_NEXT_REPOS,
  REAL_SHAPE_LLAVA_NEXT_SIZES,
  REAL_SHAPE_LLAVA_REPOS,
  REAL_SHAPE_LLAVA_SIZES,
  type RealShapeLlavaNextSize,
  type RealShapeLlavaSize,
  writeRealShapeLlavaCheckpoint,
} from './real-shape-checkpoint.js';
import { writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';
import { buildLlavaPrompt } from './llava-prompt.js';
import { prepareLlavaImages, prepareLlavaNextImages } from './prepare-images.js';

const LAYOUTS = ['llava-hf', 'llava-hf-legacy', 'original'] as const satisfies readonly LlavaLayout[];
const PROMPT_FORMATS = ['vicuna_v1', 'mistral_instruct'] as const satisfies readonly LlavaPromptFormat[];

/** The `adapter` section of a LLaVA manifest, checked field by field (`llavaFamily.readSettings`). */
export function llavaAdapterSettings(manifest: ModelManifest): LlavaAdapterSettings {
  const a = ManifestSettings.of(manifest, 'llava');
  return {
    layout: a.oneOf('layout', LAYOUTS),
    imageSize: a.integer('imageSize', { min: 1 }),
    patchSize: a.integer('patchSize', { min: 1 }),
    tokensPerImage: a.integer('tokensPerImage', { min: 1 }),
    preprocess: a.oneOf('preprocess', ['pad', 'hf']),
    imageMean: a.triple('imageMean'),
    imageStd: a.triple('imageStd'),
    rescaleFactor: a.positive('rescaleFactor'),
    promptFormat: a.oneOf('promptFormat', PROMPT_FORMATS),
    visionFeatureLayer: a.integer('visionFeatureLayer', { min: -Infinity }),
    visionFeatureSelectStrategy: a.oneOf('visionFeatureSelectStrategy', ['default', 'full']),
    imageTokenInVocabulary: a.boolean('imageTokenInVocabulary'),
  };
}

export interface LlavaFamilyOptions {
  /** Preprocessing for every request, overriding the manifest's `adapter.preprocess` (`'pad'` by default). */
  preprocessMode?: LlavaPreprocessMode;
}

/**
 * The LLaVA-1.5 model family for the runtime: conversion (`convertLlava`),
 * image preparation (`prepareLlavaImages`, the manifest's preprocessing or
 * `options.preprocessMode`) and the prompt (`'default'` = `vicuna_v1`,
 * `'chat'` = the checkpoint's chat template).
 */
export function createLlavaFamily(options: LlavaFamilyOptions = {}): ModelFamily<LlavaAdapterSettings> {
  const mode = options.preprocessMode;
  if (mode !== undefined && mode !== 'pad' && mode !== 'hf') {
    throw new InvalidArgumentError(`preprocessMode must be 'pad' or 'hf', got ${JSON.stringify(mode)}`, { mode });
  }
  return {
    name: 'llava',
    label: 'LLaVA-1.5',
    architectures: LLAVA_ARCHITECTURES,
    dynamicResolution: false,
    fixtures: {
      writeTiny: (dir, fixture) => writeTinyLlavaCheckpoint(dir, fixture),
      realShapeSizes: REAL_SHAPE_LLAVA_REPOS,
      writeRealShape(dir, fixture) {
        const size = fixture.size as RealShapeLlavaSize;
        if (!REAL_SHAPE_LLAVA_SIZES.includes(size)) throw new InvalidArgumentError(`no real-shape LLaVA size "${fixture.size}": ${REAL_SHAPE_LLAVA_SIZES.join(', ')}`);
        return writeRealShapeLlavaCheckpoint(dir, { ...fixture, size });
      },
    },
    matches: (hfConfig) => llavaArchitectureOf(hfConfig) !== undefined,
    convert: (convert) => convertLlavaAs(convert, 'llava'),
    readSettings: llavaAdapterSettings,
    async prepareImages(images, { adapter }) {
      return prepareLlavaImages(images, { ...adapter, mode: mode ?? adapter.preprocess });
    },
    preparePrompt({ question, system, history, images, manifest, tokenizer, template }) {
      return buildLlavaPrompt({
        question,
        tokensPerImage: images.tokensPerImage,
        tokenizer,
        imageTokenId: manifest.tokens.imageTokenId,
        template,
        format: manifest.adapter.promptFormat,
        ...(system !== undefined ? { system } : {}),
        ...(history !== undefined ? { history } : {}),
      });
    },
  };
}

/** The LLaVA-1.5 family with the manifest's preprocessing (original `'pad'` unless converted otherwise). */
export const llavaFamily: ModelFamily<LlavaAdapterSettings> = createLlavaFamily();

/** The `adapter` section of a LLaVA-NeXT manifest, checked field by field (`llavaNextFamily.readSettings`). */
export function llavaNextAdapterSettings(manifest: ModelManifest): LlavaNextAdapterSettings {
  const a = ManifestSettings.of(manifest, 'llava-next');
  const imageSize = a.integer('imageSize', { min: 1 });
  const patchSize = a.integer('patchSize', { min: 1, valid: (p) => imageSize % p === 0, expected: `a divisor of imageSize ${imageSize}` });
  return {
    layout: a.oneOf('layout', LAYOUTS),
    imageSize,
    patchSize,
    pinpoints: a.integerPairs('pinpoints', (p) => p[0] % imageSize === 0 && p[1] % imageSize === 0, `[height, width] pairs, multiples of imageSize ${imageSize}`),
    imageMean: a.triple('imageMean'),
    imageStd: a.triple('imageStd'),
    rescaleFactor: a.positive('rescaleFactor'),
    promptFormat: a.oneOf('promptFormat', PROMPT_FORMATS),
    visionFeatureLayer: a.integer('visionFeatureLayer', { min: -Infinity }),
  };
}

/**
 * The LLaVA-NeXT (v1.6) model family: the same conversion as LLaVA-1.5
 * (`convertLlava` writes family `llava-next` for `LlavaNextForConditionalGeneration`),
 * anyres images (`prepareLlavaNextImages`: base view + pinpoint tiles, unpadded
 * features with `image_newline`, as transformers' processor and model), and
 * the backbone's original prompt (`vicuna_v1` or `mistral_instruct`) or the
 * checkpoint's chat template.
 */
export const llavaNextFamily: ModelFamily<LlavaNextAdapterSettings> = {
  name: 'llava-next',
  label: 'LLaVA-NeXT',
  architectures: LLAVA_NEXT_ARCHITECTURES,
  dynamicResolution: false,
  fixtures: {
    writeTiny: (dir, fixture) => writeTinyLlavaCheckpoint(dir, { ...fixture, variant: 'llava-next' }),
    realShapeSizes: REAL_SHAPE_LLAVA_NEXT_REPOS,
    writeRealShape(dir, fixture) {
      const size = fixture.size as RealShapeLlavaNextSize;
      if (!REAL_SHAPE_LLAVA_NEXT_SIZES.includes(size)) {
        throw new InvalidArgumentError(`no real-shape LLaVA-NeXT size "${fixture.size}": ${REAL_SHAPE_LLAVA_NEXT_SIZES.join(', ')}`);
      }
      return writeRealShapeLlavaCheckpoint(dir, { ...fixture, size });
    },
  },
  matches: (hfConfig) => llavaNextArchitectureOf(hfConfig) !== undefined,
  convert: (convert) => convertLlavaAs(convert, 'llava-next'),
  readSettings: llavaNextAdapterSettings,
  async prepareImages(images, { adapter }) {
    return prepareLlavaNextImages(images, adapter);
  },
  preparePrompt({ question, system, history, images, manifest, tokenizer, template }) {
    return buildLlavaPrompt({
      question,
      tokensPerImage: images.tokensPerImage,
      tokenizer,
      imageTokenId: manifest.tokens.imageTokenId,
      template,
      format: manifest.adapter.promptFormat,
      ...(system !== undefined ? { system } : {}),
      ...(history !== undefined ? { history } : {}),
    });
  },
};
