import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LlavaConversation, buildLlavaPrompt } from '@vasink/adapter-llava';
import { loadTokenizer } from '@vasink/runtime';
import { convertTinyModel, testImageDataUrl } from './__fixtures__/tiny-model.js';
import type { RequestLogEntry } from './request-log.js';
import { type VasinkServer, createVasinkServer } from './server.js';
import type { VarEcho } from './var-field.js';
import type { InspectResponse } from './var-inspect.js';

// One server over the converted tiny LLaVA checkpoint, driven by the official openai client.
let model: Awaited<ReturnType<typeof convertTinyModel>>;
let server: VasinkServer;
let url: string;
let client: OpenAI;
let image: string;
const log: RequestLogEntry[] = [];

type WithVar<T> = T & { var?: unknown };
type Echoed<T> = T & { var: VarEcho | false };

beforeAll(async () => {
  model = await convertTinyModel();
  image = await testImageDataUrl();
  server = createVasinkServer({
    model: model.dir,
    device: 'cpu',
    threads: 1,
    port: 0,
    contextLength: 256,
    limits: { maxBodyBytes: 256 * 1024, maxImages: 2, maxImagePixels: 200 * 200, maxPromptTokens: 400, maxTokens: 64, defaultMaxTokens: 8 },
    onRequest: (entry) => log.push(entry),
  });
  ({ url } = await server.listen());
  await server.ready;
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-checked', maxRetries: 0, timeout: 60_000 });
});

afterAll(async () => {
  await server?.close();
  await model?.cleanup();
});

function ask(question: string, extra: Partial<ChatCompletionCreateParamsNonStreaming> & { var?: unknown } = {}): WithVar<ChatCompletionCreateParamsNonStreaming> {
  return {
    model: 'tiny-llava',
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: question }] }],
    max_tokens: 12,
    temperature: 0,
    ...extra,
  };
}

async function create(params: WithVar<ChatCompletionCreateParamsNonStreaming>): Promise<Echoed<ChatCompletion>> {
  return (await client.chat.completions.create(params as ChatCompletionCreateParamsNonStreaming)) as Echoed<ChatCompletion>;
}

async function streamed(params: WithVar<ChatCompletionCreateParamsNonStreaming>): Promise<Echoed<ChatCompletionChunk>[]> {
  const stream = await client.chat.completions.create({ ...params, stream: true } as ChatCompletionCreateParamsStreaming);
  const chunks: Echoed<ChatCompletionChunk>[] = [];
  for await (const chunk of stream) chunks.push(chunk as Echoed<ChatCompletionChunk>);
  return chunks;
}

/** The status and OpenAI error code a request fails with. */
async function failure(promise: Promise<unknown>): Promise<{ status: number | undefined; code: string | null | undefined; param: string | null | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status, code: error.code, param: error.param };
    throw error;
  }
  throw new Error('the request succeeded');
}

describe('discovery', () => {
  it('reports health and lists the model by its directory name', async () => {
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', model: 'tiny-llava', family: 'llava', device: 'cpu', auth: false });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-llava']);
    expect((await client.models.retrieve('tiny-llava')).id).toBe('tiny-llava');
  });
});

