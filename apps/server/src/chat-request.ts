import { randomInt } from 'node:crypto';
import type { ChatTurn, SamplingOptions } from '@vasink/runtime';
import type { VarOptions } from '@vasink/var';
import { invalidRequest } from './api-error.js';
import { type ImageSource, parseImageUrl } from './image-input.js';
import { type VarSelection, parseVarField } from './var-field.js';
import { type AttentionMethod, parseMethods } from '@vasink/runtime';

/** A conversation read from OpenAI `messages`: what the model is asked, in its context. */
export interface Conversation {
  /** The last user message's text parts, joined with newlines. */
  question: string;
  /** Every image of the conversation, in order (earlier user turns show the first ones). */
  images: ImageSource[];
  /** The leading system/developer messages, joined with newlines; undefined: the model's own. */
  system?: string;
  /** Earlier turns, user and assistant alternating (consecutive messages of one role merged). */
  history: ChatTurn[];
}

/** A validated `POST /v1/chat/completions` body. */
export interface ChatRequest extends Conversation {
  model: string | undefined;
  /** Undefined: the server's default (capped by what the context leaves). */
  maxTokens: number | undefined;
  sampling: SamplingOptions;
  /** The seed in use (the request's, or a random one). */
  seed: number;
  stop: string[];
  stream: boolean;
  var: VarSelection;
  /**
   * The request's `method` (`var`, `pai`, `vaf`, `vcd`, `none`, `var+vcd`): the methods its answer runs with
   * their defaults (VAR's from `var` when an object); undefined when absent (then `var` alone decides).
   */
  methods: AttentionMethod[] | undefined;
}

export interface ParseChatOptions {
  maxImages: number;
  maxTokens: number;
  defaultVar: false | VarOptions;
}

/** Parameters this server reads. */
const SUPPORTED = new Set([
  'messages', 'model', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'seed', 'stop',
  'stream', 'stream_options', 'n', 'var', 'method',
  // Accepted and checked or ignored: they do not change what a local model generates.
  'user', 'metadata', 'store', 'service_tier', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'response_format',
]);

/** OpenAI parameters this server knows and does not support yet. */
const UNSUPPORTED = new Set([
  'tools', 'tool_choice', 'functions', 'function_call', 'parallel_tool_calls', 'logit_bias', 'audio', 'modalities',
  'prediction', 'reasoning_effort', 'web_search_options', 'verbosity',
]);

function unsupported(param: string, message: string) {
  return invalidRequest('unsupported_parameter', message, param);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function numberIn(body: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = body[name];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidRequest('invalid_value', `${name} must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`, name);
  }
  return value;
}

function integerAtLeast(body: Record<string, unknown>, name: string, min: number): number | undefined {
  const value = body[name];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalidRequest('invalid_value', `${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`, name);
  }
  return value;
}

/**
 * Read the conversation: optional leading system/developer messages, then
 * user and assistant messages ending with a user message (text and
 * `image_url` parts; assistant messages text only). Consecutive messages of
 * one role are merged, as one turn. Tool and function messages are refused
 * with 400 `unsupported`.
 */
export function parseConversation(messages: unknown, options: { maxImages: number }): Conversation {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('invalid_value', 'messages must be a non-empty array', 'messages');
  const systems: string[] = [];
  const turns: { role: 'user' | 'assistant'; texts: string[]; images: number; index: number }[] = [];
  const images: ImageSource[] = [];
  for (const [index, message] of messages.entries()) {
    const param = `messages[${index}]`;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw invalidRequest('invalid_value', `${param} must be an object`, param);
    const { role, content } = message as Record<string, unknown>;
    if (role === 'system' || role === 'developer') {
      if (turns.length > 0) throw invalidRequest('unsupported', `${param}: a ${role} message after the conversation started is not supported; put it first`, param);
      systems.push(systemText(content, param));
      continue;
    }
    if (role === 'tool' || role === 'function') {
      throw invalidRequest('unsupported', `${param}: ${role} messages are not supported (this server has no tools)`, param);
    }
    if (role !== 'user' && role !== 'assistant') {
      throw invalidRequest('invalid_value', `${param}.role must be system, developer, user or assistant, got ${JSON.stringify(role)}`, `${param}.role`);
    }
    const parts = messageParts(content, role, `${param}.content`, (url, partParam) => {
      if (images.length >= options.maxImages) throw invalidRequest('too_many_images', `at most ${options.maxImages} image(s) per request`, partParam);
      images.push(parseImageUrl(url, `${partParam}.image_url`));
    });
    const last = turns.at(-1);
    if (last && last.role === role) {
      last.texts.push(...parts.texts);
      last.images += parts.images;
    } else {
      turns.push({ role, texts: parts.texts, images: parts.images, index });
    }
  }
  const question = turns.at(-1);
  if (!question) throw invalidRequest('invalid_value', 'messages has no user message', 'messages');
  if (question.role !== 'user') throw invalidRequest('invalid_value', 'the last message must be a user message: it is what the model answers', 'messages');
  if (turns[0]?.role !== 'user') {
    throw invalidRequest('invalid_value', `messages[${turns[0]?.index ?? 0}]: the conversation must start with a user message (after any system messages)`, 'messages');
  }
  const text = question.texts.join('\n').trim();
  if (text.length === 0) throw invalidRequest('invalid_value', 'the last user message has no text: ask a question', `messages[${question.index}].content`);
  const history: ChatTurn[] = turns.slice(0, -1).map((turn) => ({ role: turn.role, text: turn.texts.join('\n'), ...(turn.images > 0 ? { images: turn.images } : {}) }));
  return { question: text, images, history, ...(systems.length > 0 ? { system: systems.join('\n') } : {}) };
}

