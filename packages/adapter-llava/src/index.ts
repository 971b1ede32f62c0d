export { LlavaConfigError, LlavaPromptError, MissingVisionTowerError, UnsupportedCheckpointError } from './errors.js';
export { LLAVA_ARCHITECTURES, llavaArchitectureOf, llavaTokensPerImage, parseLlavaConfig, visionGridSize, visionLayersUsed } from './llava-config.js';
export type {
  ClipVisionConfig,
  LlavaActivation,
  LlavaArchitecture,
  LlavaConfig,
  LlavaProjectorConfig,
  ParseLlavaConfigOptions,
} from './llava-config.js';
export { llavaLayoutNaming, readLlavaCheckpoint } from './llava-checkpoint.js';
export type { LlavaCheckpoint, LlavaLayout, ReadLlavaCheckpointOptions } from './llava-checkpoint.js';
export { assertVisionWeights, projectorLinearName, visionWeightShapes } from './vision-weights.js';
export type { VisionWeightSources } from './vision-weights.js';
export { VISION_IO, buildLlavaVisionGraph, visionWeightSource } from './vision-graph.js';
export type { LlavaVisionGraphConfig, LlavaVisionGraphOptions } from './vision-graph.js';
export { referenceLlavaVision } from './vision-reference.js';
export { randomLlavaVisionWeights } from './random-vision-weights.js';
export { CLIP_NORMALIZATION, prepareLlavaImages } from './prepare-images.js';
export type { LlavaImageSettings } from './prepare-images.js';
export { IMAGE_PLACEHOLDER, VICUNA_V1_SYSTEM, buildLlavaPrompt, chatTemplatePrompt, tokenizeLlavaPrompt, vicunaV1Prompt } from './llava-prompt.js';
export type { LlavaConversation, TokenizeLlavaPromptOptions } from './llava-prompt.js';
export { LLAVA_MODEL_FILES, ORIGINAL_IMAGE_PLACEHOLDER_ID, convertLlava, resolveLlavaSinkDims } from './convert.js';
export type { LlavaAdapterSettings } from './convert.js';
export { createLlavaFamily, llavaAdapterSettings, llavaFamily } from './llava-family.js';
export type { LlavaFamilyOptions } from './llava-family.js';
export { TINY_HEAD_ROLE_MASSES, writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';
export {
  LLAVA_HF_MAX_SHARD_BYTES,
  REAL_SHAPE_LLAVA_REPOS,
  REAL_SHAPE_LLAVA_SIZES,
  realShapeLlavaConfigJson,
  realShapeLlavaTensors,
  writeRealShapeLlavaCheckpoint,
} from './real-shape-checkpoint.js';
export type { RealShapeLlavaCheckpoint, RealShapeLlavaCheckpointOptions, RealShapeLlavaSize } from './real-shape-checkpoint.js';
export type { TinyHeadRole, TinyLlavaCheckpoint, TinyLlavaCheckpointOptions } from './tiny-checkpoint.js';
export { LLAVA_HF_CHAT_TEMPLATE } from './tokenizer-fixture.js';
