export { qwen2vlFamily } from './family.js';
export { QWEN2_VL_MODEL_FILES, QWEN2_VL_TOWER, convertQwen2Vl, convertQwenVisionLanguage, qwen2vlSinkSettings, withImagePixels } from './convert.js';
export type { QwenVisionTower } from './convert.js';
export { QWEN2_VL_SYSTEM_PROMPT, qwen2vlSettings, readQwen2VlVisionSettings, readQwenSettings } from './adapter-settings.js';
export type { Qwen2VlAdapterSettings, QwenManifest } from './adapter-settings.js';
export { QWEN2_VL_ARCHITECTURE, QWEN2_VL_TOKENS, isQwen2VlConfig, parseQwen2LanguageConfig, parseQwen2VlConfig, readCheckpointJson, readQwen2VlConfig } from './qwen2vl-config.js';
export type { Qwen2LanguageConfig, Qwen2VlConfig, Qwen2VlVisionConfig } from './qwen2vl-config.js';
export { QWEN2_VL_IMAGE_DEFAULTS, parseQwen2VlImageSettings } from './preprocessor-config.js';
export type { Qwen2VlImageSettings } from './preprocessor-config.js';
export { assertVisionWeights, decoderNaming, detectTensorLayout, visionNaming, visionWeightShapes } from './checkpoint-layout.js';
export type { Qwen2VlTensorLayout } from './checkpoint-layout.js';
export { FLOAT16_MAX, assertFloat16Range } from '@vasink/runtime';
export { Float16RangeError, Qwen2VlConfigError, Qwen2VlPromptError, UnsupportedArchitectureError } from './errors.js';
export { VISION_IO, buildVisionGraph } from './vision-graph.js';
export { VISION_ROPE_THETA, emitGroupMask, emitVisionAttention, emitVisionRotaryTables, referenceVisionAttention } from './vision-attention.js';
export type { VisionGraphOptions } from './vision-graph.js';
export { patchCount, visionPositionIds, visionSegmentIds } from './vision-inputs.js';
export type { GridThw } from './vision-inputs.js';
export { erf, referenceVisionTower } from './vision-reference.js';
export type { ReferenceVisionOptions } from './vision-reference.js';
export { mropePositionIds } from './rope-index.js';
export type { RopeIndex, RopeIndexOptions } from './rope-index.js';
export { prepareQwen2VlImages, preprocessOptions } from './prepare-images.js';
export { qwen2vlPreprocess, qwen2vlPreprocessImage } from './qwen2vl-preprocess.js';
export type { Qwen2VlPreprocessOptions, Qwen2VlPreprocessResult } from './qwen2vl-preprocess.js';
export { roundHalfToEven, smartResize } from './smart-resize.js';
export type { SmartResizeOptions } from './smart-resize.js';
export type { Qwen2VlImagesExtra } from './prepare-images.js';
export { QWEN2_VL_PROMPT_TOKENS, prepareQwen2VlPrompt, qwen2vlChatPrompt } from './prompt.js';
export {
  QWEN2_VL_MAX_SHARD_BYTES,
  REAL_SHAPE_QWEN2_VL_REPOS,
  REAL_SHAPE_QWEN2_VL_SIZES,
  realShapeQwen2LanguageTensors,
  realShapeQwenMergerTensors,
  realShapeQwen2VlConfigJson,
  realShapeQwen2VlTensors,
  writeRealShapeQwen2VlCheckpoint,
} from './real-shape-checkpoint.js';
export type { RealShapeQwen2VlCheckpoint, RealShapeQwen2VlCheckpointOptions, RealShapeQwen2VlSize } from './real-shape-checkpoint.js';
export { QWEN2_VL_CHAT_TEMPLATE, QWEN2_VL_TINY_TOWER, TINY_QWEN2_VL_SPECS, TinyWeight, craftTinyMerger, tinyQwen2VlTestImage, whiteMergeUnit, writeQwen2VlTokenizer, writeTinyQwen2VlCheckpoint } from './tiny-checkpoint.js';
export type { TinyQwen2VlCheckpoint, TinyQwen2VlCheckpointOptions, TinyQwen2VlSpec, TinyQwenTower, TinyVisionContext } from './tiny-checkpoint.js';
