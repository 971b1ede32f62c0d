import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MODEL_FAMILIES } from '@vasink/models';
import { VisionLanguageModel } from '@vasink/runtime';
import { ApiError, toApiError } from './api-error.js';
import { handleChatCompletion, handleVarCompare } from './chat-completions.js';
import { createBodyBudget, parseJsonObject, readBody, sendError, sendJson } from './http-io.js';
import { ServerMetrics } from './metrics.js';
import { playgroundHtml } from './playground.js';
import { queueFullError, RequestQueue } from './request-queue.js';
import { RequestScope, type ServerContext } from './request-scope.js';
import type { ServedModel } from './served-model.js';
import { type ResolvedServerOptions, type VasinkServerOptions, resolveServerOptions } from './server-options.js';
import { handleVarInspect } from './var-inspect.js';

/** Where the server life is: `idle` before `listen`, `failed` when the model did not load. */
export type ServerState = 'idle' | 'loading' | 'ready' | 'failed' | 'draining' | 'closed';

/** The bound address. */
export interface ServerAddress {
  host: string;
  port: number;
  /** `http://host:port` (IPv6 hosts in brackets). */
  url: string;
}

/** A vasink HTTP server (see {@link createVasinkServer}). */
export interface VasinkServer {
  /** The underlying `node:http` server. */
  readonly httpServer: Server;
  readonly state: ServerState;
  /** The options in effect, defaults applied. */
  readonly options: ResolvedServerOptions;
  /** The loaded model, once `ready`. */
  readonly model: ServedModel | undefined;
  /** Resolves when the model is loaded, rejects with the load error. Started by `listen`. */
  readonly ready: Promise<void>;
  /** Bind (port 0 picks a free port) and start loading the model; `/health` answers 503 until it is loaded. */
  listen(): Promise<ServerAddress>;
  /** The bound address, once listening. */
  address(): ServerAddress | undefined;
  /**
   * Graceful stop (what SIGTERM does): new requests get 503, accepted ones
   * (running or queued) finish — those still running after `drainTimeoutMs`
   * are aborted — then the port is closed and the model released.
   */
  drain(): Promise<void>;
  /** Immediate stop: abort every request, close connections, release the model. */
  close(): Promise<void>;
}

/** Bodies that may be arriving at once per slot or queue place (each holds only the bytes it sent). */
const MAX_READERS_PER_SLOT = 4;

/** Routes and the endpoint label each gets in the metrics. */
const ROUTES: Record<string, { methods: readonly string[]; model?: boolean; auth?: boolean }> = {
  '/': { methods: ['GET', 'HEAD'] },
  '/health': { methods: ['GET', 'HEAD'] },
  '/metrics': { methods: ['GET', 'HEAD'] },
  '/v1/models': { methods: ['GET'], auth: true },
  '/v1/chat/completions': { methods: ['POST'], model: true, auth: true },
  '/v1/var/compare': { methods: ['POST'], model: true, auth: true },
  '/v1/var/inspect': { methods: ['POST'], model: true, auth: true },
};

const MODEL_HANDLERS = {
  '/v1/chat/completions': { prefix: 'chatcmpl', handle: handleChatCompletion },
  '/v1/var/compare': { prefix: 'chatcmpl', handle: handleVarCompare },
  '/v1/var/inspect': { prefix: 'inspect', handle: handleVarInspect },
} as const;

function routeOf(path: string): string | undefined {
  if (ROUTES[path]) return path;
  if (path.startsWith('/v1/models/')) return '/v1/models';
  return undefined;
}

/** One request after routing. */
interface Routed {
  path: string;
  method: string;
  routeName: string | undefined;
  spec: (typeof ROUTES)[string] | undefined;
  handler: (typeof MODEL_HANDLERS)[keyof typeof MODEL_HANDLERS] | undefined;
  scope: RequestScope;
}

