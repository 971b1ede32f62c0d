import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VisionLanguageModel } from '@vasink/runtime';
import { convertTinyModel, loadTinyModel, testImageDataUrl, throttledModel } from './__fixtures__/tiny-model.js';
import type { RequestLogEntry } from './request-log.js';
import { type VasinkServer, createVasinkServer, startServer } from './server.js';
import type { VasinkServerOptions } from './server-options.js';

// Auth, CORS, back-pressure, loading, timeouts, disconnects and draining, on
// the tiny LLaVA model (loaded once, shared by short-lived servers).
let converted: Awaited<ReturnType<typeof convertTinyModel>>;
let model: VisionLanguageModel;
let image: string;
const servers: VasinkServer[] = [];

beforeAll(async () => {
  converted = await convertTinyModel();
  model = await loadTinyModel(converted.dir);
  image = await testImageDataUrl();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await model?.close();
  await converted?.cleanup();
});

interface Control {
  gate?: Promise<void>;
  delayMs?: number;
}

/** A server on a free loopback port over the shared model (throttled as `control` says). */
async function serve(options: Partial<VasinkServerOptions> = {}, control: Control = {}) {
  const server = createVasinkServer({
    model: converted.dir,
    loadModel: async () => Object.assign(throttledModel(model, control), { close: async () => {} }),
    port: 0,
    ...options,
  });
  servers.push(server);
  const { url } = await server.listen();
  await server.ready.catch(() => {});
  return { server, url, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 30_000 }) };
}

function ask(extra: Record<string, unknown> = {}): ChatCompletionCreateParamsNonStreaming {
  return {
    model: 'tiny-llava',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: 'What is in the image?' }] }],
    max_tokens: 8,
    temperature: 0,
    ...extra,
  } as ChatCompletionCreateParamsNonStreaming;
}

async function failure(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string | null | undefined; headers?: Headers | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status, code: error.code, headers: error.headers };
    throw error;
  }
  throw new Error('the request succeeded');
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function queueState(url: string): Promise<{ active: number; waiting: number }> {
  return ((await (await fetch(`${url}/health`)).json()) as { queue: { active: number; waiting: number } }).queue;
}

