import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { JudgeError } from '../errors.js';
import type { JudgeRequest } from './judge-prompts.js';

/** Where and how to reach an OpenAI-compatible chat endpoint. */
export interface JudgeOptions {
  /** Base URL; the client posts to `{url}/chat/completions` (e.g. `https://api.openai.com/v1`). */
  readonly url: string;
  readonly model: string;
  /** Name of the environment variable holding the API key (never the key itself). Unset or empty: no auth header. */
  readonly apiKeyEnv?: string;
  /** Directory of cached replies; a repeated request is answered from it without a network call. */
  readonly cacheDir: string;
  /** Attempts per request on 429, 5xx and network errors (default 6). */
  readonly maxAttempts?: number;
  /** First backoff in ms, doubled per retry, capped at 60 s; `Retry-After` wins when given (default 1000). */
  readonly initialBackoffMs?: number;
  /** Per-request timeout in ms (default 120000). */
  readonly timeoutMs?: number;
  /** `fetch` to use (tests inject one; default the global). */
  readonly fetch?: typeof fetch;
  /** Environment to read the key from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The judge's reply to one request. */
export interface JudgeReply {
  readonly content: string;
  /** Model name the endpoint reported. */
  readonly model: string;
  readonly promptVersion: string;
  /** True when read from the cache. */
  readonly cached: boolean;
  /** Cache key (sha256 of the request body). */
  readonly key: string;
}

/** A judge: answers {@link JudgeRequest}s, caching every reply on disk. */
export interface Judge {
  readonly model: string;
  readonly url: string;
  complete(request: JudgeRequest): Promise<JudgeReply>;
  /** Requests sent over the network and answered from cache since creation. */
  stats(): { network: number; cached: number };
}

interface CacheEntry {
  readonly request: unknown;
  readonly content: string;
  readonly model: string;
  readonly promptVersion: string;
}

/**
 * Create a judge client for an OpenAI-compatible `POST {url}/chat/completions`.
 * Replies are stored content-addressed (sha256 of the exact request body plus
 * the URL) under `cacheDir`, written atomically, so a re-run costs nothing and
 * a killed run loses at most the request in flight. 429 and 5xx answers and
 * network errors are retried with exponential backoff.
 */
export function createJudge(options: JudgeOptions): Judge {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const env = options.env ?? process.env;
  const maxAttempts = options.maxAttempts ?? 6;
  const initialBackoff = options.initialBackoffMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const endpoint = `${options.url.replace(/\/+$/, '')}/chat/completions`;
  let network = 0;
  let cached = 0;
  mkdirSync(options.cacheDir, { recursive: true });

  async function complete(request: JudgeRequest): Promise<JudgeReply> {
    const body: Record<string, unknown> = {
      model: options.model,
      messages: request.messages,
      temperature: request.temperature,
    };
    if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
    const bodyText = JSON.stringify(body);
    const key = createHash('sha256').update(endpoint).update('\n').update(bodyText).digest('hex');
    const file = join(options.cacheDir, key.slice(0, 2), `${key}.json`);
    const hit = readCache(file);
    if (hit) {
      cached += 1;
      return { content: hit.content, model: hit.model, promptVersion: request.promptVersion, cached: true, key };
    }
    const apiKey = options.apiKeyEnv ? env[options.apiKeyEnv] : undefined;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      let retryAfterMs: number | undefined;
      try {
        const response = await fetchImpl(endpoint, {
          method: 'POST',
          headers,
          body: bodyText,
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.ok) {
          const json = (await response.json()) as { model?: string; choices?: { message?: { content?: unknown } }[] };
          const content = json.choices?.[0]?.message?.content;
          if (typeof content !== 'string') {
            throw new JudgeError(`judge reply from ${endpoint} has no choices[0].message.content`, { endpoint });
          }
          network += 1;
          const entry: CacheEntry = { request: body, content, model: json.model ?? options.model, promptVersion: request.promptVersion };
          writeCache(file, entry);
          return { content, model: entry.model, promptVersion: request.promptVersion, cached: false, key };
        }
        const text = await response.text().catch(() => '');
        lastError = `HTTP ${response.status}: ${text.slice(0, 300)}`;
        if (response.status !== 429 && response.status < 500) {
          throw new JudgeError(`judge ${endpoint} refused the request (${lastError})`, { endpoint, status: response.status });
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter >= 0) retryAfterMs = retryAfter * 1000;
      } catch (cause) {
        if (cause instanceof JudgeError) throw cause;
        lastError = (cause as Error).message;
      }
      if (attempt < maxAttempts) {
        const backoff = Math.min(60_000, initialBackoff * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs ?? backoff));
      }
    }
    throw new JudgeError(`judge ${endpoint} failed after ${maxAttempts} attempts (${lastError})`, { endpoint, attempts: maxAttempts });
  }

  return { model: options.model, url: options.url, complete, stats: () => ({ network, cached }) };
}

function readCache(file: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
    return typeof entry.content === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(file: string, entry: CacheEntry): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(entry)}\n`);
  renameSync(temporary, file);
}
