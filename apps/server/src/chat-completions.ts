import type { ServerResponse } from 'node:http';
import { type FinishReason, type PreparedRequest, type RowSettings, methodRow } from '@vasink/runtime';
import { DEFAULT_VAR_PRESET } from '@vasink/var';
import { ApiError, invalidRequest, toApiError } from './api-error.js';
import { type ChatRequest, type Conversation, parseChatRequest } from './chat-request.js';
import { SseWriter, sendJson } from './http-io.js';
import { loadImages } from './image-input.js';
import type { ReleaseSlot } from './request-queue.js';
import type { RequestScope, ServerContext } from './request-scope.js';
import type { VarEcho } from './var-field.js';

/** OpenAI's `finish_reason` for the runtime's. */
function finishReasonOf(reason: Exclude<FinishReason, 'abort'>): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

/** Wait for a slot, recording the wait (and 429s) in the metrics and the log. */
export async function acquireSlot(ctx: ServerContext, scope: RequestScope): Promise<ReleaseSlot> {
  const started = performance.now();
  try {
    const release = await ctx.queue.acquire(scope.signal);
    const waited = performance.now() - started;
    scope.log.queueMs = waited;
    ctx.metrics.queueWait.observe(waited / 1000);
    return release;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'queue_full') ctx.metrics.queueRejections.inc();
    throw error;
  }
}

/** 404 unless `model` is absent or the served model's name. */
export function checkModelName(ctx: ServerContext, model: string | undefined): void {
  if (model !== undefined && model !== ctx.options.modelName) {
    throw new ApiError(404, 'model_not_found', `The model \`${model}\` does not exist; this server serves \`${ctx.options.modelName}\``, { param: 'model', type: 'invalid_request_error' });
  }
}

/** 400 when VAR is asked of a model whose sink dimensions are unknown (before any stream opens). */
export function checkVarAvailable(ctx: ServerContext, wanted: boolean): void {
  if (wanted && !ctx.model.sinkDims) {
    throw invalidRequest(
      'var_unavailable',
      `VAR needs the sink dimensions of this model, which are unknown (backbone ${ctx.model.manifest.sink.backbone ?? 'unknown'}); the operator can find them with \`vasink find-sink-dims\` and pass them to the server, or send var: false`,
      'var',
    );
  }
}

/** The conversation's text alone over the prompt limit: refuse before queueing and running vision. */
export async function checkQuestionLength(ctx: ServerContext, conversation: Conversation): Promise<void> {
  const limit = promptLimit(ctx);
  const texts = [conversation.system ?? '', ...conversation.history.map((turn) => turn.text), conversation.question];
  // Before tokenizing: a text longer than `limit` of the longest tokens (2× margin for normalizers)
  // cannot fit — refused in O(1) whatever its size.
  const characters = texts.reduce((n, text) => n + text.length, 0);
  const mostCharacters = limit * 2 * ctx.model.tokenizer.maxTokenLength;
  if (characters > mostCharacters) {
    throw contextLengthError(`the messages hold ${characters} characters, more than ${limit} tokens can cover (at most ${mostCharacters} characters with this tokenizer)`);
  }
  // Then count in slices, yielding to the event loop between them and stopping once over the limit:
  // tokenizing is synchronous, and a long text must not hold /health and the other clients.
  let tokens = 0;
  for (const text of texts) {
    for (let start = 0; start < text.length; ) {
      const end = sliceEnd(text, start, TOKENIZE_SLICE_CHARACTERS);
      tokens += ctx.model.tokenizer.encode(text.slice(start, end), { addSpecialTokens: false }).length;
      start = end;
      if (tokens > limit) break;
      if (start < text.length) await new Promise((resolve) => setImmediate(resolve));
    }
    if (tokens > limit) break;
  }
  const what = conversation.history.length > 0 || conversation.system ? 'the conversation' : 'the question';
  if (tokens > limit) throw contextLengthError(`${what} alone is over ${limit} tokens (${tokens} counted before stopping); prompts may have at most ${limit}`);
}

/** Characters tokenized between two turns of the event loop (a few ms of work). */
const TOKENIZE_SLICE_CHARACTERS = 4096;

/** End of a slice of about `size` characters from `start`, moved back to a space when one is near (words stay whole). */
function sliceEnd(text: string, start: number, size: number): number {
  const end = start + size;
  if (end >= text.length) return text.length;
  const space = text.lastIndexOf(' ', end);
  return space > start + size / 2 ? space : end;
}

function promptLimit(ctx: ServerContext): number {
  return Math.min(ctx.options.limits.maxPromptTokens, ctx.contextLength - 1);
}

function contextLengthError(message: string): ApiError {
  return invalidRequest('context_length_exceeded', message, 'messages');
}

