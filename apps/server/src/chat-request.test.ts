import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { parseChatRequest } from './chat-request.js';

const IMAGE = 'data:image/png;base64,iVBORw0KGgo=';
const options = { maxImages: 2, maxTokens: 100, defaultVar: false as const };

function parse(body: Record<string, unknown>) {
  return parseChatRequest({ messages: [{ role: 'user', content: 'Hi' }], ...body }, options);
}

function error(body: Record<string, unknown>): ApiError {
  try {
    parse(body);
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('parsed');
}

describe('parseChatRequest', () => {
  it('reads the last user message: text parts joined, images in order, system messages allowed', () => {
    const request = parse({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is' }, { type: 'image_url', image_url: { url: IMAGE } }, { type: 'text', text: 'this?' }] },
      ],
    });
    expect(request.question).toBe('What is\nthis?');
    expect(request.images).toHaveLength(1);
    expect(request.images[0]).toMatchObject({ kind: 'data', mediaType: 'image/png' });
    expect(request.system).toBe('Be brief.');
    expect(request.history).toEqual([]);
    expect(parse({}).system).toBeUndefined();
  });

  it('reads a conversation: leading system messages, turns merged per role, images counted per user turn', () => {
    const request = parse({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: IMAGE } }, { type: 'text', text: 'What is this?' }] },
        { role: 'assistant', content: 'A cat.' },
        { role: 'assistant', content: [{ type: 'text', text: 'A black one.' }] },
        { role: 'user', content: 'And here?' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: IMAGE } }, { type: 'text', text: 'Compare.' }] },
      ],
    });
    expect(request.system).toBe('Be brief.\nAnswer in English.');
    expect(request.history).toEqual([
      { role: 'user', text: 'What is this?', images: 1 },
      { role: 'assistant', text: 'A cat.\nA black one.' },
    ]);
    expect(request.question).toBe('And here?\nCompare.');
    expect(request.images).toHaveLength(2);
  });

  it('maps OpenAI sampling to the runtime: temperature 0 or top_p 0 is greedy, default temperature 1 samples', () => {
    expect(parse({ temperature: 0 }).sampling).toEqual({ doSample: false });
    expect(parse({ top_p: 0 }).sampling).toEqual({ doSample: false });
    expect(parse({ seed: 3 }).sampling).toEqual({ doSample: true, temperature: 1, seed: 3 });
    expect(parse({ temperature: 0.7, top_p: 0.9, seed: 3 }).sampling).toEqual({ doSample: true, temperature: 0.7, topP: 0.9, seed: 3 });
    expect(Number.isSafeInteger(parse({}).seed)).toBe(true);
  });

  it('reads stop, max_tokens / max_completion_tokens and stream', () => {
    expect(parse({ stop: 'END' }).stop).toEqual(['END']);
    expect(parse({ max_completion_tokens: 9 }).maxTokens).toBe(9);
    expect(parse({ stream: true, stream_options: { include_usage: true } }).stream).toBe(true);
    expect(error({ stop: ['a', 'b', 'c', 'd', 'e'] }).param).toBe('stop');
    expect(error({ max_tokens: 0 }).param).toBe('max_tokens');
    expect(error({ max_tokens: 101 }).code).toBe('max_tokens_too_large');
    expect(error({ max_tokens: 5, max_completion_tokens: 6 }).code).toBe('invalid_value');
    expect(error({ stream_options: { include_usage: true } }).param).toBe('stream_options');
  });

  it('reads the var field in both conventions and refuses unknown keys', () => {
    expect(parse({}).var).toEqual({ config: undefined, echo: false });
    expect(parse({ var: true }).var.echo).toMatchObject({ preset: 'general', rho: 0.8, p: 0.6 });
    expect(parse({ var: { preset: 'official-code' } }).var.echo).toMatchObject({ rho: 0.5, p: 0.4, layers: 'all' });
    expect(parse({ var: { rho: 0.2, p: 0.6, convention: 'official-code', min_image_attention: 0.1 } }).var.config).toMatchObject({ rho: 0.8, p: 0.4, minImageAttention: 0.1 });
    expect(parse({ var: { layers: [2, 3] } }).var.config?.layers).toEqual([2, 3]);
    expect(error({ var: { rho: 'high' } }).param).toBe('var.rho');
    expect(error({ var: { layers: 'some' } }).param).toBe('var.layers');
    expect(error({ var: 'yes' }).code).toBe('invalid_var');
  });

  it('uses the server default VAR when the field is absent', () => {
    const request = parseChatRequest({ messages: [{ role: 'user', content: 'Hi' }] }, { ...options, defaultVar: { preset: 'hallucination' } });
    expect(request.var.echo).toMatchObject({ preset: 'hallucination', rho: 0.5 });
    expect(parseChatRequest({ messages: [{ role: 'user', content: 'Hi' }], var: false }, { ...options, defaultVar: { preset: 'hallucination' } }).var.echo).toBe(false);
  });

  it('refuses malformed conversations, tool turns, unknown parts and images over the limit', () => {
    expect(error({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }).message).toMatch(/last message must be a user message/);
    expect(error({ messages: [{ role: 'assistant', content: 'a' }, { role: 'user', content: 'b' }] }).message).toMatch(/must start with a user message/);
    expect(error({ messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }, { role: 'user', content: 'c' }] }).code).toBe('unsupported');
    expect(error({ messages: [{ role: 'user', content: 'a' }, { role: 'tool', content: 'b', tool_call_id: 'x' }, { role: 'user', content: 'c' }] }).code).toBe('unsupported');
    expect(error({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [] }, { role: 'user', content: 'c' }] }).message).toMatch(/tool calls are not supported/);
    expect(
      error({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'image_url', image_url: { url: IMAGE } }] }, { role: 'user', content: 'c' }] })
        .message,
    ).toMatch(/not supported in assistant messages; use text/);
    // The image limit counts the whole conversation.
    const image = { type: 'image_url', image_url: { url: IMAGE } };
    expect(error({ messages: [{ role: 'user', content: [image, image] }, { role: 'assistant', content: 'b' }, { role: 'user', content: [image, { type: 'text', text: 'c' }] }] }).code).toBe('too_many_images');
    expect(error({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }).code).toBe('unsupported');
    expect(error({ messages: [{ role: 'user', content: [1, 2, 3].map(() => ({ type: 'image_url', image_url: { url: IMAGE } })) }] }).code).toBe('too_many_images');
    expect(error({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: IMAGE }] }] }).message).toMatch(/no text/);
    expect(error({ messages: [{ role: 'robot', content: 'x' }] }).param).toBe('messages[0].role');
  });

  it('refuses parameters it does not support, by name', () => {
    expect(error({ n: 3 }).param).toBe('n');
    expect(error({ logprobs: true }).param).toBe('logprobs');
    expect(error({ frequency_penalty: 0.5 }).param).toBe('frequency_penalty');
    expect(error({ response_format: { type: 'json_object' } }).param).toBe('response_format');
    expect(error({ tool_choice: 'auto' }).param).toBe('tool_choice');
    expect(error({ foo: 1 }).message).toBe('Unrecognized request argument supplied: foo');
    expect(parse({ n: 1, user: 'u', logprobs: false, presence_penalty: 0, response_format: { type: 'text' } }).question).toBe('Hi');
  });

  it('refuses image URLs it cannot use', () => {
    const withUrl = (url: string) => error({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: 'x' }] }] });
    expect(withUrl('http://example.com/a.png').code).toBe('unsupported_image_url');
    expect(withUrl('data:image/png,rawdata').code).toBe('invalid_image_url');
    expect(withUrl('data:text/plain;base64,aGk=').code).toBe('invalid_image_url');
    expect(withUrl('data:image/png;base64,***').code).toBe('invalid_image');
    expect(withUrl('ftp://x').code).toBe('invalid_image_url');
  });
});
