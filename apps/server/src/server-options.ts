import { basename, resolve } from 'node:path';
import type { DeviceRequest, ModelFamily } from '@vasink/runtime';
import { InvalidArgumentError } from '@vasink/tensor';
import { type VarOptions, resolveVarConfig } from '@vasink/var';
import type { RequestLogEntry } from './request-log.js';
import type { ServedModel } from './served-model.js';

/** Limits on what one request may ask; every one is configurable (README, "Limits"). */
export interface ServerLimits {
  /** Largest request body in bytes (JSON with base64 images); larger bodies get 413. Default 32 MiB. */
  maxBodyBytes: number;
  /** Images in one request. Default 4. */
  maxImages: number;
  /** Pixels (width × height) of one decoded image, checked before decoding. Default 16,777,216 (4096²). */
  maxImagePixels: number;
  /** Prompt tokens after the images are expanded to their tokens. Default 4096 (capped by the context length). */
  maxPromptTokens: number;
  /** Largest `max_tokens` a request may ask for. Default 1024. */
  maxTokens: number;
  /** `max_tokens` when a request gives none (capped by what the context leaves). Default 256. */
  defaultMaxTokens: number;
  /** Time to receive a whole request (headers and body), ms; Node's `server.requestTimeout`. Default 60,000. */
  bodyTimeoutMs: number;
}

/** Defaults of {@link ServerLimits}. */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxBodyBytes: 32 * 1024 * 1024,
  maxImages: 4,
  maxImagePixels: 4096 * 4096,
  maxPromptTokens: 4096,
  maxTokens: 1024,
  defaultMaxTokens: 256,
  bodyTimeoutMs: 60_000,
});

/** Requests a server batches by default (fewer when memory at the served context is short). */
export const DEFAULT_MAX_BATCH = 8;

/** Options of {@link createVasinkServer} and {@link startServer}. Only `model` (or `loadModel`) is required. */
export interface VasinkServerOptions {
  /** A converted model directory (`vasink convert`). Required unless `loadModel` is given. */
  model?: string;
  /** Load the model yourself (embedding, tests); takes the place of `model`/`families`/`device`/`threads`/`sinkDims`. */
  loadModel?: () => Promise<ServedModel>;
  /** Name in `/v1/models` and the `model` requests must name. Default: the model directory's basename. */
  modelName?: string;
  /** Adapters to open the model with. Default: LLaVA and Qwen2-VL. */
  families?: readonly ModelFamily[];
  /** `auto` (default: CUDA when its provider loads, else CPU), `cuda` or `cpu`. */
  device?: DeviceRequest;
  /** onnxruntime intra-op threads; onnxruntime's default when omitted. */
  threads?: number;
  /** Override the model's sink dimensions D_sink. */
  sinkDims?: readonly number[];
  /** Prompt format: the family's evaluation format (`default`, as VAR was measured) or the checkpoint's chat template. */
  template?: 'default' | 'chat';
  /** Interface to bind. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8000. */
  port?: number;
  /** When set, `/v1/*` requires `Authorization: Bearer <one of these>`; 401 otherwise. */
  apiKeys?: readonly string[];
  /** Origins allowed by CORS (`*` for any). Default none: no CORS headers at all. */
  corsOrigins?: readonly string[];
  /** Allow `file://` image URLs for files under this directory (symlinks resolved). Default: file URLs refused. */
  imageDir?: string;
  /**
   * Requests generating at once, sharing one decoder batch (continuous
   * batching: a request joins the running batch after its prefill and
   * leaves it when done). Default {@link DEFAULT_MAX_BATCH}, lowered at load
   * to what the memory preflight allows at the served context; a value set
   * here is kept or refused.
   */
  maxBatch?: number;
  /** The former name of `maxBatch` (used when `maxBatch` is not given). */
  concurrency?: number;
  /** Requests that may wait for a slot; beyond that, 429. Default 16. */
  maxQueue?: number;
  /** Per-request limit from arrival to the last token, queueing included, ms. Default 120,000. */
  requestTimeoutMs?: number;
  /** How long a drain waits for in-flight requests before aborting them, ms. Default 30,000. */
  drainTimeoutMs?: number;
  /** VAR for requests without a `var` field: false (default, baseline) or VAR settings (`{ preset: 'general' }`). */
  defaultVar?: false | VarOptions;
  /** The model's context length when its manifest records none. Default 4096. */
  contextLength?: number;
  /** Serve the playground page at `/`. Default true. */
  playground?: boolean;
  limits?: Partial<ServerLimits>;
  /** Called once per finished request (access log). Default: nothing. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Lifecycle notices (loading, ready, draining). Default: nothing. */
  onNotice?: (message: string) => void;
}

