import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { EvalDataError } from '../errors.js';
import { createJudge } from '../judge/judge-client.js';
import { mmvetJudgeRequest } from '../judge/judge-prompts.js';
import { llavaCustomBenchmark } from './llava-custom.js';
import { mmeBenchmark } from './mme.js';
import { mmvpBenchmark, seedBenchmark } from './multiple-choice.js';
import { popeBenchmark } from './pope.js';

const records = (path: string) => fileURLToPath(new URL(`../__fixtures__/records/${path}`, import.meta.url));

describe('loaders on real records', () => {
  it('POPE coco_pope_*.json', () => {
    const { items } = popeBenchmark.load({ data: records('pope'), checkImages: false });
    expect(items).toHaveLength(12);
    expect(items[0]).toMatchObject({ id: 'random-1', category: 'random', reference: { label: 'yes' }, images: [{ path: 'COCO_val2014_000000310196.jpg' }] });
    expect(items[0]?.prompt).toBe('Is there a snowboard in the image?\nAnswer the question using a single word or phrase.');
  });
  it('MME eval_tool files', () => {
    const { items } = mmeBenchmark.load({ data: records('mme-lavin'), checkImages: false });
    expect(items.map((item) => item.reference.subtask)).toEqual(['existence', 'existence', 'existence', 'existence', 'OCR', 'OCR', 'OCR', 'OCR']);
    expect(items[0]?.reference).toMatchObject({ image: '000000006040.jpg', label: 'Yes', question: 'Is there a train in this image? Please answer yes or no.' });
  });
  it('LLaVA layout question jsonl', () => {
    const { items } = llavaCustomBenchmark.load({ data: records('llava-layout/qa90_questions.jsonl'), checkImages: false });
    expect(items).toHaveLength(3);
    expect(items[0]?.id).toBe('0');
  });
  it('MMVP Questions.csv (quoted fields)', () => {
    const { items } = mmvpBenchmark.load({ data: records('mmvp'), checkImages: false });
    expect(items.map((item) => item.id)).toEqual(['1', '2', '9', '10']);
    expect(items[2]?.prompt).toBe('Can you see the key "Z" in the image? (a) Yes (b) No');
  });
  it('SEED-Bench.json', () => {
    const { items } = seedBenchmark.load({ data: records('seed-bench/SEED-Bench.json'), checkImages: false });
    expect(items[0]?.prompt).toBe("How many towels are in the image?\nA. One\nB. Two\nC. Three\nD. Four\nAnswer with the option's letter from the given choices directly.");
  });
});

describe('malformed data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vasink-eval-bad-'));
  const file = join(dir, 'coco_pope_random.json');
  writeFileSync(file, '{"question_id": 1, "image": "a.jpg", "text": "Is there a cat?", "label": "yes"}\n{bad json\n{"question_id": 3, "image": "c.jpg", "text": "Is there a dog?", "label": "maybe"}\n');
  it('names file and line', () => {
    expect(() => popeBenchmark.load({ data: dir, options: { categories: ['random'] }, checkImages: false })).toThrow(EvalDataError);
    expect(() => popeBenchmark.load({ data: dir, options: { categories: ['random'] }, checkImages: false })).toThrow(`${file}:2`);
  });
  it('counts skips when allowed, including missing images', () => {
    const { items, skipped } = popeBenchmark.load({ data: dir, options: { categories: ['random'] }, allowSkips: true, images: dir });
    expect(items).toHaveLength(0);
    expect([...skipped].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)).map((issue) => [issue.reason, issue.line])).toEqual([
      ['missing-image', 1],
      ['bad-json', 2],
      ['unknown-answer', 3],
    ]);
  });
});

describe('judge client', () => {
  it('posts to {url}/chat/completions, retries 429/5xx, caches replies', async () => {
    let calls = 0;
    const bodies: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        calls += 1;
        bodies.push(body);
        if (calls === 1) return response.writeHead(429, { 'retry-after': '0' }).end('slow down');
        if (calls === 2) return response.writeHead(503).end();
        expect(request.url).toBe('/v1/chat/completions');
        expect(request.headers.authorization).toBe('Bearer sk-test');
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ model: 'judge-1', choices: [{ message: { content: '0.5' } }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const cacheDir = mkdtempSync(join(tmpdir(), 'vasink-judge-'));
      const options = { url: `http://127.0.0.1:${port}/v1`, model: 'judge-1', apiKeyEnv: 'JUDGE_KEY', env: { JUDGE_KEY: 'sk-test' }, cacheDir, initialBackoffMs: 1 };
      const request = mmvetJudgeRequest({ question: 'What is x?', answer: '-1<AND>-5', prediction: 'x = -1' });
      const first = await createJudge(options).complete(request);
      expect(first).toMatchObject({ content: '0.5', cached: false, promptVersion: 'mmvet-v1' });
      expect(JSON.parse(bodies[2] as string)).toMatchObject({ model: 'judge-1', max_tokens: 3, temperature: 0 });
      const again = createJudge(options);
      expect(await again.complete(request)).toMatchObject({ content: '0.5', cached: true });
      expect(again.stats()).toEqual({ network: 0, cached: 1 });
      expect(calls).toBe(3);
    } finally {
      server.close();
    }
  });
});
