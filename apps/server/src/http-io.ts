import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, invalidRequest } from './api-error.js';

/** Bytes all bodies being read may hold together: a slow upload holds what it sent, not a slot. */
export interface BodyBudget {
  /** Take `bytes`; false when the budget is spent (the request is refused with a 429). */
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/** A {@link BodyBudget} of `total` bytes. */
export function createBodyBudget(total: number): BodyBudget & { readonly held: number } {
  let held = 0;
  return {
    get held() {
      return held;
    },
    take(bytes) {
      if (held + bytes > total) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held -= bytes;
    },
  };
}

export interface ReadBodyOptions {
  /** Largest body, bytes (413 beyond). */
  limit: number;
  /** The whole body must arrive within this many ms (408 otherwise, the connection closed). */
  deadlineMs?: number;
  /** Aborts the read (drain, shutdown): the connection is closed. */
  signal?: AbortSignal;
  /** Shared byte budget of the bodies being read. */
  budget?: BodyBudget;
}

/**
 * Read a request body of at most `limit` bytes. A larger body is read to its
 * end and thrown away (so the client sees the 413 instead of a reset
 * connection), up to 4 × the limit; beyond that the socket is destroyed. A
 * body that has not arrived by the deadline, or whose read is aborted, ends
 * the connection; bytes held count against the budget until the read ends.
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions | number): Promise<Buffer> {
  const { limit, deadlineMs, signal, budget } = typeof options === 'number' ? { limit: options } : options;
  return new Promise((resolve, reject) => {
    let held = 0;
    let timer: NodeJS.Timeout | undefined;
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const fail = (error: unknown) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge && budget) {
        if (!budget.take(chunk.length)) {
          req.destroy();
          return fail(new ApiError(429, 'server_busy', 'the server is receiving too many request bodies at once; retry later', { headers: { 'retry-after': '1' } }));
        }
        held += chunk.length;
      }
      if (tooLarge) {
        chunks.length = 0;
        if (size > 4 * limit) {
          req.destroy();
          fail(bodyTooLarge(limit));
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (tooLarge) reject(bodyTooLarge(limit));
      else resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => fail(new ApiError(400, 'body_read_failed', `the request body could not be read: ${error.message}`, { cause: error }));
    const onAborted = () => fail(new ApiError(400, 'body_read_failed', 'the client closed the connection while sending the body'));
    const onSignal = () => {
      req.destroy();
      fail(signal?.reason ?? new ApiError(503, 'server_draining', 'the server is shutting down'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      signal?.removeEventListener('abort', onSignal);
      clearTimeout(timer);
      budget?.give(held);
      held = 0;
    };
    if (signal?.aborted) return onSignal();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    signal?.addEventListener('abort', onSignal, { once: true });
    if (deadlineMs !== undefined) {
      timer = setTimeout(() => {
        req.destroy();
        fail(new ApiError(408, 'body_timeout', `the request body did not arrive within ${Math.round(deadlineMs / 1000)} s`));
      }, deadlineMs);
    }
  });
}

function bodyTooLarge(limit: number): ApiError {
  return new ApiError(413, 'body_too_large', `the request body exceeds the server's limit of ${limit} bytes (images count in base64)`);
}

/** Parse a JSON object body; 400 otherwise. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw invalidRequest('invalid_json', 'the request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalidRequest('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRequest('invalid_json', 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Send a JSON response (unless the response has already started). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Send an error in OpenAI's JSON shape with its status and headers. */
export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, error.toJSON(), { ...error.headers });
}

/**
 * Server-sent events over one response. `send` waits while the socket's
 * buffer is full, so a slow reader slows its own generation down instead of
 * growing memory.
 */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  /** Write the 200 and the event-stream headers. */
  open(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  /** Whether the client can still be written to. */
  get writable(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  /** One `data:` event (JSON unless a string is given). */
  async send(data: unknown): Promise<void> {
    if (!this.writable) return;
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    if (this.res.write(`data: ${text}\n\n`)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  end(): void {
    if (this.writable) this.res.end();
  }
}