/** Options with every default applied and checked. */
export interface ResolvedServerOptions {
  modelName: string;
  host: string;
  port: number;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  imageDir: string | undefined;
  /** Slots: requests generating (or inspecting) at once, before the load fits them to memory. */
  concurrency: number;
  /** True when the caller chose the batch size: the load refuses instead of lowering it. */
  batchChosen: boolean;
  maxQueue: number;
  requestTimeoutMs: number;
  drainTimeoutMs: number;
  defaultVar: false | VarOptions;
  contextLength: number;
  template: 'default' | 'chat';
  playground: boolean;
  limits: ServerLimits;
}

function check(condition: boolean, message: string, details: Record<string, unknown>): void {
  if (!condition) throw new InvalidArgumentError(message, details);
}

function positiveInteger(name: string, value: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  check(
    Number.isSafeInteger(value) && value >= min && value <= max,
    `${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`}, got ${String(value)}`,
    { [name]: value },
  );
  return value;
}

/** Apply defaults and check every option; throws InvalidArgumentError (or VarConfigError) naming the option. */
export function resolveServerOptions(options: VasinkServerOptions): ResolvedServerOptions {
  check(options.model !== undefined || options.loadModel !== undefined, 'give the model directory (model) or a loadModel function', {});
  const modelName = options.modelName ?? (options.model ? basename(resolve(options.model)) : 'vasink');
  check(modelName.length > 0, 'modelName must not be empty', {});
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) positiveInteger(`limits.${name}`, value as number);
  check(limits.defaultMaxTokens <= limits.maxTokens, `limits.defaultMaxTokens (${limits.defaultMaxTokens}) exceeds limits.maxTokens (${limits.maxTokens})`, {});
  const apiKeys = options.apiKeys ?? [];
  for (const key of apiKeys) check(typeof key === 'string' && key.length > 0 && !/\s/.test(key), 'API keys must be non-empty strings without spaces', {});
  const template = options.template ?? 'default';
  check(template === 'default' || template === 'chat', `template must be default or chat, got ${String(template)}`, { template });
  const defaultVar = options.defaultVar ?? false;
  if (defaultVar) resolveVarConfig(defaultVar); // fail at startup, not on the first request
  return {
    modelName,
    host: options.host ?? '127.0.0.1',
    port: positiveInteger('port', options.port ?? 8000, 0, 65535),
    apiKeys,
    corsOrigins: options.corsOrigins ?? [],
    imageDir: options.imageDir === undefined ? undefined : resolve(options.imageDir),
    concurrency: positiveInteger(options.maxBatch === undefined && options.concurrency !== undefined ? 'concurrency' : 'maxBatch', options.maxBatch ?? options.concurrency ?? DEFAULT_MAX_BATCH),
    batchChosen: options.maxBatch !== undefined || options.concurrency !== undefined,
    maxQueue: positiveInteger('maxQueue', options.maxQueue ?? 16, 0),
    requestTimeoutMs: positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? 120_000),
    drainTimeoutMs: positiveInteger('drainTimeoutMs', options.drainTimeoutMs ?? 30_000, 0),
    defaultVar,
    contextLength: positiveInteger('contextLength', options.contextLength ?? 4096),
    template,
    playground: options.playground ?? true,
    limits,
  };
}
