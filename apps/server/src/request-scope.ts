import { ApiError } from './api-error.js';
import type { RequestQueue } from './request-queue.js';
import type { RequestLogEntry } from './request-log.js';
import type { ResolvedServerOptions } from './server-options.js';
import type { ServedModel } from './served-model.js';
import type { ServerMetrics } from './metrics.js';

/** Why a request's work was stopped early. */
export type AbortCause = 'disconnect' | 'timeout' | 'shutdown';

/** Everything a model endpoint handler needs of the server. */
export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly queue: RequestQueue;
  readonly metrics: ServerMetrics;
  readonly model: ServedModel;
  /** Prompt plus generated tokens may not exceed this. */
  readonly contextLength: number;
}

/**
 * One request's lifetime: its id, arrival time, an abort signal that fires on
 * client disconnect, timeout or server shutdown (whichever comes first), and
 * the access-log fields the handler fills in.
 */
export class RequestScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private abortedBy: AbortCause | undefined;
  readonly arrivedAt = performance.now();
  readonly log: Partial<RequestLogEntry> = {};
  /** An unexpected error already answered inside a stream, kept for the server's log. */
  failure: unknown;

  constructor(
    readonly id: string,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.abort('timeout'), timeoutMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the signal fired; undefined while it has not. */
  get cause(): AbortCause | undefined {
    return this.abortedBy;
  }

  abort(cause: AbortCause): void {
    if (this.abortedBy) return;
    this.abortedBy = cause;
    this.controller.abort(abortError(cause, this.id));
  }

  /** Throw the abort's ApiError when the signal has fired. */
  throwIfAborted(): void {
    if (this.abortedBy) throw this.controller.signal.reason;
  }

  /** Milliseconds since arrival. */
  elapsedMs(): number {
    return performance.now() - this.arrivedAt;
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** The error answered for an abort cause (a disconnect's is never sent: nobody listens). */
export function abortError(cause: AbortCause, id: string): ApiError {
  if (cause === 'timeout') return new ApiError(504, 'request_timeout', `request ${id} ran past the server's per-request timeout`);
  if (cause === 'shutdown') return new ApiError(503, 'server_shutting_down', 'the server is shutting down');
  return new ApiError(499, 'client_disconnected', 'the client disconnected');
}