/** A user or assistant message's text parts and image count (images reported through `onImage`, in order). */
function messageParts(
  content: unknown,
  role: 'user' | 'assistant',
  param: string,
  onImage: (url: string, partParam: string) => void,
): { texts: string[]; images: number } {
  if (typeof content === 'string') return { texts: [content], images: 0 };
  if (!Array.isArray(content)) {
    const what = role === 'assistant' ? 'an assistant message needs its text content (tool calls are not supported)' : 'must be a string or an array of content parts';
    throw invalidRequest('invalid_value', `${param}: ${what}`, param);
  }
  const texts: string[] = [];
  let images = 0;
  for (const [k, part] of content.entries()) {
    const partParam = `${param}[${k}]`;
    if (typeof part !== 'object' || part === null) throw invalidRequest('invalid_value', `${partParam} must be an object`, partParam);
    const { type, text, image_url: imageUrl } = part as Record<string, unknown>;
    if (type === 'text') {
      if (typeof text !== 'string') throw invalidRequest('invalid_value', `${partParam}.text must be a string`, `${partParam}.text`);
      texts.push(text);
    } else if (type === 'image_url' && role === 'user') {
      const url = typeof imageUrl === 'string' ? imageUrl : typeof imageUrl === 'object' && imageUrl !== null ? (imageUrl as Record<string, unknown>).url : undefined;
      if (typeof url !== 'string') throw invalidRequest('invalid_value', `${partParam}.image_url.url must be a string`, `${partParam}.image_url`);
      onImage(url, partParam);
      images++;
    } else {
      const allowed = role === 'user' ? 'text and image_url' : 'text';
      throw invalidRequest('unsupported', `${partParam}: content parts of type ${JSON.stringify(type)} are not supported in ${role} messages; use ${allowed}`, partParam);
    }
  }
  return { texts, images };
}

function systemText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content) && content.every((part) => typeof part === 'object' && part !== null && (part as Record<string, unknown>).type === 'text')) {
    return content.map((part) => String((part as Record<string, unknown>).text ?? '')).join('\n');
  }
  throw invalidRequest('invalid_value', `${param}.content must be a string or text parts`, `${param}.content`);
}

