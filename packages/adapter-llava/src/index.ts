export { LlavaConfigError, LlavaPromptError, MissingVisionTowerError, UnsupportedCheckpointError } from './errors.js';
export {
  LLAVA_ARCHITECTURES,
  LLAVA_NEXT_ARCHITECTURES,
  LLAVA_NEXT_DEFAULT_PINPOINTS,
  anyLlavaArchitectureOf,
  llavaArchitectureOf,
  llavaNextArchitectureOf,
  llavaTokensPerImage,
  parseLlavaConfig,
  visionGridSize,
  visionLayersUsed,
} from './llava-config.js';
export { anyresFeatureOrder, anyresLayout, anyresTiles, patchOutputSize, selectBestResolution } from './anyres.js';
export type { AnyresLayout, AnyresSettings } from './anyres.js';
export type {
  ClipVisionConfig,
  LlavaActivation,
  LlavaAnyres,
  LlavaArchitecture,
  LlavaConfig,
  LlavaProjectorConfig,
  LlavaTextModelType,
  ParseLlavaConfigOptions,
} from './llava-config.js';
export { llavaLayoutNaming, readLlavaCheckpoint } from './llava-checkpoint.js';
export type { LlavaCheckpoint, LlavaLayout, ReadLlavaCheckpointOptions } from './llava-checkpoint.js';
export { IMAGE_NEWLINE, assertVisionWeights, projectorLinearName, visionWeightShapes } from './vision-weights.js';
export type { VisionWeightSources } from './vision-weights.js';
export { VISION_IO, buildLlavaVisionGraph, visionWeightSource } from './vision-graph.js';
export type { LlavaVisionGraphConfig, LlavaVisionGraphOptions } from './vision-graph.js';
export { referenceLlavaVision } from './vision-reference.js';
export { randomLlavaVisionWeights } from './random-vision-weights.js';
export { CLIP_NORMALIZATION, prepareLlavaImages, prepareLlavaNextImages } from './prepare-images.js';
export { llavaPreprocess, llavaPreprocessImage } from './llava-preprocess.js';
export type { LlavaPreprocessMode, LlavaPreprocessOptions, LlavaPreprocessResult } from './llava-preprocess.js';
export type { LlavaImageSettings, LlavaNextImageSettings } from './prepare-images.js';
export { IMAGE_PLACEHOLDER, VICUNA_V1_SYSTEM, buildLlavaPrompt, chatTemplatePrompt, mistralInstructPrompt, tokenizeLlavaPrompt, vicunaV1Prompt } from './llava-prompt.js';
export type { LlavaConversation, LlavaPromptFormat, TokenizeLlavaPromptOptions } from './llava-prompt.js';
export { LLAVA_MODEL_FILES, ORIGINAL_IMAGE_PLACEHOLDER_ID, convertLlava, convertLlavaAs, resolveLlavaSinkDims } from './convert.js';
export type { LlavaAdapterSettings, LlavaManifest, LlavaNextAdapterSettings, LlavaNextManifest } from './convert.js';
export { createLlavaFamily, llavaAdapterSettings, llavaFamily, llavaNextAdapterSettings, llavaNextFamily } from './llava-family.js';
export type { LlavaFamilyOptions } from './llava-family.js';
export { TINY_HEAD_ROLE_MASSES, writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';
export {
  LLAVA_HF_MAX_SHARD_BYTES,
  REAL_SHAPE_LLAVA_NEXT_REPOS,
  REAL_SHAPE_LLAVA_NEXT_SIZES,
  REAL_SHAPE_LLAVA_REPOS,
  REAL_SHAPE_LLAVA_SIZES,
  realShapeLlavaConfigJson,
  realShapeLlavaTensors,
  writeRealShapeLlavaCheckpoint,
} from './real-shape-checkpoint.js';
export type { RealShapeLlavaCheckpoint, RealShapeLlavaCheckpointOptions, RealShapeLlavaNextSize, RealShapeLlavaSize } from './real-shape-checkpoint.js';
export type { TinyHeadRole, TinyLlavaCheckpoint, TinyLlavaCheckpointOptions } from './tiny-checkpoint.js';
export { LLAVA_HF_CHAT_TEMPLATE } from './tokenizer-fixture.js';
