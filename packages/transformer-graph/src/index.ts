export { DECODER_CONFIG_LIMITS, DecoderConfigError, decoderWeightShapes, validateDecoderConfig } from './decoder-config.js';
export type { DecoderConfig, RopeConfig } from './decoder-config.js';
export { DECODER_IO, buildDecoderGraph, buildEmbeddingGraph } from './decoder-graph.js';
export type { DecoderAttention, DecoderGraphOptions } from './decoder-graph.js';
export { referenceDecoderStep } from './reference-decoder.js';
export { referenceLayerNorm, referenceLinear } from './reference-ops.js';
export type { ReferenceDecoderStep, ReferenceDecoderStepOptions } from './reference-decoder.js';
export { interventionFeeds, interventionReferences, validateInterventionRow } from './intervention.js';
export type {
  AnyIntervention,
  AttentionIntervention,
  InterventionGraph,
  InterventionGraphContext,
  InterventionLayerGraph,
  InterventionLayerReference,
  InterventionModel,
  InterventionName,
  InterventionReference,
  InterventionRow,
  InterventionSettingsMap,
  InterventionStep,
} from './intervention.js';
export { emitApplyRotary, emitRotaryTables, inverseFrequencies, mropeComponents } from './rope.js';
export { WeightStore } from './weight-store.js';
export type { LinearWeight, WeightQuantOptions } from './weight-store.js';
export { emitEmbeddingLookup, emitLinear } from './linear.js';
export { assertQuantScheme, canQuantize, dequantizeBlockwise, quantBlocks, quantizeBlockwise } from './quantize.js';
export type { QuantScheme, QuantizedMatrix } from './quantize.js';
export { WeightMismatchError, assertDecoderWeights, assertWeights, checkpointWeightSource, memoryWeightSource, readWeight } from './weights.js';
export type { WeightNaming, WeightSource } from './weights.js';
export { randomDecoderWeights } from './random-weights.js';
export { MethodCompositionError, composeMethods, mergeMethodRows } from './method.js';
export type { AttentionMethod, ContrastSettings, MethodRow } from './method.js';
