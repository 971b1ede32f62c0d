import type { LlavaPreprocessMode } from './llava-preprocess.js';
import { type ModelFamily, ModelDirectoryError, type ModelManifest } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { type LlavaAdapterSettings, type LlavaNextAdapterSettings, convertLlava } from './convert.js';
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

/** The `adapter` section of a LLaVA manifest, checked. */
export function llavaAdapterSettings(manifest: ModelManifest): LlavaAdapterSettings {
  const adapter = manifest.adapter as Partial<LlavaAdapterSettings>;
  const positive = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value > 0;
  const triple = (value: unknown) => Array.isArray(value) && value.length === 3 && value.every((x) => typeof x === 'number');
  const problems = [
    positive(adapter.imageSize) ? undefined : 'imageSize',
    positive(adapter.patchSize) ? undefined : 'patchSize',
    positive(adapter.tokensPerImage) ? undefined : 'tokensPerImage',
    adapter.preprocess === 'pad' || adapter.preprocess === 'hf' ? undefined : 'preprocess',
    triple(adapter.imageMean) ? undefined : 'imageMean',
    triple(adapter.imageStd) ? undefined : 'imageStd',
    typeof adapter.rescaleFactor === 'number' ? undefined : 'rescaleFactor',
  ].filter((p) => p !== undefined);
  if (manifest.family !== 'llava' || problems.length > 0) {
    throw new ModelDirectoryError(
      manifest.family !== 'llava'
        ? `the model is a ${manifest.family} model, not llava`
        : `manifest.json: adapter.${problems.join(', adapter.')} missing or invalid; convert the checkpoint again`,
      { family: manifest.family, problems },
    );
  }
  return adapter as LlavaAdapterSettings;
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
export function createLlavaFamily(options: LlavaFamilyOptions = {}): ModelFamily {
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
    convert: convertLlava,
    async prepareImages(images, manifest) {
      const settings = llavaAdapterSettings(manifest);
      return prepareLlavaImages(images, { ...settings, mode: mode ?? settings.preprocess });
    },
    preparePrompt({ question, system, history, images, manifest, tokenizer, template }) {
      return buildLlavaPrompt({
        question,
        tokensPerImage: images.tokensPerImage,
        tokenizer,
        imageTokenId: manifest.tokens.imageTokenId,
        template,
        ...(system !== undefined ? { system } : {}),
        ...(history !== undefined ? { history } : {}),
      });
    },
  };
}

/** The LLaVA-1.5 family with the manifest's preprocessing (original `'pad'` unless converted otherwise). */
export const llavaFamily: ModelFamily = createLlavaFamily();

/** The `adapter` section of a LLaVA-NeXT manifest, checked. */
export function llavaNextAdapterSettings(manifest: ModelManifest): LlavaNextAdapterSettings {
  const adapter = manifest.adapter as Partial<LlavaNextAdapterSettings>;
  const positive = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value > 0;
  const triple = (value: unknown) => Array.isArray(value) && value.length === 3 && value.every((x) => typeof x === 'number');
  const pairs = (value: unknown) =>
    Array.isArray(value) && value.length > 0 && value.every((p) => Array.isArray(p) && p.length === 2 && p.every(positive) && p.every((x) => x % (adapter.imageSize ?? 1) === 0));
  const problems = [
    positive(adapter.imageSize) ? undefined : 'imageSize',
    positive(adapter.patchSize) && (adapter.imageSize ?? 0) % (adapter.patchSize ?? 1) === 0 ? undefined : 'patchSize',
    pairs(adapter.pinpoints) ? undefined : 'pinpoints',
    adapter.promptFormat === 'vicuna_v1' || adapter.promptFormat === 'mistral_instruct' ? undefined : 'promptFormat',
    triple(adapter.imageMean) ? undefined : 'imageMean',
    triple(adapter.imageStd) ? undefined : 'imageStd',
    typeof adapter.rescaleFactor === 'number' ? undefined : 'rescaleFactor',
  ].filter((p) => p !== undefined);
  if (manifest.family !== 'llava-next' || problems.length > 0) {
    throw new ModelDirectoryError(
      manifest.family !== 'llava-next'
        ? `the model is a ${manifest.family} model, not llava-next`
        : `manifest.json: adapter.${problems.join(', adapter.')} missing or invalid; convert the checkpoint again`,
      { family: manifest.family, problems },
    );
  }
  return adapter as LlavaNextAdapterSettings;
}

/**
 * The LLaVA-NeXT (v1.6) model family: the same conversion as LLaVA-1.5
 * (`convertLlava` writes family `llava-next` for `LlavaNextForConditionalGeneration`),
 * anyres images (`prepareLlavaNextImages`: base view + pinpoint tiles, unpadded
 * features with `image_newline`, as transformers' processor and model), and
 * the backbone's original prompt (`vicuna_v1` or `mistral_instruct`) or the
 * checkpoint's chat template.
 */
export const llavaNextFamily: ModelFamily = {
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
  convert: convertLlava,
  async prepareImages(images, manifest) {
    return prepareLlavaNextImages(images, llavaNextAdapterSettings(manifest));
  },
  preparePrompt({ question, system, history, images, manifest, tokenizer, template }) {
    return buildLlavaPrompt({
      question,
      tokensPerImage: images.tokensPerImage,
      tokenizer,
      imageTokenId: manifest.tokens.imageTokenId,
      template,
      format: llavaNextAdapterSettings(manifest).promptFormat,
      ...(system !== undefined ? { system } : {}),
      ...(history !== undefined ? { history } : {}),
    });
  },
};