/** Decode the images and prepare the prompt (vision runs here), then check the prompt against the limits. */
export async function prepareRequest(ctx: ServerContext, scope: RequestScope, conversation: Conversation): Promise<PreparedRequest> {
  const { limits, imageDir, template } = ctx.options;
  const decoded = await loadImages(conversation.images, { maxPixels: limits.maxImagePixels, imageDir, maxFileBytes: limits.maxBodyBytes });
  scope.throwIfAborted();
  const prepared = await ctx.model.prepare({
    question: conversation.question,
    images: decoded,
    template,
    history: conversation.history,
    ...(conversation.system !== undefined ? { system: conversation.system } : {}),
  });
  scope.throwIfAborted();
  const promptTokens = prepared.prompt.inputIds.length;
  scope.log.promptTokens = promptTokens;
  const limit = promptLimit(ctx);
  if (promptTokens > limit) {
    throw contextLengthError(`the prompt is ${promptTokens} tokens with its images; this server allows at most ${limit}`);
  }
  return prepared;
}

/** Tokens to generate: the request's (checked against the context) or the default (capped by it). */
function tokenBudget(ctx: ServerContext, promptTokens: number, requested: number | undefined): number {
  const room = ctx.contextLength - promptTokens;
  if (requested === undefined) return Math.max(1, Math.min(ctx.options.limits.defaultMaxTokens, room));
  if (requested > room) {
    throw contextLengthError(
      `This model's maximum context length is ${ctx.contextLength} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`,
    );
  }
  return requested;
}

/** What one answer (rows of one generation) is for. */
interface AnswerPlan {
  id: string;
  /** One per choice, in order: the row's methods and their settings (`{}` = baseline). */
  rows: readonly RowSettings[];
  /** Echoed as `method`: the spec of the request's method row (absent when the request named none). */
  method?: string;
  /** Echoed per choice. */
  echoes: readonly (VarEcho | false)[];
  /** Echoed at the top level (the VAR settings the request asked for). */
  varEcho: VarEcho | false;
}

/**
 * `POST /v1/chat/completions`: one choice, VAR as the request's `var` field
 * says (else the server's default).
 */
export async function handleChatCompletion(ctx: ServerContext, scope: RequestScope, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const chat = parseChatRequest(body, { maxImages: ctx.options.limits.maxImages, maxTokens: ctx.options.limits.maxTokens, defaultVar: ctx.options.defaultVar });
  const row = requestRow(ctx, chat);
  await answer(ctx, scope, chat, res, {
    id: scope.id,
    rows: [row],
    ...(chat.methods ? { method: methodSpec(chat.methods) } : {}),
    echoes: [row.var ? chat.var.echo : false],
    varEcho: row.var ? chat.var.echo : false,
  });
}

/** The row a request asks for: its `method` with defaults (VAR from its `var` field), else `var` alone. */
function requestRow(ctx: ServerContext, chat: ChatRequest): RowSettings {
  if (!chat.methods) return chat.var.config ? { var: chat.var.config } : {};
  const decoder = ctx.model.manifest.decoder;
  const model = { numLayers: decoder.numLayers, numHeads: decoder.numHeads, hiddenSize: decoder.hiddenSize, sinkDims: ctx.model.sinkDims ?? [], sinkStartLayer: ctx.model.manifest.sink.startLayer };
  const row = methodRow(chat.methods, model);
  // VAR's settings come from the request's `var` object (or the server's default preset).
  return row.var ? { ...row, var: chat.var.config ?? row.var } : row;
}

function methodSpec(methods: readonly { name: string }[]): string {
  return methods.length === 0 ? 'none' : methods.map((m) => m.name).join('+');
}

/**
 * `POST /v1/var/compare`: the same body as chat completions, answered twice
 * in one generation — choice 0 without VAR, choice 1 with the request's VAR
 * settings (default preset when absent); the image features are computed once.
 */
export async function handleVarCompare(ctx: ServerContext, scope: RequestScope, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const withMethod = body.method !== undefined && body.method !== null;
  const chat = parseChatRequest({ ...body, var: body.var ?? (withMethod ? undefined : true) }, { maxImages: ctx.options.limits.maxImages, maxTokens: ctx.options.limits.maxTokens, defaultVar: withMethod ? { preset: DEFAULT_VAR_PRESET } : false });
  const row = requestRow(ctx, chat);
  if (Object.keys(row).length === 0) throw invalidRequest(withMethod ? 'invalid_method' : 'invalid_var', 'compare answers without and with a method: var must not be false, method not none', withMethod ? 'method' : 'var');
  await answer(ctx, scope, chat, res, {
    id: scope.id,
    rows: [{}, row],
    ...(chat.methods ? { method: methodSpec(chat.methods) } : {}),
    echoes: [false, row.var ? chat.var.echo : false],
    varEcho: row.var ? chat.var.echo : false,
  });
}

