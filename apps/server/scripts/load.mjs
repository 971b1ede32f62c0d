#!/usr/bin/env node
// Load generator (not a test): N concurrent streaming clients for a bounded
// time against a vasink server on loopback. Prints requests/s, tokens/s,
// p50/p99 latency, errors, and how the queue behaves over capacity (429s,
// queue depth seen in /metrics, server memory when it runs in this process).
//
//   # against a running server (vasink serve ...):
//   node apps/server/scripts/load.mjs --url http://127.0.0.1:8000 --clients 8 --duration 20
//   # or start one in this process (build first: pnpm --filter @vasink/server... build):
//   node apps/server/scripts/load.mjs --tiny --clients 8 --duration 20 --concurrency 1 --queue 4
//   node apps/server/scripts/load.mjs --model <converted dir> --device cuda --concurrency 2 --queue 8
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';

const HELP = `usage: node scripts/load.mjs (--url <base> | --model <dir> | --tiny) [options]
  --url <base>          a running server, e.g. http://127.0.0.1:8000
  --model <dir>         start a server in this process on a converted model (needs the built package)
  --tiny                the same on a tiny random LLaVA checkpoint (generated and converted once, cached in the temp dir)
  --clients <n>         concurrent streaming clients (default 8)
  --duration <s>        seconds to run; requests still running then are cut off (default 20)
  --max-tokens <n>      max_tokens of each request (default 16)
  --var <mode>          off | on | mixed: VAR on every other request (default mixed)
  --image <file>        image to send (default: a generated 224x224 PNG)
  --api-key <key>       Bearer key
  --backoff-ms <ms>     wait after a 429 before the client's next try (default 100)
in-process server (--model, --tiny):
  --concurrency <n>     default 1
  --queue <n>           default 4
  --device <d>          auto | cpu | cuda (default cpu)
  --threads <n>         onnxruntime intra-op threads`;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    model: { type: 'string' },
    tiny: { type: 'boolean' },
    clients: { type: 'string', default: '8' },
    duration: { type: 'string', default: '20' },
    'max-tokens': { type: 'string', default: '16' },
    var: { type: 'string', default: 'mixed' },
    image: { type: 'string' },
    'api-key': { type: 'string' },
    'backoff-ms': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '1' },
    queue: { type: 'string', default: '4' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help || [values.url, values.model, values.tiny].filter(Boolean).length !== 1) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}