describe('chat completions with an image', () => {
  it('answers without VAR and counts prompt and completion tokens', async () => {
    const completion = await create(ask('What is in the image?', { var: false }));
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('tiny-llava');
    expect(completion.choices).toHaveLength(1);
    const [choice] = completion.choices;
    expect(choice!.message.role).toBe('assistant');
    expect(typeof choice!.message.content).toBe('string');
    expect(['stop', 'length']).toContain(choice!.finish_reason);
    // 144 image tokens (168-px image, 14-px patches) plus the vicuna_v1 text.
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(144);
    expect(completion.usage!.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(12);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    expect(completion.var).toBe(false);
  });

  it('answers with VAR and echoes the settings used, in the paper convention', async () => {
    const general = await create(ask('What is in the image?', { var: { preset: 'general' } }));
    expect(general.var).toEqual({ preset: 'general', tau: 20, rho: 0.8, p: 0.6, min_image_attention: 0.2, layers: 'all-but-last', convention: 'paper' });
    const code = await create(ask('What is in the image?', { var: { preset: 'hallucination', rho: 0.3, p: 0.7, convention: 'official-code' } }));
    expect(code.var).toMatchObject({ preset: 'hallucination', rho: 0.7, p: 0.3, convention: 'paper' });
    expect(code.choices[0]!.message.content).toEqual(expect.any(String));
    expect(log.at(-1)).toMatchObject({ path: '/v1/chat/completions', status: 200, var: true, outcome: expect.stringMatching(/stop|length/) });
  });

  it('streams the same greedy answer as server-sent events, usage in the final chunk', async () => {
    const whole = await create(ask('Describe the picture.', { var: false }));
    const chunks = await streamed(ask('Describe the picture.', { var: false }));
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(whole.choices[0]!.message.content);
    const finish = chunks.flatMap((c) => c.choices.map((choice) => choice.finish_reason)).filter(Boolean);
    expect(finish).toEqual([whole.choices[0]!.finish_reason]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(whole.usage);
    expect(last.var).toBe(false);
  });

  it('streams with VAR on, echoing the settings in the first and last chunks', async () => {
    const chunks = await streamed(ask('What colour is the square?', { var: { preset: 'vision-centric', p: 0.5 } }));
    expect(chunks[0]!.var).toMatchObject({ preset: 'vision-centric', rho: 0.9, p: 0.5 });
    expect(chunks.at(-1)!.var).toEqual(chunks[0]!.var);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('reaches [DONE] on the wire', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask('Hi?'), max_tokens: 3, stream: true }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('samples reproducibly with a seed, and stops at a stop string', async () => {
    const sampled = ask('Tell me a story.', { temperature: 1, top_p: 0.9, seed: 7, max_tokens: 10 });
    const [a, b] = [await create(sampled), await create(sampled)];
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);

    const whole = (await create(ask('What is in the image?', { max_tokens: 24 }))).choices[0]!.message.content!;
    const stop = whole.slice(Math.floor(whole.length / 2)).trim().slice(0, 4);
    expect(stop.length).toBeGreaterThan(0);
    const stopped = await create(ask('What is in the image?', { max_tokens: 24, stop: [stop] }));
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.message.content).toBe(whole.slice(0, whole.indexOf(stop)));
  });

  it('compares base and VAR in one generation (choice 0 without VAR, 1 with)', async () => {
    const base = await create(ask('What is in the image?', { var: false }));
    const res = await fetch(`${url}/v1/var/compare`, { method: 'POST', body: JSON.stringify(ask('What is in the image?', { var: { preset: 'general' } })) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChatCompletion & { var: VarEcho };
    expect(body.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(body.choices[0]!.message.content).toBe(base.choices[0]!.message.content);
    expect((body.choices[1] as unknown as { var: VarEcho }).var.preset).toBe('general');
  });

  it('runs the method a request names (pai, vaf, vcd, var+vcd, none), echoes it, and keeps the var field working', async () => {
    const asked = (extra: Record<string, unknown>) => ask('What is in the image?', extra as never);
    const base = await create(asked({ var: false }));
    const none = await create(asked({ method: 'none' }));
    expect(none.choices[0]!.message.content).toBe(base.choices[0]!.message.content);
    expect((none as unknown as { method: string }).method).toBe('none');
    const answers = new Map<string, string>();
    for (const method of ['pai', 'vaf', 'vcd', 'var+vcd']) {
      const first = await create(asked({ method }));
      const again = await create(asked({ method }));
      expect((first as unknown as { method: string }).method).toBe(method);
      // Greedy and seeded noise: the same answer every time.
      expect(again.choices[0]!.message.content, method).toBe(first.choices[0]!.message.content);
      answers.set(method, first.choices[0]!.message.content ?? '');
    }
    // VAR settings apply to the VAR part of a composed method; the echo shows them.
    const composed = await create(asked({ method: 'var+vcd', var: { preset: 'hallucination' } }));
    expect(composed.var).toMatchObject({ preset: 'hallucination' });
    // Compare: the baseline and the named method in one generation.
    const res = await fetch(`${url}/v1/var/compare`, { method: 'POST', body: JSON.stringify(asked({ method: 'pai' })) });
    expect(res.status).toBe(200);
    const compared = (await res.json()) as ChatCompletion & { method: string };
    expect(compared.method).toBe('pai');
    expect(compared.choices[0]!.message.content).toBe(base.choices[0]!.message.content);
    expect(compared.choices[1]!.message.content).toBe(answers.get('pai'));
  });

  it('refuses a method it does not know, or one that contradicts the var field, naming the parameter', async () => {
    expect(await failure(create(ask('What?', { method: 'dola' } as never)))).toMatchObject({ status: 400, code: 'invalid_method', param: 'method' });
    expect(await failure(create(ask('What?', { method: 'var+var' } as never)))).toMatchObject({ status: 400, code: 'invalid_method' });
    expect(await failure(create(ask('What?', { method: 7 } as never)))).toMatchObject({ status: 400, code: 'invalid_method', param: 'method' });
    expect(await failure(create(ask('What?', { method: 'var', var: false } as never)))).toMatchObject({ status: 400, code: 'invalid_method', param: 'method' });
    expect(await failure(create(ask('What?', { method: 'pai', var: { preset: 'general' } } as never)))).toMatchObject({ status: 400, code: 'invalid_method', param: 'var' });
  });
});

describe('VAR inspection', () => {
  it('returns sinks, selected heads, moved mass and per-patch attention maps', async () => {
    const res = await fetch(`${url}/v1/var/inspect`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny-llava', messages: ask('What is in the image?').messages, var: { preset: 'general' }, layers: [2, 3] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as InspectResponse;
    expect(body.object).toBe('var.inspection');
    expect(body.images).toHaveLength(1);
    expect(body.images[0]!.grid).toEqual({ rows: 12, cols: 12 });
    expect(body.images[0]!.view.startsWith('data:image/png;base64,')).toBe(true);
    expect(body.prompt.image_tokens).toBe(144);
    expect(body.layers.map((l) => l.var_active)).toEqual([false, false, true, true, false]);
    const layer2 = body.layers[2]!;
    expect(layer2.sinks.some((s) => s.position === 0 && s.token === '<s>')).toBe(true); // BOS
    expect(layer2.sinks.some((s) => s.image === 0 && typeof s.patch === 'number')).toBe(true); // visual sinks
    const acting = body.layers.filter((l) => l.selected_heads.length > 0);
    expect(acting.length).toBeGreaterThan(0);
    expect(acting.every((l) => l.var_active && l.moved_mass > 0)).toBe(true);
    expect(layer2.maps![0]!.base).toHaveLength(144);
    expect(layer2.maps![0]!.var).toHaveLength(144);
    expect(body.layers[0]!.maps).toBeUndefined(); // only the layers asked for
  });
});

describe('errors in OpenAI shape', () => {
  it('400 for a malformed body (not JSON, not an object)', async () => {
    for (const body of ['{"messages": [', '[1, 2]', '']) {
      const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    }
    expect(await failure(create({ model: 'tiny-llava', messages: [] }))).toMatchObject({ status: 400, param: 'messages' });
    expect(await failure(create(ask('x', { temperature: 3 })))).toMatchObject({ status: 400, code: 'invalid_value', param: 'temperature' });
  });

  it('400 for unsupported parameters and earlier turns', async () => {
    expect(await failure(create(ask('x', { n: 2 })))).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'n' });
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: {} } }];
    expect(await failure(create(ask('x', { tools })))).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools' });
    expect(await failure(create({ ...ask('x'), bogus: 1 } as ChatCompletionCreateParamsNonStreaming))).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'bogus' });
    const toolTurn = ask('And now?');
    toolTurn.messages = [{ role: 'user', content: 'Hello' }, { role: 'tool', content: 'x', tool_call_id: 'c1' }, ...toolTurn.messages];
    expect(await failure(create(toolTurn))).toMatchObject({ status: 400, code: 'unsupported' });
    const endsWithAnswer = ask('Hello');
    endsWithAnswer.messages = [...endsWithAnswer.messages, { role: 'assistant', content: 'Hi' }];
    expect(await failure(create(endsWithAnswer))).toMatchObject({ status: 400, code: 'invalid_value', param: 'messages' });
  });

  it('answers conversations: the system message and earlier turns are part of the prompt', async () => {
    const tokenizer = await loadTokenizer(model.dir);
    // Prompt length of the vicuna_v1 prompt our adapter builds, with n tokens per image.
    const promptLength = (question: string, n: number, conversation: LlavaConversation = {}) =>
      buildLlavaPrompt({ question, tokensPerImage: [n], tokenizer, imageTokenId: 0, template: 'default', ...conversation }).inputIds.length;
    const single = await create(ask('What is in the image?', { max_tokens: 2 }));
    const perImage = single.usage!.prompt_tokens - promptLength('What is in the image?', 0);
    expect(perImage).toBeGreaterThan(0);
    const withSystem = ask('What is in the image?', { max_tokens: 2 });
    withSystem.messages = [{ role: 'system', content: 'Be brief.' }, ...withSystem.messages];
    const system = await create(withSystem);
    expect(system.usage!.prompt_tokens).toBe(promptLength('What is in the image?', perImage, { system: 'Be brief.' }));
    expect(system.usage!.prompt_tokens).toBeLessThan(single.usage!.prompt_tokens); // vicuna_v1's system sentence is replaced
    // The image in an earlier turn, then a text-only question.
    const conversation = ask('What is in the image?', { max_tokens: 2 });
    conversation.messages = [conversation.messages[0]!, { role: 'assistant', content: 'A house.' }, { role: 'user', content: 'What colour is it?' }];
    const answer = await create(conversation);
    expect(answer.choices[0]!.message.content).toEqual(expect.any(String));
    const history = [
      { role: 'user', text: 'What is in the image?', images: 1 },
      { role: 'assistant', text: 'A house.' },
    ] as const;
    expect(answer.usage!.prompt_tokens).toBe(promptLength('What colour is it?', perImage, { history }));
  });

  it('400 for undecodable, oversized, remote or too many images', async () => {
    const withImage = (imageUrl: string) => ({ ...ask('x'), messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: imageUrl } }, { type: 'text' as const, text: 'x' }] }] });
    expect(await failure(create(withImage('data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==')))).toMatchObject({ status: 400, code: 'invalid_image' });
    // Streams too get the status: they open with the first token.
    const stream = client.chat.completions.create({ ...withImage('data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=='), stream: true } as ChatCompletionCreateParamsStreaming);
    expect(await failure(stream)).toMatchObject({ status: 400, code: 'invalid_image' });
    expect(await failure(create(withImage(await testImageDataUrl(300, 200))))).toMatchObject({ status: 400, code: 'image_too_large' });
    expect(await failure(create(withImage('https://example.com/cat.png')))).toMatchObject({ status: 400, code: 'unsupported_image_url' });
    expect(await failure(create(withImage('file:///etc/passwd')))).toMatchObject({ status: 400, code: 'image_url_not_allowed' });
    const three = ask('x');
    three.messages = [{ role: 'user', content: [1, 2, 3].map(() => ({ type: 'image_url' as const, image_url: { url: image } })) }];
    expect(await failure(create(three))).toMatchObject({ status: 400, code: 'too_many_images' });
  });

  it('400 for prompts over the context length and max_tokens over the limits', async () => {
    const long = 'Please look very carefully at every part of the picture. '.repeat(30);
    expect(await failure(create(ask(long)))).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect(await failure(create(ask('x', { max_tokens: 65 })))).toMatchObject({ status: 400, code: 'max_tokens_too_large', param: 'max_tokens' });
    // A ~215-token prompt fits the 256-token context, but not with 64 tokens to generate.
    const medium = 'Look at the picture. '.repeat(5);
    expect(await failure(create(ask(medium, { max_tokens: 64 })))).toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });

  it('400 for bad VAR settings', async () => {
    expect(await failure(create(ask('x', { var: { rho: 2 } })))).toMatchObject({ status: 400, code: 'invalid_var' });
    expect(await failure(create(ask('x', { var: { preset: 'nope' } })))).toMatchObject({ status: 400, code: 'invalid_var' });
    expect(await failure(create(ask('x', { var: { beta: 1 } })))).toMatchObject({ status: 400, code: 'invalid_var', param: 'var.beta' });
  });

  it('404 for another model name, also a malformed one (GET /v1/models/%)', async () => {
    expect(await failure(create(ask('x', { model: 'gpt-4o' })))).toMatchObject({ status: 404, code: 'model_not_found' });
    for (const id of ['%', '%zz', 'a%2']) {
      const res = await fetch(`${url}/v1/models/${id}`);
      expect(res.status, id).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    }
  });

  it('400, not 500, for input the model cannot take: an <image> placeholder typed in the text', async () => {
    const result = await failure(create(ask('What is <image> here?')));
    expect(result.status).toBe(400);
    expect(result.code).toBe('llava_prompt');
  });

  it('413 for a body over the limit', async () => {
    const big = `data:image/png;base64,${'A'.repeat(300 * 1024)}`;
    const params = ask('x');
    params.messages = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: big } }] }];
    expect(await failure(create(params))).toMatchObject({ status: 413, code: 'body_too_large' });
    // The connection stays usable for the next request.
    expect((await client.models.list()).data).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('8 concurrent streaming clients share the decoder batch: each gets its answer alone, /metrics shows the occupancy', async () => {
    const metric = async (name: string) => Number((await (await fetch(`${url}/metrics`)).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    const requests = Array.from({ length: 8 }, (_, i) =>
      ask(['Describe the picture.', 'What is in the corner?', 'Is there a square?', 'Name the colours.'][i % 4]!, { max_tokens: 6 + (i % 3) * 5, var: i % 2 === 0 ? false : { preset: i % 4 === 1 ? 'general' : 'hallucination' } }),
    );
    const alone: string[] = [];
    for (const r of requests) alone.push((await create(r)).choices[0]!.message.content ?? '');
    const [steps, rowSteps] = [await metric('vasink_decode_steps'), await metric('vasink_decode_row_steps')];
    const together = await Promise.all(requests.map(async (r) => (await streamed(r)).map((c) => c.choices[0]?.delta.content ?? '').join('')));
    expect(together).toEqual(alone);
    const occupancy = ((await metric('vasink_decode_row_steps')) - rowSteps) / ((await metric('vasink_decode_steps')) - steps);
    expect(occupancy, 'rows per decode step while 8 clients stream').toBeGreaterThan(2);
    expect(await metric('vasink_concurrency')).toBe(8);
    expect(await metric('vasink_batch_rows')).toBe(0);
  });

  it('exposes requests, queue, tokens/s and latency histograms in Prometheus format', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^vasink_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vasink_requests_total\{endpoint="\/v1\/chat\/completions",status="400"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vasink_queue_depth 0$/m);
    expect(text).toMatch(/^vasink_queue_capacity 16$/m);
    expect(text).toMatch(/^vasink_tokens_per_second \d/m);
    expect(text).toMatch(/^vasink_completion_tokens_total [1-9]\d*$/m);
    expect(text).toMatch(/^# TYPE vasink_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^vasink_request_duration_seconds_bucket\{endpoint="\/v1\/chat\/completions",le="\+Inf"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vasink_time_to_first_token_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^vasink_model_ready 1$/m);
  });
});
