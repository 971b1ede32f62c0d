// Fuzz: hostile chat-completions requests against the real server (tiny LLaVA). Whatever the body —
// wrong types, absurd numbers, broken images, unknown keys, VAR settings of every shape, not JSON at
// all — the answer is a 2xx or a 4xx with an OpenAI error body: never a 5xx, never a dropped connection,
// and the server keeps answering /health.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzParameters } from '@vasink/test-utils';
import { convertTinyModel, testImageDataUrl } from './__fixtures__/tiny-model.js';
import { type VasinkServer, createVasinkServer } from './server.js';

let model: Awaited<ReturnType<typeof convertTinyModel>>;
let server: VasinkServer;
let url: string;
const image = await testImageDataUrl(32, 24);

beforeAll(async () => {
  model = await convertTinyModel();
  server = createVasinkServer({
    model: model.dir,
    device: 'cpu',
    threads: 1,
    port: 0,
    contextLength: 256,
    limits: { maxBodyBytes: 64 * 1024, maxImages: 2, maxImagePixels: 100 * 100, maxPromptTokens: 200, maxTokens: 4, defaultMaxTokens: 2 },
  });
  ({ url } = await server.listen());
  await server.ready;
});

afterAll(async () => {
  await server?.close();
  await model?.cleanup();
});

const junk = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.constantFrom(1e300, -1, 0, 2 ** 53, [], {}));
const imageUrl = fc.oneof(
  fc.constant(image),
  fc.constant(image.slice(0, 60)),
  fc.string({ maxLength: 20 }).map((s) => `data:image/png;base64,${s}`),
  fc.constantFrom('file:///etc/passwd', 'https://example.com/cat.png', 'data:text/plain;base64,aGk=', 'data:,', ''),
  junk,
);
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('<image>', 'What is here?', '\u0000'), junk) }),
  fc.record({ type: fc.constant('image_url'), image_url: fc.oneof(fc.record({ url: imageUrl }), junk) }),
  fc.record({ type: fc.oneof(fc.constantFrom('input_audio', 'tool_call'), fc.string({ maxLength: 6 })) }),
  junk,
);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool', 'function', 'developer'), junk),
    content: fc.oneof(fc.string({ maxLength: 40 }), fc.array(part, { maxLength: 3 }), junk),
    name: fc.string({ maxLength: 5 }),
  },
  { requiredKeys: ['role'] },
);
const varField = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('general', 'hallucination', 'nope'),
  fc.dictionary(fc.constantFrom('preset', 'tau', 'rho', 'p', 'm', 'layers', 'convention', 'x'), junk, { maxKeys: 4 }),
  junk,
);
/** Values per field: mostly plausible, sometimes hostile. */
const fields: Record<string, fc.Arbitrary<unknown>> = {
  model: fc.oneof(fc.constant('tiny-llava'), junk),
  messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 3 }), junk),
  max_tokens: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: -2, max: 10 }), junk),
  temperature: fc.oneof(fc.constantFrom(0, 0.7, 1), fc.double({ min: -1, max: 3, noNaN: true }), junk),
  top_p: fc.oneof(fc.constantFrom(0.9, 1), fc.double({ min: -1, max: 2, noNaN: true }), junk),
  top_k: fc.oneof(fc.integer({ min: 0, max: 50 }), junk),
  seed: fc.oneof(fc.integer(), junk),
  stream: fc.oneof(fc.boolean(), junk),
  stop: fc.oneof(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 5 }), junk),
  var: varField,
  n: junk,
  tools: junk,
  logprobs: junk,
};
/** A valid request (an image and a question) with 0–3 fields replaced. */
const request = fc
  .array(fc.constantFrom(...Object.keys(fields)).chain((key) => fields[key]!.map((value) => [key, value] as const)), { maxLength: 3 })
  .map((edits) => ({
    model: 'tiny-llava',
    max_tokens: 2,
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: 'What is here?' }] }],
    ...Object.fromEntries(edits),
  }));

/** Statuses seen, by code. */
const statuses = new Map<number, number>();

async function send(body: string, path = '/v1/chat/completions'): Promise<void> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  expect(res.status, `${res.status} for ${body.slice(0, 300)}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    expect(typeof error?.code, text).toBe('string');
    expect(typeof error?.message, text).toBe('string');
  } else if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    expect(text, body.slice(0, 300)).not.toMatch(/"(internal_error|server_misconfigured)"/);
    expect(text.trimEnd().endsWith('data: [DONE]') || /"error"/.test(text), text.slice(-200)).toBe(true);
  }
}

describe('the chat-completions endpoint under fuzzing', () => {
  it('request shapes of every kind: 2xx or a documented 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (body) => {
        await send(JSON.stringify(body));
      }),
      fuzzParameters(40),
    );
    // The fuzz reaches the model, not only the parser.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('bodies that are not a JSON object, on every model endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 60 }), fc.json().map((j) => j.slice(0, 200))), fc.constantFrom('/v1/chat/completions', '/v1/var/compare', '/v1/var/inspect'), async (body, path) => {
        await send(body, path);
      }),
      fuzzParameters(60),
    );
  });
});