const int = (name) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${values[name]}`);
  return n;
};
const clients = int('clients');
const durationMs = Number(values.duration) * 1000;
const maxTokens = int('max-tokens');
const backoffMs = int('backoff-ms');
if (!['off', 'on', 'mixed'].includes(values.var)) throw new Error('--var must be off, on or mixed');

// ---- the server -------------------------------------------------------------
let server;
let baseUrl = values.url?.replace(/\/+$/, '');
if (!baseUrl) {
  const { startServer } = await import('@vasink/server');
  const dir = values.model ?? (await tinyModel());
  server = await startServer({
    model: dir,
    port: 0,
    device: values.device,
    ...(values.threads ? { threads: int('threads') } : {}),
    concurrency: int('concurrency'),
    maxQueue: int('queue'),
    requestTimeoutMs: durationMs + 60_000,
    manageProcess: false,
  });
  await server.ready;
  baseUrl = server.address().url;
}
const headers = { 'content-type': 'application/json', ...(values['api-key'] ? { authorization: `Bearer ${values['api-key']}` } : {}) };
const health = await (await fetch(`${baseUrl}/health`)).json();
if (health.status !== 'ok') throw new Error(`${baseUrl} is not ready: ${JSON.stringify(health)}`);

async function tinyModel() {
  const root = join(tmpdir(), 'vasink-load-tiny');
  const dir = join(root, 'tiny-llava');
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  const { llavaFamily, writeTinyLlavaCheckpoint } = await import('@vasink/adapter-llava');
  await mkdir(root, { recursive: true });
  const checkpoint = await writeTinyLlavaCheckpoint(join(root, 'hf'), { size: 'tiny' });
  await llavaFamily.convert({ source: checkpoint.dir, target: dir, dtype: 'float32' });
  await rm(checkpoint.dir, { recursive: true, force: true });
  return dir;
}

// ---- the request ------------------------------------------------------------
const imageUrl = values.image
  ? `data:image/${values.image.toLowerCase().endsWith('.png') ? 'png' : 'jpeg'};base64,${(await readFile(values.image)).toString('base64')}`
  : `data:image/png;base64,${gradientPng(224, 224).toString('base64')}`;
const QUESTIONS = ['What is in the image?', 'Describe the picture.', 'What colour is the square?', 'Is there any text in the image?'];
let sent = 0;
function body() {
  const k = sent++;
  const useVar = values.var === 'on' || (values.var === 'mixed' && k % 2 === 1);
  return JSON.stringify({
    model: health.model,
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: imageUrl } }, { type: 'text', text: QUESTIONS[k % QUESTIONS.length] }] }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    var: useVar ? { preset: 'general' } : false,
  });
}

// ---- the clients ------------------------------------------------------------
const stats = { ok: [], ttft: [], tokens: 0, rejected: 0, cut: 0, errors: new Map(), firstRejectAt: undefined };
const started = performance.now();
const deadline = started + durationMs;
const stop = new AbortController();
const timer = setTimeout(() => stop.abort(), durationMs);
const error = (kind) => stats.errors.set(kind, (stats.errors.get(kind) ?? 0) + 1);

async function oneRequest() {
  const t0 = performance.now();
  let res;
  try {
    res = await fetch(`${baseUrl}/v1/chat/completions`, { method: 'POST', headers, body: body(), signal: stop.signal });
  } catch (e) {
    if (stop.signal.aborted) stats.cut++;
    else error(`network: ${e.cause?.code ?? e.message}`);
    return;
  }
  if (res.status === 429) {
    stats.rejected++;
    stats.firstRejectAt ??= t0 - started;
    await res.body?.cancel();
    await sleep(backoffMs);
    return;
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    error(`HTTP ${res.status} ${safeCode(text)}`);
    return;
  }
  let firstToken;
  let usage;
  let buffer = '';
  try {
    const decoder = new TextDecoder();
    for await (const piece of res.body) {
      buffer += decoder.decode(piece, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.error) throw Object.assign(new Error(chunk.error.message), { code: chunk.error.code });
        if (firstToken === undefined && chunk.choices?.[0]?.delta?.content) firstToken = performance.now();
        if (chunk.usage) usage = chunk.usage;
      }
    }
  } catch (e) {
    if (stop.signal.aborted) stats.cut++;
    else error(`stream: ${e.code ?? e.message}`);
    return;
  }
  const t1 = performance.now();
  stats.ok.push(t1 - t0);
  if (firstToken !== undefined) stats.ttft.push(firstToken - t0);
  stats.tokens += usage?.completion_tokens ?? 0;
}

async function client() {
  while (performance.now() < deadline && !stop.signal.aborted) await oneRequest();
}

// ---- the server's view: /metrics and memory ----------------------------------
const samples = [];
let rssPeak = process.memoryUsage().rss;
const rssStart = rssPeak;
const sampler = setInterval(async () => {
  if (server) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  try {
    const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(1000) })).text();
    samples.push({ depth: metric(text, 'vasink_queue_depth'), active: metric(text, 'vasink_active_requests') });
  } catch {
    // a missed sample is not a result
  }
}, 200);

console.log(`vasink load: ${clients} streaming clients for ${durationMs / 1000} s against ${baseUrl} (model ${health.model} on ${health.device}; concurrency ${health.queue.concurrency}, queue ${health.queue.capacity}); max_tokens ${maxTokens}, VAR ${values.var}`);
await Promise.all(Array.from({ length: clients }, client));
clearTimeout(timer);
clearInterval(sampler);
const elapsed = (performance.now() - started) / 1000;
const final = await (await fetch(`${baseUrl}/metrics`)).text();

// ---- report -----------------------------------------------------------------
const pct = (list, p) => {
  if (list.length === 0) return NaN;
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const ms = (x) => (Number.isNaN(x) ? '-' : `${Math.round(x)} ms`);
const attempts = stats.ok.length + stats.rejected + stats.cut + [...stats.errors.values()].reduce((a, b) => a + b, 0);
const depths = samples.map((s) => s.depth);
const errorCount = [...stats.errors.values()].reduce((a, b) => a + b, 0);
console.log(`elapsed       ${elapsed.toFixed(1)} s, ${attempts} attempts`);
console.log(`completed     ${stats.ok.length} (${(stats.ok.length / elapsed).toFixed(2)} req/s), ${stats.tokens} tokens (${(stats.tokens / elapsed).toFixed(1)} tokens/s)`);
console.log(`latency       p50 ${ms(pct(stats.ok, 50))}, p99 ${ms(pct(stats.ok, 99))}, max ${ms(Math.max(...stats.ok))} (request to end of stream, completed requests)`);
console.log(`first token   p50 ${ms(pct(stats.ttft, 50))}, p99 ${ms(pct(stats.ttft, 99))}`);
console.log(`rejected 429  ${stats.rejected} (${attempts ? ((100 * stats.rejected) / attempts).toFixed(0) : 0}% of attempts${stats.firstRejectAt === undefined ? '' : `, first after ${(stats.firstRejectAt / 1000).toFixed(2)} s`}; clients retried after ${backoffMs} ms)`);
console.log(`errors        ${errorCount}${errorCount ? ` (${[...stats.errors].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`);
console.log(`cut at end    ${stats.cut} in flight when the time ran out`);
console.log(
  `queue         depth max ${depths.length ? Math.max(...depths) : '-'} / capacity ${health.queue.capacity}, mean ${depths.length ? (depths.reduce((a, b) => a + b, 0) / depths.length).toFixed(2) : '-'}; active max ${samples.length ? Math.max(...samples.map((s) => s.active)) : '-'} / concurrency ${health.queue.concurrency} (${samples.length} samples of /metrics)`,
);
console.log(`server        rejections ${metric(final, 'vasink_queue_rejections_total')}, disconnects ${metric(final, 'vasink_client_disconnects_total')}, tokens/s (last 10 s) ${metric(final, 'vasink_tokens_per_second').toFixed(1)}`);
if (server) console.log(`memory        rss ${mb(rssStart)} at start, peak ${mb(rssPeak)} (server and clients in one process)`);

if (server) await server.close();
process.exit(errorCount > 0 ? 1 : 0);

// ---- helpers ----------------------------------------------------------------
function metric(text, name) {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

function mb(bytes) {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function safeCode(text) {
  try {
    return JSON.parse(text).error?.code ?? '';
  } catch {
    return '';
  }
}

function sleep(msToWait) {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}

/** A small RGB gradient with a bright square, as PNG (no image library needed). */
function gradientPng(width, height) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const o = y * (width * 3 + 1) + 1 + x * 3;
      const bright = x > width / 2 && y < height / 2;
      raw[o] = bright ? 250 : x & 255;
      raw[o + 1] = bright ? 250 : y & 255;
      raw[o + 2] = bright ? 240 : 90;
    }
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}
