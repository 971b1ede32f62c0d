import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { InvalidArgumentError } from '@vasink/tensor';
import { MissingFileError, SessionCreateError } from './errors.js';

/** Where a session should run. `auto` takes CUDA when it works, else CPU. */
export type DeviceRequest = 'cuda' | 'cpu' | 'auto';

/** Where a session does run. */
export type Device = 'cuda' | 'cpu';

/** onnxruntime graph optimisation level. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Receives the runtime's notices. `warn`: something the user asked for did not
 * happen (CUDA requested, CPU used). `info`: a choice made on the user's behalf.
 */
export type SessionLogger = (message: string, level: 'warn' | 'info') => void;

export interface CreateSessionOptions {
  device: DeviceRequest;
  /** Threads for one operator; onnxruntime's default when omitted. */
  intraOpNumThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Defaults to writing both levels to stderr (`console.warn`). */
  logger?: SessionLogger;
  /** Further onnxruntime options; the ones above take precedence. */
  sessionOptions?: InferenceSession.SessionOptions;
}

export interface CreatedSession {
  session: InferenceSession;
  device: Device;
  /** Why the session is not where it was asked to be; empty when it is. */
  warnings: string[];
}

/** The two libraries onnxruntime-node loads for the CUDA execution provider. */
export const CUDA_PROVIDER_LIBRARIES: readonly string[] = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

const defaultLogger: SessionLogger = (message, level) => {
  console.warn(level === 'warn' ? `vasink: warning: ${message}` : `vasink: ${message}`);
};

// One notice per process and level: a server creating many sessions must not repeat it.
const announced = { warn: false, info: false };

/** Forget that the CUDA fallback notice was shown (tests only). */
export function resetDeviceNoticesForTesting(): void {
  announced.warn = false;
  announced.info = false;
}

/**
 * The folder onnxruntime-node loads its native libraries from, where the CUDA
 * provider libraries must be placed. Undefined when onnxruntime-node cannot be
 * located.
 */
export function onnxruntimeBinaryDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** CUDA provider libraries missing from onnxruntime-node's binary folder (empty when all present). */
export function missingCudaProviderLibraries(binaryDir = onnxruntimeBinaryDir()): string[] {
  if (binaryDir === undefined) return [...CUDA_PROVIDER_LIBRARIES];
  return CUDA_PROVIDER_LIBRARIES.filter((name) => !existsSync(join(binaryDir, name)));
}

function fallbackMessage(reason: string): string {
  const dir = onnxruntimeBinaryDir() ?? '<onnxruntime-node>/bin/napi-v6/linux/x64';
  return (
    `CUDA execution provider unavailable, running on CPU (${reason}). ` +
    `onnxruntime-node's install script, which downloads the CUDA provider, does not run under pnpm 10. ` +
    `To use a GPU (Linux x64, CUDA 13 + cuDNN), copy ${CUDA_PROVIDER_LIBRARIES.join(' and ')} of onnxruntime 1.29.0 ` +
    `(npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, folder Plugins/Linux/x64) into ${dir}. ` +
    `See the "CUDA provider" section of the @vasink/runtime README.`
  );
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0]!.trim();
}

/** Why the CUDA provider failed, as precisely as can be told. */
function cudaFailureReason(error: unknown): string {
  const missing = missingCudaProviderLibraries();
  const detail = firstLine(error);
  return missing.length > 0 ? `${missing.join(', ')} not found; onnxruntime: ${detail}` : `onnxruntime: ${detail}`;
}

const OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

function sessionOptionsFor(options: CreateSessionOptions, providers: string[]): InferenceSession.SessionOptions {
  const result: InferenceSession.SessionOptions = { ...options.sessionOptions, executionProviders: providers };
  if (options.intraOpNumThreads !== undefined) result.intraOpNumThreads = options.intraOpNumThreads;
  if (options.graphOptimizationLevel !== undefined) result.graphOptimizationLevel = options.graphOptimizationLevel;
  return result;
}

async function open(model: string | Uint8Array, sessionOptions: InferenceSession.SessionOptions): Promise<InferenceSession> {
  // Two calls because `create` is overloaded per model type.
  return typeof model === 'string' ? InferenceSession.create(model, sessionOptions) : InferenceSession.create(model, sessionOptions);
}

function validate(model: string | Uint8Array, options: CreateSessionOptions): void {
  if (!['cuda', 'cpu', 'auto'].includes(options.device)) {
    throw new InvalidArgumentError(`device must be 'cuda', 'cpu' or 'auto', got ${JSON.stringify(options.device)}`, { device: options.device });
  }
  const threads = options.intraOpNumThreads;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 0)) {
    throw new InvalidArgumentError(`intraOpNumThreads must be a non-negative integer, got ${threads}`, { intraOpNumThreads: threads });
  }
  const level = options.graphOptimizationLevel;
  if (level !== undefined && !OPTIMIZATION_LEVELS.includes(level)) {
    throw new InvalidArgumentError(`graphOptimizationLevel must be one of ${OPTIMIZATION_LEVELS.join(', ')}, got ${JSON.stringify(level)}`, {
      graphOptimizationLevel: level,
    });
  }
  if (typeof model === 'string' && !existsSync(model)) {
    throw new MissingFileError(`ONNX model not found: ${model}`, { path: model });
  }
}

/**
 * Create an onnxruntime session on the requested device.
 *
 * `cuda` tries the CUDA execution provider (CPU as the provider for nodes CUDA
 * lacks) and, when onnxruntime cannot create it, falls back to CPU with one
 * warning per process naming the reason and the fix. `auto` does the same
 * quietly: one info notice, and no attempt at all when the provider libraries
 * are absent. `model` is a path (external data resolved beside it) or the
 * model's bytes.
 */
export async function createSession(model: string | Uint8Array, options: CreateSessionOptions): Promise<CreatedSession> {
  validate(model, options);
  const logger = options.logger ?? defaultLogger;
  const where = typeof model === 'string' ? model : `<${model.byteLength}-byte model>`;

  const openCpu = async (warnings: string[]): Promise<CreatedSession> => {
    try {
      return { session: await open(model, sessionOptionsFor(options, ['cpu'])), device: 'cpu', warnings };
    } catch (error) {
      throw new SessionCreateError(`onnxruntime could not load ${where}: ${firstLine(error)}`, { details: { model: where }, cause: error });
    }
  };

  if (options.device === 'cpu') return openCpu([]);

  const level = options.device === 'cuda' ? 'warn' : 'info';
  const fallBack = (reason: string): Promise<CreatedSession> => {
    const message = fallbackMessage(reason);
    if (!announced[level]) {
      announced[level] = true;
      logger(message, level);
    }
    return openCpu([message]);
  };

  if (options.device === 'auto') {
    // Without the provider libraries the attempt can only fail, and onnxruntime
    // would print its own error for it; skip it so `auto` stays quiet on CPU machines.
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      return fallBack(`onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}`);
    }
    const missing = missingCudaProviderLibraries();
    if (missing.length > 0) return fallBack(`${missing.join(', ')} not found`);
  }

  let session: InferenceSession;
  try {
    session = await open(model, sessionOptionsFor(options, ['cuda', 'cpu']));
  } catch (error) {
    return fallBack(cudaFailureReason(error));
  }
  return { session, device: 'cuda', warnings: [] };
}