/** Validate a chat completion body (OpenAI's shape plus `var`); throws 400 ApiErrors naming the parameter. */
export function parseChatRequest(body: Record<string, unknown>, options: ParseChatOptions): ChatRequest {
  for (const key of Object.keys(body)) {
    if (UNSUPPORTED.has(key) && present(body[key])) throw unsupported(key, `${key} is not supported by this server`);
    if (!SUPPORTED.has(key) && !UNSUPPORTED.has(key)) throw unsupported(key, `Unrecognized request argument supplied: ${key}`);
  }
  if (present(body.model) && typeof body.model !== 'string') throw invalidRequest('invalid_value', 'model must be a string', 'model');
  const n = integerAtLeast(body, 'n', 1);
  if (n !== undefined && n !== 1) throw unsupported('n', 'n must be 1: this server returns one choice per request');
  if (present(body.logprobs) && body.logprobs !== false) throw unsupported('logprobs', 'logprobs are not supported yet');
  if (present(body.top_logprobs)) throw unsupported('top_logprobs', 'top_logprobs are not supported yet');
  for (const name of ['presence_penalty', 'frequency_penalty']) {
    const value = numberIn(body, name, -2, 2);
    if (value !== undefined && value !== 0) throw unsupported(name, `${name} is not supported (only 0)`);
  }
  if (present(body.response_format)) {
    const format = body.response_format as Record<string, unknown>;
    if (typeof format !== 'object' || format.type !== 'text') throw unsupported('response_format', 'response_format: only {"type": "text"} is supported');
  }

  const conversation = parseConversation(body.messages, { maxImages: options.maxImages });

  const maxTokens = integerAtLeast(body, 'max_tokens', 1);
  const maxCompletionTokens = integerAtLeast(body, 'max_completion_tokens', 1);
  if (maxTokens !== undefined && maxCompletionTokens !== undefined && maxTokens !== maxCompletionTokens) {
    throw invalidRequest('invalid_value', 'max_tokens and max_completion_tokens differ; give one', 'max_tokens');
  }
  const limit = maxTokens ?? maxCompletionTokens;
  if (limit !== undefined && limit > options.maxTokens) {
    throw invalidRequest('max_tokens_too_large', `max_tokens is ${limit}; this server allows at most ${options.maxTokens}`, maxTokens === undefined ? 'max_completion_tokens' : 'max_tokens');
  }

  const temperature = numberIn(body, 'temperature', 0, 2) ?? 1;
  const topP = numberIn(body, 'top_p', 0, 1) ?? 1;
  const topK = integerAtLeast(body, 'top_k', 0);
  const requestedSeed = body.seed;
  if (present(requestedSeed) && !(typeof requestedSeed === 'number' && Number.isSafeInteger(requestedSeed))) {
    throw invalidRequest('invalid_value', `seed must be an integer, got ${JSON.stringify(requestedSeed)}`, 'seed');
  }
  const seed = present(requestedSeed) ? (requestedSeed as number) : randomInt(0, 2 ** 31);
  const doSample = temperature > 0 && topP > 0;
  const sampling: SamplingOptions = doSample
    ? { doSample, temperature, seed, ...(topP < 1 ? { topP } : {}), ...(topK ? { topK } : {}) }
    : { doSample: false };

  let stop: string[] = [];
  if (typeof body.stop === 'string') stop = [body.stop];
  else if (Array.isArray(body.stop)) stop = body.stop as string[];
  else if (present(body.stop)) throw invalidRequest('invalid_value', 'stop must be a string or an array of strings', 'stop');
  if (stop.length > 4 || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw invalidRequest('invalid_value', 'stop takes up to 4 non-empty strings', 'stop');
  }

  if (present(body.stream) && typeof body.stream !== 'boolean') throw invalidRequest('invalid_value', 'stream must be a boolean', 'stream');
  const stream = body.stream === true;
  if (present(body.stream_options)) {
    // Accepted for compatibility: the usage chunk ends every stream anyway.
    if (!stream) throw invalidRequest('invalid_value', 'stream_options is only allowed with stream: true', 'stream_options');
    if (typeof body.stream_options !== 'object' || Array.isArray(body.stream_options)) throw invalidRequest('invalid_value', 'stream_options must be an object', 'stream_options');
  }

  return {
    ...conversation,
    model: body.model as string | undefined,
    maxTokens: limit,
    sampling,
    seed,
    stop,
    stream,
    var: parseVarField(body.var, options.defaultVar),
    methods: parseMethodField(body.method, body.var),
  };
}

/** Read the `method` field: a method name, `none`, or several joined by `+`; throws a 400 `invalid_method`. */
function parseMethodField(value: unknown, varField: unknown): AttentionMethod[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidRequest('invalid_method', `method must be a string such as "var", "pai", "vaf", "vcd", "none" or "var+vcd", got ${JSON.stringify(value)}`, 'method');
  let methods: AttentionMethod[];
  try {
    methods = parseMethods(value);
  } catch (error) {
    throw invalidRequest('invalid_method', (error as Error).message, 'method');
  }
  const withVar = methods.some((m) => m.name === 'var');
  if (varField === false && withVar) throw invalidRequest('invalid_method', `method "${value}" runs VAR but var is false`, 'method');
  if (varField !== undefined && varField !== null && varField !== false && !withVar) {
    throw invalidRequest('invalid_method', `var settings were given but method "${value}" does not run VAR`, 'var');
  }
  return methods;
}