describe('API keys and CORS', () => {
  it('401 without a valid Bearer key when keys are set; health stays open', async () => {
    const { url } = await serve({ apiKeys: ['secret-1', 'secret-2'], corsOrigins: ['http://app.test'] });
    const wrong = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'secret-3', maxRetries: 0 });
    expect(await failure(wrong.chat.completions.create(ask()))).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const bare = await fetch(`${url}/v1/models`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer');
    expect(await bare.json()).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });
    const right = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'secret-2', maxRetries: 0 });
    expect((await right.models.list()).data[0]!.id).toBe('tiny-llava');
    expect((await right.chat.completions.create(ask({ max_tokens: 2 }))).choices).toHaveLength(1);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ auth: true });
  });

  it('answers CORS only for configured origins', async () => {
    const { url } = await serve({ corsOrigins: ['http://app.test'] });
    const preflight = await fetch(`${url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.test');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await fetch(`${url}/v1/models`, { headers: { origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const { url: plain } = await serve();
    const none = await fetch(`${plain}/v1/models`, { headers: { origin: 'http://app.test' } });
    expect(none.status).toBe(200);
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('back-pressure', () => {
  it('429 once the running slots and the queue are full; queued requests then finish', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { url, client } = await serve({ concurrency: 1, maxQueue: 1 }, { gate });
    const running = client.chat.completions.create(ask());
    await until(async () => (await queueState(url)).active === 1, 'the first request to run');
    const queued = client.chat.completions.create(ask());
    await until(async () => (await queueState(url)).waiting === 1, 'the second request to queue');
    const refused = await failure(client.chat.completions.create(ask()));
    expect(refused).toMatchObject({ status: 429, code: 'queue_full' });
    expect(refused.headers?.get('retry-after')).toBe('1');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^vasink_queue_depth 1$/m);
    expect(metrics).toMatch(/^vasink_active_requests 1$/m);
    expect(metrics).toMatch(/^vasink_queue_rejections_total 1$/m);
    open();
    const [a, b] = await Promise.all([running, queued]);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(await queueState(url)).toEqual(expect.objectContaining({ active: 0, waiting: 0 }));
  });
});

describe('loading', () => {
  it('503 while the model loads; ready afterwards', async () => {
    let loaded!: () => void;
    const loading = new Promise<void>((resolve) => (loaded = resolve));
    const server = createVasinkServer({
      model: converted.dir,
      port: 0,
      loadModel: async () => {
        await loading;
        return { ...throttledModel(model, {}), close: async () => {} };
      },
    });
    servers.push(server);
    const { url } = await server.listen();
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'loading' });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    expect(await failure(client.chat.completions.create(ask()))).toMatchObject({ status: 503, code: 'model_loading' });
    loaded();
    await server.ready;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await client.chat.completions.create(ask({ max_tokens: 2 }))).choices).toHaveLength(1);
  });
});

describe('model problems', () => {
  it('503 when the model failed to load; a managed process exits 1', async () => {
    const broken = async (): Promise<never> => {
      throw new Error('no such model');
    };
    const { server, url, client } = await serve({ loadModel: broken });
    await expect(server.ready).rejects.toThrow('no such model');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'failed', error: 'no such model' });
    expect(await failure(client.chat.completions.create(ask()))).toMatchObject({ status: 503, code: 'model_unavailable' });

    const exits: number[] = [];
    const managed = await startServer({ model: converted.dir, port: 0, loadModel: broken, exit: (code) => exits.push(code) });
    servers.push(managed);
    await until(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([1]);
    expect(managed.state).toBe('closed');
  });

  it('400 var_unavailable for VAR on a model without sink dimensions, before any stream opens', async () => {
    const { url, client } = await serve({ loadModel: async () => ({ ...throttledModel(model, {}), sinkDims: null, close: async () => {} }) });
    const stream = client.chat.completions.create({ ...ask({ var: { preset: 'general' } }), stream: true } as ChatCompletionCreateParamsStreaming);
    expect(await failure(stream)).toMatchObject({ status: 400, code: 'var_unavailable' });
    expect((await client.chat.completions.create(ask({ var: false, max_tokens: 2 }))).choices).toHaveLength(1);
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok' });
  });
});

describe('timeouts and disconnects', () => {
  it('504 when a request runs past its timeout, in JSON and inside a stream', async () => {
    // 40 tokens × 200 ms ≫ the 3 s timeout, and 3 s leaves room for the prefill before the first
    // chunk even on a loaded 2-core machine (else the stream would fail before it opens).
    const { url, client } = await serve({ requestTimeoutMs: 3000 }, { delayMs: 200 });
    expect(await failure(client.chat.completions.create(ask({ max_tokens: 40 })))).toMatchObject({ status: 504, code: 'request_timeout' });
    const stream = await client.chat.completions.create({ ...ask({ max_tokens: 40 }), stream: true } as ChatCompletionCreateParamsStreaming);
    const received: ChatCompletionChunk[] = [];
    const streamFailure = await failure((async () => {
      for await (const chunk of stream) received.push(chunk);
    })());
    expect(streamFailure.code).toBe('request_timeout');
    expect(received.length).toBeGreaterThan(0);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^vasink_request_timeouts_total 2$/m);
  });

  it('stops the generation when the client disconnects', async () => {
    const log: RequestLogEntry[] = [];
    const { url, client } = await serve({ onRequest: (entry) => log.push(entry) }, { delayMs: 40 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ ...ask({ max_tokens: 60 }), stream: true } as ChatCompletionCreateParamsStreaming, { signal: controller.signal });
    let chunks = 0;
    try {
      for await (const _ of stream) if (++chunks === 3) controller.abort();
    } catch {
      // The client may report the abort as an error or as the stream's end.
    }
    expect(chunks).toBe(3);
    await until(() => log.length === 1, 'the request to end');
    expect(log[0]).toMatchObject({ status: 499, outcome: 'disconnect', stream: true });
    expect(log[0]!.completionTokens).toBeLessThan(20);
    expect(await queueState(url)).toEqual(expect.objectContaining({ active: 0, waiting: 0 }));
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^vasink_client_disconnects_total 1$/m);
    // The request's row left the decoder batch.
    await until(async () => /^vasink_batch_rows 0$/m.test(await (await fetch(`${url}/metrics`)).text()), 'the row to leave the batch');
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^vasink_decode_steps [1-9]/m);
  });
});

describe('bounded preparation', () => {
  it('a 3 MB prompt is refused from its length before it is tokenized; /health answers meanwhile', async () => {
    const { url } = await serve();
    const huge = 'describe the picture in every detail '.repeat(85_000); // ≈ 3.1 MB
    const body = JSON.stringify({ ...ask(), messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: huge }] }] });
    const refused = fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const started = performance.now();
    const health = await fetch(`${url}/health`);
    const healthMs = performance.now() - started;
    const answer = await refused;
    expect(answer.status).toBe(400);
    const error = ((await answer.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toMatch(/the messages hold \d+ characters, more than \d+ tokens can cover/);
    expect(health.status).toBe(200);
    expect(healthMs, '/health while the big prompt is refused').toBeLessThan(1000);
  });

  it('a prompt within the character bound but over the token limit is counted in slices and refused early', async () => {
    const { url } = await serve();
    const many = 'a b c d '.repeat(15_000); // 120,000 characters, ≈ 60,000 tokens: under the character bound, over 4096 tokens
    const body = JSON.stringify({ ...ask(), messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: many }] }] });
    const answer = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(answer.status).toBe(400);
    const error = ((await answer.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('context_length_exceeded');
    expect(error.message).toMatch(/the question alone is over \d+ tokens \(\d+ counted before stopping\)/);
    expect(Number(error.message.match(/\((\d+) counted/)![1])).toBeLessThan(10_000);
  });
});

describe('slow uploads', () => {
  it('bodies trickling in hold no slot: others are answered, not 429; a drain ends them at its timeout', async () => {
    const { server, url, client } = await serve({ concurrency: 1, maxQueue: 1, drainTimeoutMs: 1000 });
    const { port } = new URL(url);
    const { connect } = await import('node:net');
    // Three clients announce a 10 kB body and send 10 bytes of it: more than concurrency + maxQueue.
    const sockets = await Promise.all(
      Array.from({ length: 3 }, () =>
        new Promise<import('node:net').Socket>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1', () => {
            socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"model":`);
            resolve(socket);
          });
          socket.on('error', () => {});
        }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const answer = await client.chat.completions.create(ask({ max_tokens: 2 }));
    expect(answer.choices[0]!.message.content).toBeDefined();
    // The drain does not wait for the trickling bodies past its timeout.
    const started = performance.now();
    await server.drain();
    expect(performance.now() - started).toBeLessThan(10_000);
    for (const socket of sockets) socket.destroy();
  });
});

