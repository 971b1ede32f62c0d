export { ChatTemplateError, Float16RangeError, GenerationError, MissingFileError, SessionCreateError, TokenizerError } from './errors.js';
export { FLOAT16_MAX, assertFloat16Range } from './float16-range.js';
export { DEFAULT_QUANT_ACCURACY_LEVEL, DEFAULT_QUANT_BLOCK_SIZE, MODEL_WEIGHTS_FILE, ModelDirectoryWriter } from './model-writer.js';
export type { ManifestContent } from './model-writer.js';
export {
  CUDA_PROVIDER_LIBRARIES,
  createSession,
  missingCudaProviderLibraries,
  onnxruntimeBinaryDir,
} from './session.js';
export type { CreateSessionOptions, CreatedSession, Device, DeviceRequest, GraphOptimizationLevel, SessionLogger } from './session.js';
export { createTokenizer, loadTokenizer } from './tokenizer.js';
export type {
  CreateTokenizerOptions,
  EncodeOptions,
  SpecialToken,
  SpecialTokens,
  TokenDecoder,
  Tokenizer,
  TokenizerConfig,
  TokenizerConfigToken,
} from './tokenizer.js';
export { renderChatTemplate } from './chat-template.js';
export type {
  ChatContentPart,
  ChatMessage,
  ChatTemplateContext,
  ChatTemplateSource,
  NamedChatTemplate,
  RenderChatTemplateOptions,
} from './chat-template.js';
export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export { argmax, createSampler, logSoftmaxAt, samplingDistribution, topKIndices, topLogits } from './sampler.js';
export type { SampleOptions, Sampler, SamplingDistribution, SamplingOptions, TokenChoice, TopLogit } from './sampler.js';
export { IncrementalDecoder } from './incremental-decoder.js';
export type { IncrementalDecoderOptions } from './incremental-decoder.js';
export { StopStringMatcher } from './stop-string-matcher.js';
export type { StopMatch } from './stop-string-matcher.js';
export { TextStreamer } from './text-streamer.js';
export type { StreamDelta, TextStreamerOptions } from './text-streamer.js';
export type { DecodeInput, DecoderStep, StepOutput } from './decoder-step.js';
export { GenerationRow, collect, generate, validateGenerateOptions } from './generate.js';
export { median, pairedRatio, rotatedOrder, timeInterleaved } from './interleaved-timing.js';
export type { InterleavedTimingOptions } from './interleaved-timing.js';
export { measureReadBandwidth } from './bandwidth-probe.js';
export type { ReadBandwidth, ReadBandwidthOptions } from './bandwidth-probe.js';
export { decodeFloor, decodeStepBytes, graphWeightBytes, kvCacheBytes } from './decode-floor.js';
export type { DecodeFloor, DecodeStepBytes, GraphWeightBytes } from './decode-floor.js';
export type { AbortEvent, FinishReason, GenerateOptions, GenerationEvent, GenerationResult, TokenEvent } from './generate.js';
export { createOnnxDecoderStep } from './onnx-decoder-step.js';
export type { OnnxDecoderStepOptions } from './onnx-decoder-step.js';
export { DecoderBatch, KV_MERGE_TOKENS, diagnosticsForRows } from './decoder-batch.js';
export type { AttentionMethod, ContrastSettings, MethodRow } from '@vasink/transformer-graph';
export { ATTENTION_INTERVENTIONS, ATTENTION_METHODS, UnknownMethodError, describeMethodRow, findMethod, methodRow, parseMethods } from './methods.js';
export type { BatchRunOutput, DecoderBatchOptions, DecoderPromptRow, VarStepDiagnostics } from './decoder-batch.js';
export { BatchScheduler, SchedulerClosedError } from './batch-scheduler.js';
export type { BatchSchedulerOptions, BatchSchedulerStats, ScheduledGenerateOptions, ScheduledPromptRow } from './batch-scheduler.js';
export { MANIFEST_FILE, ModelDirectoryError, readManifest, writeManifest } from './model-manifest.js';
export { ManifestSettings } from './manifest-settings.js';
export type { ModelManifest, WeightQuantization } from './model-manifest.js';
export { conversationMessages, layoutConversation } from './conversation.js';
export type { ChatTurn, ConversationLayout } from './conversation.js';
export { PIXEL_VALUES_FEED, checkedManifest, gridPanel } from './model-family.js';
export type {
  ConvertOptions,
  ConvertProgress,
  FamilyFixtures,
  ImagePanel,
  FixtureWriteProgress,
  ModelFamily,
  PreparedImages,
  PreparedPrompt,
  QuantOptions,
  RgbImageLike,
  WrittenFixture,
} from './model-family.js';
export { DEFAULT_MAX_BATCH_ROWS, DEFAULT_PREFLIGHT_CONTEXT_TOKENS, MissingSinkDimsError, VisionLanguageModel } from './vision-language-model.js';
export { InsufficientMemoryError, RUNTIME_OVERHEAD_BYTES, assertMemoryFits, availableMemoryBytes, describeMemoryEstimate, estimateModelMemory, fitBatchRows } from './memory-preflight.js';
export type { MemoryEstimate, MemoryEstimateOptions } from './memory-preflight.js';
export type {
  Inspection,
  LayerInspection,
  LoadVisionLanguageModelOptions,
  PreparedRequest,
  RowSettings,
  VisionLanguageGenerateOptions,
  VisionLanguageRequest,
} from './vision-language-model.js';