async function answer(ctx: ServerContext, scope: RequestScope, chat: ChatRequest, res: ServerResponse, plan: AnswerPlan): Promise<void> {
  checkModelName(ctx, chat.model);
  checkVarAvailable(ctx, plan.rows.some((row) => row.var !== undefined));
  await checkQuestionLength(ctx, chat);
  scope.log.stream = chat.stream;
  scope.log.var = plan.rows.some((row) => row.var !== undefined);
  const release = await acquireSlot(ctx, scope);
  try {
    const prepared = await prepareRequest(ctx, scope, chat);
    const promptTokens = prepared.prompt.inputIds.length;
    const maxNewTokens = tokenBudget(ctx, promptTokens, chat.maxTokens);
    const events = ctx.model.generate(prepared, {
      rows: plan.rows,
      maxNewTokens,
      sampling: chat.sampling,
      stopStrings: chat.stop,
      signal: scope.signal,
      // The answer carries text only (`logprobs` is refused as unsupported): skip the per-token log-softmax and top-k.
      topLogits: 0,
      logProbs: false,
    });
    const created = Math.floor(Date.now() / 1000);
    const base = { id: plan.id, created, model: ctx.options.modelName, system_fingerprint: `vasink-${ctx.model.device}` };
    const texts = plan.rows.map(() => '');
    const finishes: ('stop' | 'length' | undefined)[] = plan.rows.map(() => undefined);
    let completionTokens = 0;
    // A stream opens with the first token, so that failures of the prefill still get their HTTP status.
    let sse: SseWriter | undefined;
    const openStream = async (): Promise<SseWriter> => {
      if (sse) return sse;
      sse = new SseWriter(res);
      sse.open({ 'x-request-id': plan.id });
      for (const [index, echo] of plan.echoes.entries()) {
        await sse.send({ ...base, object: 'chat.completion.chunk', choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], var: echo });
      }
      return sse;
    };
    try {
      for await (const event of events) {
        if (event.kind === 'token') {
          completionTokens++;
          ctx.metrics.completionTokens.inc();
          ctx.metrics.tokenRate.add(1);
          if (completionTokens === 1) ctx.metrics.timeToFirstToken.observe(scope.elapsedMs() / 1000);
        }
        texts[event.row] += event.text;
        const finish = event.done && event.done !== 'abort' ? finishReasonOf(event.done) : null;
        if (finish) finishes[event.row] = finish;
        if (chat.stream && !scope.cause && (event.text || finish)) {
          await (await openStream()).send({
            ...base,
            object: 'chat.completion.chunk',
            choices: [{ index: event.row, delta: event.text ? { content: event.text } : {}, logprobs: null, finish_reason: finish }],
          });
        }
      }
      scope.throwIfAborted(); // a disconnect, the timeout or a shutdown stopped the rows
    } catch (error) {
      scope.log.completionTokens = completionTokens;
      if (!sse) throw error;
      // Headers are out: report the error in the stream, as OpenAI does.
      const apiError = toApiError(scope.cause ? scope.signal.reason : error);
      scope.log.error = apiError.code;
      scope.log.outcome = scope.cause === 'timeout' ? 'timeout' : scope.cause === 'disconnect' ? 'disconnect' : 'error';
      if (apiError.status >= 500 && !scope.cause) scope.failure = error;
      await sse.send(apiError.toJSON());
      sse.end();
      return;
    }
    scope.log.completionTokens = completionTokens;
    ctx.metrics.promptTokens.inc({}, promptTokens);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    scope.log.outcome = finishes.every((f) => f === 'length') ? 'length' : 'stop';
    const timings = { queue_ms: Math.round(scope.log.queueMs ?? 0), vision_ms: Math.round(prepared.visionMs), total_ms: Math.round(scope.elapsedMs()), seed: chat.seed };
    if (chat.stream) {
      const stream = await openStream();
      await stream.send({ ...base, object: 'chat.completion.chunk', choices: [], usage, var: plan.varEcho, ...(plan.method ? { method: plan.method } : {}), vasink: timings });
      await stream.send('[DONE]');
      stream.end();
      return;
    }
    sendJson(
      res,
      200,
      {
        ...base,
        object: 'chat.completion',
        choices: plan.rows.map((_, index) => ({
          index,
          message: { role: 'assistant', content: texts[index], refusal: null },
          logprobs: null,
          finish_reason: finishes[index] ?? 'stop',
          ...(plan.rows.length > 1 ? { var: plan.echoes[index] } : {}),
        })),
        usage,
        var: plan.varEcho,
        ...(plan.method ? { method: plan.method } : {}),
        vasink: timings,
      },
      { 'x-request-id': plan.id },
    );
  } finally {
    release();
  }
}