describe('non-streaming disconnects', () => {
  it('a client that leaves a non-streaming request is logged and counted as 499, not 200', async () => {
    const log: RequestLogEntry[] = [];
    const { url, client } = await serve({ onRequest: (entry) => log.push(entry) }, { delayMs: 40 });
    const controller = new AbortController();
    const request = client.chat.completions.create(ask({ max_tokens: 60 }), { signal: controller.signal }).catch(() => undefined);
    await until(async () => (await queueState(url)).active === 1, 'the request to run');
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    await request;
    const chats = () => log.filter((entry) => entry.path === '/v1/chat/completions');
    await until(() => chats().length === 1, 'the request to end');
    expect(chats()[0]).toMatchObject({ status: 499, outcome: 'disconnect', stream: false });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^vasink_requests_total\{endpoint="\/v1\/chat\/completions",status="499"\} 1$/m);
    expect(metrics).not.toMatch(/^vasink_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\}/m);
  });
});

describe('draining', () => {
  it('SIGTERM: in-flight requests finish, new ones get 503, then exit 0', async () => {
    const exits: number[] = [];
    const server = await startServer({
      model: converted.dir,
      loadModel: async () => ({ ...throttledModel(model, { delayMs: 40 }), close: async () => {} }),
      port: 0,
      exit: (code) => exits.push(code),
    });
    servers.push(server);
    await server.ready;
    const { url } = server.address()!;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({ ...ask({ max_tokens: 24 }), stream: true } as ChatCompletionCreateParamsStreaming);
    const chunks: ChatCompletionChunk[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    chunks.push((await iterator.next()).value as ChatCompletionChunk);

    process.kill(process.pid, 'SIGTERM');
    await until(() => server.state === 'draining', 'the drain to start');
    expect(await failure(client.chat.completions.create(ask()))).toMatchObject({ status: 503, code: 'server_draining' });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'draining' });

    for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
    expect(chunks.some((c) => c.choices[0]?.finish_reason)).toBe(true);

    await until(() => exits.length > 0, 'the exit');
    expect(exits).toEqual([0]);
    expect(server.state).toBe('closed');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(process.listeners('SIGTERM')).toHaveLength(0);
  });
});