function newId(prefix: string): string {
  return `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * Create the server without binding it: OpenAI-compatible chat completions
 * with images, per-request VAR, VAR inspection, health, Prometheus metrics
 * and the playground page, over `node:http`. Call `listen()` to bind and
 * load the model.
 */
export function createVasinkServer(options: VasinkServerOptions): VasinkServer {
  const resolved = resolveServerOptions(options);
  const notice = options.onNotice ?? (() => {});
  let state: ServerState = 'idle';
  let model: ServedModel | undefined;
  const contextLength = resolved.contextLength;
  let loadError: unknown;
  let bound: ServerAddress | undefined;
  let readyPromise: Promise<void> | undefined;
  let drainPromise: Promise<void> | undefined;
  let openRequests = 0;
  /** Model requests past their body: waiting for a slot or holding one. */
  let admitted = 0;
  /** Model requests whose body is arriving. */
  let reading = 0;
  const bodyBudget = createBodyBudget((resolved.concurrency + resolved.maxQueue) * resolved.limits.maxBodyBytes);
  const openWaiters: (() => void)[] = [];
  const scopes = new Set<RequestScope>();
  const queue = new RequestQueue(resolved.concurrency, resolved.maxQueue);
  const metrics = new ServerMetrics({
    queueDepth: () => queue.depth,
    active: () => queue.active,
    concurrency: () => queue.concurrency,
    maxQueue: resolved.maxQueue,
    batch: () => model?.batchStats,
    ready: () => state === 'ready',
    draining: () => state === 'draining',
  });
  const keyDigests = resolved.apiKeys.map(digest);

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => notice(`internal error: ${(error as Error)?.stack ?? String(error)}`));
  });
  httpServer.requestTimeout = resolved.limits.bodyTimeoutMs;
  httpServer.headersTimeout = Math.min(resolved.limits.bodyTimeoutMs, 60_000);

  function loadModel(): Promise<ServedModel> {
    if (options.loadModel) return options.loadModel();
    return VisionLanguageModel.load(options.model!, {
      families: options.families ?? MODEL_FAMILIES,
      device: options.device ?? 'auto',
      ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
      ...(options.sinkDims ? { sinkDims: options.sinkDims } : {}),
      // The preflight provisions what the server admits: a batch of rows at the context length, prompts up to the limit.
      memory: { contextTokens: contextLength, promptTokens: resolved.limits.maxPromptTokens },
      maxBatchRows: resolved.concurrency,
      ...(resolved.batchChosen ? {} : { fitBatchRows: { min: 1 } }),
      logger: (message) => notice(message),
    });
  }

  function startLoading(): Promise<void> {
    state = 'loading';
    notice(`loading ${options.model ?? resolved.modelName}`);
    const started = performance.now();
    const promise = loadModel().then(
      async (loaded) => {
        if (state !== 'loading') {
          await loaded.close(); // drained or closed while loading
          throw new ApiError(503, 'server_draining', 'the server stopped before the model was ready');
        }
        model = loaded;
        if (loaded.maxBatchRows !== undefined && loaded.maxBatchRows < queue.concurrency) {
          notice(`batch: ${loaded.maxBatchRows} request(s) at once (${queue.concurrency} would not fit in memory at ${contextLength} tokens each)`);
          queue.resize(loaded.maxBatchRows);
        }
        state = 'ready';
        notice(`model ${resolved.modelName} (${loaded.manifest.family}) ready on ${loaded.device} in ${Math.round(performance.now() - started)} ms; batch of ${queue.concurrency}`);
      },
      (error: unknown) => {
        loadError = error;
        if (state === 'loading') state = 'failed';
        notice(`the model failed to load: ${(error as Error)?.message ?? String(error)}`);
        throw error;
      },
    );
    promise.catch(() => {}); // callers of `ready` see the rejection; nobody else must
    return promise;
  }

  function cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (!origin || resolved.corsOrigins.length === 0) return;
    const any = resolved.corsOrigins.includes('*');
    if (!any && !resolved.corsOrigins.includes(origin)) return;
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (!any) res.setHeader('vary', 'Origin');
    res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
  }

  function authorized(req: IncomingMessage): boolean {
    if (keyDigests.length === 0) return true;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const given = digest(match[1]!);
    return keyDigests.some((key) => timingSafeEqual(key, given));
  }

  function unavailable(): ApiError {
    if (state === 'draining' || state === 'closed') return new ApiError(503, 'server_draining', 'the server is shutting down and takes no new requests', { headers: { connection: 'close' } });
    if (state === 'failed') return new ApiError(503, 'model_unavailable', 'the model failed to load; see the server log');
    return new ApiError(503, 'model_loading', 'the model is still loading; retry shortly', { headers: { 'retry-after': '5' } });
  }

  /** Answer an error before the body was read: read and discard it, so the client gets the response. */
  function refuse(req: IncomingMessage, res: ServerResponse, error: ApiError): void {
    sendError(res, error);
    req.resume();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const routeName = routeOf(path);
    const spec = routeName ? ROUTES[routeName] : undefined;
    const handler = routeName && routeName in MODEL_HANDLERS ? MODEL_HANDLERS[routeName as keyof typeof MODEL_HANDLERS] : undefined;
    const scope = new RequestScope(newId(handler?.prefix ?? 'req'), resolved.requestTimeoutMs);
    const endpoint = routeName ?? 'other';
    const isModelRequest = spec?.model === true && method === 'POST';
    if (isModelRequest) {
      openRequests++;
      scopes.add(scope);
    }
    const closed = new Promise<void>((resolve) =>
      res.on('close', () => {
        if (!res.writableFinished) scope.abort('disconnect');
        resolve();
      }),
    );
    try {
      await route(req, res, { path, method, routeName, spec, handler, scope });
    } catch (error) {
      scope.failure = error;
      if (!res.headersSent) sendError(res, toApiError(error));
      else res.destroy();
    } finally {
      // Account once the response is over *and* the handler has let go of its slot.
      await closed;
      scope.dispose();
      const durationMs = scope.elapsedMs();
      // A client that went away gets nothing, whatever was written after: 499 (nginx's "client closed request").
      const status = scope.cause === 'disconnect' || !res.writableFinished ? 499 : res.statusCode;
      metrics.requests.inc({ endpoint, status: String(status) });
      metrics.requestDuration.observe(durationMs / 1000, { endpoint });
      if (scope.cause === 'disconnect') {
        metrics.disconnects.inc();
        scope.log.outcome = 'disconnect';
      }
      if (scope.cause === 'timeout') metrics.timeouts.inc();
      if (scope.failure) notice(`internal error in ${scope.id}: ${(scope.failure as Error)?.stack ?? String(scope.failure)}`);
      if (isModelRequest) {
        scopes.delete(scope);
        openRequests--;
        if (openRequests === 0) for (const resolve of openWaiters.splice(0)) resolve();
      }
      options.onRequest?.({ ...scope.log, id: scope.id, method, path, status, durationMs });
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, routed: Routed): Promise<void> {
    const { path, method, routeName, spec, handler, scope } = routed;
    cors(req, res);
    if (state === 'draining' || state === 'closed') res.setHeader('connection', 'close');

    if (!spec) return refuse(req, res, new ApiError(404, 'not_found', `no route ${method} ${path}`));
    if (method === 'OPTIONS') {
      if (res.hasHeader('access-control-allow-origin')) {
        res.setHeader('access-control-allow-methods', spec.methods.join(', '));
        res.setHeader('access-control-allow-headers', 'authorization, content-type');
        res.setHeader('access-control-max-age', '600');
      }
      res.writeHead(204).end();
      req.resume();
      return;
    }
    if (!spec.methods.includes(method)) {
      return refuse(req, res, new ApiError(405, 'method_not_allowed', `${path} takes ${spec.methods.join(', ')}`, { headers: { allow: spec.methods.join(', ') } }));
    }
    if (spec.auth && !authorized(req)) {
      return refuse(req, res, new ApiError(401, 'invalid_api_key', 'a valid API key is required: send Authorization: Bearer <key>', { headers: { 'www-authenticate': 'Bearer' } }));
    }

    if (routeName === '/health') {
      const ready = state === 'ready';
      const body = {
        status: state === 'ready' ? 'ok' : state,
        model: resolved.modelName,
        ...(model ? { family: model.manifest.family, device: model.device } : {}),
        ...(state === 'failed' ? { error: (loadError as Error)?.message ?? String(loadError) } : {}),
        auth: keyDigests.length > 0,
        queue: { active: queue.active, waiting: queue.depth, concurrency: queue.concurrency, capacity: queue.maxQueue },
      };
      return sendJson(res, ready ? 200 : 503, body);
    }
    if (routeName === '/metrics') {
      const text = metrics.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(method === 'HEAD' ? undefined : text);
      return;
    }
    if (routeName === '/') {
      if (!resolved.playground) return refuse(req, res, new ApiError(404, 'not_found', 'the playground is disabled on this server'));
      const html = playgroundHtml({ modelName: resolved.modelName });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
        'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'",
        'x-content-type-options': 'nosniff',
      });
      res.end(method === 'HEAD' ? undefined : html);
      return;
    }
    if (routeName === '/v1/models') {
      const entry = { id: resolved.modelName, object: 'model', created: 0, owned_by: 'vasink' };
      if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [entry] });
      const raw = path.slice('/v1/models/'.length);
      let id = raw;
      try {
        id = decodeURIComponent(raw);
      } catch {
        // A malformed escape (`%`, `%zz`) names no model: the same 404 as any unknown id.
      }
      if (id === resolved.modelName) return sendJson(res, 200, entry);
      return sendJson(res, 404, new ApiError(404, 'model_not_found', `The model \`${id}\` does not exist`, { param: 'model', type: 'invalid_request_error' }).toJSON());
    }

    // Model endpoints.
    if (state !== 'ready' || !model || !handler) return refuse(req, res, unavailable());
    if (reading >= MAX_READERS_PER_SLOT * (queue.concurrency + queue.maxQueue) || admitted >= queue.concurrency + queue.maxQueue) {
      // Back-pressure before reading a body: the queue is full, or too many bodies are arriving at once.
      metrics.queueRejections.inc();
      return refuse(req, res, queueFullError(queue.concurrency, queue.maxQueue));
    }
    const ctx: ServerContext = { options: resolved, queue, metrics, model, contextLength };
    let counted = false;
    try {
      // A body being read holds only the bytes it has sent (a shared budget), never a slot, and
      // must arrive by its deadline; a drain or shutdown ends the read.
      reading++;
      let raw: Buffer;
      try {
        raw = await readBody(req, { limit: resolved.limits.maxBodyBytes, deadlineMs: resolved.limits.bodyTimeoutMs, signal: scope.signal, budget: bodyBudget });
      } finally {
        reading--;
      }
      if (admitted >= queue.concurrency + queue.maxQueue) {
        metrics.queueRejections.inc();
        throw queueFullError(queue.concurrency, queue.maxQueue);
      }
      admitted++;
      counted = true;
      const body = parseJsonObject(raw);
      scope.throwIfAborted();
      await handler.handle(ctx, scope, body, res);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status === 500) scope.failure = error;
      scope.log.error = apiError.code;
      if (scope.cause === 'timeout') scope.log.outcome = 'timeout';
      else if (!scope.cause) scope.log.outcome = 'error';
      if (!res.headersSent && !res.destroyed) {
        sendError(res, apiError);
        // An early refusal (413) may leave body bytes unread: drop them.
        if (!req.complete) req.resume();
      } else {
        res.end();
      }
    } finally {
      if (counted) admitted--;
    }
  }

  function closeHttp(force: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (!httpServer.listening) return resolve();
      httpServer.close(() => resolve());
      httpServer.closeIdleConnections();
      if (force) httpServer.closeAllConnections();
      else setTimeout(() => httpServer.closeAllConnections(), 1000).unref();
    });
  }

  async function releaseModel(): Promise<void> {
    await readyPromise?.catch(() => {});
    const loaded = model;
    model = undefined;
    await loaded?.close();
  }

  const server: VasinkServer = {
    httpServer,
    options: resolved,
    get state() {
      return state;
    },
    get model() {
      return model;
    },
    get ready() {
      return readyPromise ?? Promise.reject(new ApiError(503, 'not_listening', 'call listen() first'));
    },
    async listen() {
      if (bound) return bound;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(resolved.port, resolved.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const info = httpServer.address() as AddressInfo;
      const host = info.address;
      bound = { host, port: info.port, url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}` };
      notice(`listening on ${bound.url}`);
      readyPromise = startLoading();
      return bound;
    },
    address: () => bound,
    drain() {
      drainPromise ??= (async () => {
        if (state === 'closed') return;
        state = 'draining';
        notice(`draining: ${openRequests} request(s) in flight`);
        const idle = new Promise<void>((resolve) => (openRequests === 0 ? resolve() : openWaiters.push(resolve)));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), resolved.drainTimeoutMs);
        });
        if ((await Promise.race([idle, timedOut])) === 'timeout') {
          notice(`drain timeout: aborting ${openRequests} request(s)`);
          for (const scope of scopes) scope.abort('shutdown');
          await idle;
        }
        clearTimeout(timer);
        await closeHttp(false);
        await releaseModel();
        state = 'closed';
        notice('stopped');
      })();
      return drainPromise;
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      for (const scope of scopes) scope.abort('shutdown');
      await closeHttp(true);
      await releaseModel();
    },
  };
  return server;
}

/** Options of {@link startServer}: the server's, plus process handling. */
export interface StartServerOptions extends VasinkServerOptions {
  /**
   * Own the process (default true): SIGTERM and SIGINT drain the server and
   * exit 0 (a second signal exits 1 at once); a model that fails to load
   * exits 1.
   */
  manageProcess?: boolean;
  /** How to exit; default `process.exit`. */
  exit?: (code: number) => void;
}

/**
 * Create the server, bind it and start loading the model (what
 * `vasink serve` runs). Resolves once listening; `await server.ready` for
 * the model.
 */
export async function startServer(options: StartServerOptions): Promise<VasinkServer> {
  const server = createVasinkServer(options);
  await server.listen();
  if (options.manageProcess ?? true) {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    const notice = options.onNotice ?? (() => {});
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        notice(`${signal} again: exiting now`);
        exit(1);
        return;
      }
      stopping = true;
      notice(`${signal}: draining`);
      server.drain().then(
        () => exit(0),
        (error: unknown) => {
          notice(`drain failed: ${(error as Error)?.message ?? String(error)}`);
          exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    server.httpServer.once('close', () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
    server.ready.catch(() => {
      if (!stopping) server.close().finally(() => exit(1));
    });
  }
  return server;
}
