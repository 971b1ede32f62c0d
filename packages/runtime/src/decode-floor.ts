import { inspectModel, readModel } from '@vasink/onnx-graph';
import { InvalidArgumentError } from '@vasink/tensor';
import type { DecoderConfig } from '@vasink/transformer-graph';
import type { Device } from './session.js';

/** The initializers of one ONNX file, as stored. */
export interface GraphWeightBytes {
  /** All initializer bytes: external data lengths as the references record them, inline data as held. */
  readonly total: number;
  /** Per element type (`float16`, `uint8` quantized codes, …). */
  readonly byDtype: Readonly<Record<string, number>>;
  /** The part stored in external data files. */
  readonly external: number;
}

/**
 * Initializer bytes of an ONNX file as stored — read from its external data
 * references (`length`), so quantized codes, float16 and float32 each count
 * what they are; the weights themselves are not read.
 */
export function graphWeightBytes(path: string): GraphWeightBytes {
  const summary = inspectModel(readModel(path));
  return { total: summary.initializerBytes, byDtype: summary.initializerBytesByDtype, external: summary.externalBytes };
}

/**
 * Bytes of one row's KV cache at `tokens` tokens of context:
 * 2 (key, value) × layers × KV heads × head dim × tokens × bytes per element.
 */
export function kvCacheBytes(config: Pick<DecoderConfig, 'numLayers' | 'numKvHeads' | 'headDim'>, dtype: 'float32' | 'float16', tokens: number): number {
  if (!(Number.isInteger(tokens) && tokens >= 0)) throw new InvalidArgumentError(`tokens must be a non-negative integer, got ${tokens}`, { tokens });
  return 2 * config.numLayers * config.numKvHeads * config.headDim * tokens * (dtype === 'float16' ? 2 : 4);
}

/** What one decode step of one row must read from memory at least. */
export interface DecodeStepBytes {
  /** Decoder initializers as stored in the model directory. */
  readonly storedWeightBytes: number;
  /**
   * Decoder initializers as the step reads them: the stored bytes, with
   * float16 counted twice on the CPU, where onnxruntime widens it to float32
   * at load (it has no fast float16 MatMul on x64).
   */
  readonly weightBytes: number;
  /** True when float16 weights are read widened. */
  readonly widened: boolean;
  /** The KV cache read at `contextTokens`. */
  readonly kvCacheBytes: number;
  readonly contextTokens: number;
  /** weightBytes + kvCacheBytes. */
  readonly total: number;
}

/**
 * Bytes one decode step reads at a context: every decoder weight once (the
 * step is a GEMV per weight matrix) plus the whole KV cache. Activations are
 * a rounding error beside them at batch 1.
 */
export function decodeStepBytes(options: {
  readonly weights: GraphWeightBytes;
  readonly device: Device;
  readonly config: Pick<DecoderConfig, 'numLayers' | 'numKvHeads' | 'headDim'>;
  /** The model's float dtype: the KV cache's element type. */
  readonly dtype: 'float32' | 'float16';
  readonly contextTokens: number;
}): DecodeStepBytes {
  const float16 = options.device === 'cpu' ? (options.weights.byDtype.float16 ?? 0) : 0;
  const weightBytes = options.weights.total + float16;
  const kv = kvCacheBytes(options.config, options.dtype, options.contextTokens);
  return {
    storedWeightBytes: options.weights.total,
    weightBytes,
    widened: float16 > 0,
    kvCacheBytes: kv,
    contextTokens: options.contextTokens,
    total: weightBytes + kv,
  };
}

/** The memory-bandwidth floor of decode: no step can be faster than reading its bytes once. */
export interface DecodeFloor {
  readonly bytesPerStep: number;
  readonly bytesPerSecond: number;
  readonly msPerStep: number;
  readonly tokensPerSecond: number;
}

/** The floor of a step reading `bytesPerStep` at `bytesPerSecond` (see `measureReadBandwidth`). */
export function decodeFloor(bytesPerStep: number, bytesPerSecond: number): DecodeFloor {
  if (!(bytesPerStep > 0 && bytesPerSecond > 0)) {
    throw new InvalidArgumentError(`bytes per step and bandwidth must be positive, got ${bytesPerStep} and ${bytesPerSecond}`, { bytesPerStep, bytesPerSecond });
  }
  const msPerStep = (bytesPerStep / bytesPerSecond) * 1000;
  return { bytesPerStep, bytesPerSecond, msPerStep, tokensPerSecond: 1000 / msPerStep };
}
