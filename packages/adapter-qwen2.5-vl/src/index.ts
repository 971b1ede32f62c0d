export { QWEN2_5_VL_ARCHITECTURE, isQwen25VlConfig, parseQwen25VlConfig, visionWeightShapes } from './config.js';
export type { Qwen25VlConfig, Qwen25VlVisionConfig } from './config.js';
export { inversePermutation, windowIndex } from './window-index.js';
export type { WindowGeometry } from './window-index.js';
export { VISION_IO, buildQwen25VlVisionGraph } from './vision-graph.js';
export type { Qwen25VlVisionGraphOptions } from './vision-graph.js';
export { referenceQwen25VlVision } from './vision-reference.js';
export type { ReferenceQwen25VlVisionOptions } from './vision-reference.js';
export { prepareQwen25VlImages, qwen25vlSettings, readQwen25VlVisionSettings, windowOrderedFeeds } from './prepare-images.js';
export { QWEN2_5_VL_TOWER, convertQwen25Vl, qwen25vlFamily } from './family.js';
export { QWEN2_5_VL_TINY_TOWER, writeTinyQwen25VlCheckpoint } from './tiny-checkpoint.js';
export {
  REAL_SHAPE_QWEN2_5_VL_REPOS,
  REAL_SHAPE_QWEN2_5_VL_SIZES,
  realShapeQwen25VlConfigJson,
  realShapeQwen25VlTensors,
  writeRealShapeQwen25VlCheckpoint,
} from './real-shape-checkpoint.js';
export type { RealShapeQwen25VlCheckpoint, RealShapeQwen25VlCheckpointOptions, RealShapeQwen25VlSize } from './real-shape-checkpoint.js';
