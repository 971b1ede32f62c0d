import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { BenchmarkDefinition, EvalItem } from '../benchmark.js';
import { ShardMergeError } from '../errors.js';
import { readPredictions } from './predictions-store.js';
import { renderProgressBar } from './progress.js';
import { predictionsFile } from './run-files.js';
import { mergeShards, runEvaluation, scoreRun } from './run-evaluation.js';
import { parseShard, shardItems } from './shard.js';

// A tiny exact-match benchmark: enough to check that scores survive resume and merge.
const toy: BenchmarkDefinition<{ answer: string }> = {
  name: 'toy',
  title: 'Toy',
  group: 'general',
  inputs: 'none',
  judged: false,
  load: () => ({ items: [], skipped: [], labeled: true, description: 'toy' }),
  async score(items, predictions) {
    const right = items.filter((item) => predictions.get(item.id)?.text === item.reference.answer).length;
    return { primary: { name: 'accuracy', value: (100 * right) / items.length }, metrics: { accuracy: (100 * right) / items.length }, notes: [] };
  },
};
const items: EvalItem<{ answer: string }>[] = Array.from({ length: 30 }, (_, i) => ({
  id: `q${i}`,
  prompt: `question ${i}`,
  images: [],
  reference: { answer: i % 3 === 0 ? 'no' : 'yes' },
  source: { file: 'toy.jsonl', line: i + 1 },
}));
const answer = async (item: EvalItem, row: { name: string }) => ({ text: row.name === 'var' || Number(item.id.slice(1)) % 2 === 0 ? 'yes' : 'no' });
const rows = [{ name: 'base' }, { name: 'var', settings: { preset: 'general' } }];

describe('runEvaluation', () => {
  it('writes predictions, scores and reports', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    const events: string[] = [];
    const result = await runEvaluation({ benchmark: toy, items, out, answer, rows, onProgress: (e) => events.push(renderProgressBar(e)), fsync: 'never' });
    expect(result.scores?.base?.primary.value).toBeCloseTo(50, 10);
    expect(result.scores?.var?.primary.value).toBeCloseTo(200 / 3, 10);
    expect(events.at(-1)).toContain('30/30');
    expect(readFileSync(join(out, 'compare.md'), 'utf8')).toContain('Δ var');
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toContain('<svg');
  });

  it('resumes after a torn last line without losing or repeating items', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    let calls = 0;
    const stop = new AbortController();
    await runEvaluation({
      benchmark: toy,
      items,
      out,
      rows: [{ name: 'base' }],
      answer: async (item, row) => {
        calls += 1;
        if (calls === 10) stop.abort();
        return answer(item, row);
      },
      signal: stop.signal,
      fsync: 'never',
    });
    const file = predictionsFile(out, 'base');
    appendFileSync(file, '{"id":"q10","row":"ba');
    const resumed = await runEvaluation({ benchmark: toy, items, out, rows: [{ name: 'base' }], answer, fsync: 'never' });
    expect(resumed.resumed).toBe(10);
    const ids = readPredictions(file).predictions.map((p) => p.id);
    expect(ids).toEqual(items.map((item) => item.id));
    expect(resumed.scores?.base?.primary.value).toBeCloseTo(50, 10);
  });

  it('answers up to `concurrency` items at once, each prediction once', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    let inFlight = 0;
    let most = 0;
    const slow = async (item: EvalItem, row: { name: string }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1 + (Number(item.id.slice(1)) % 4)));
      inFlight--;
      return answer(item, row);
    };
    const result = await runEvaluation({ benchmark: toy, items, out, answer: slow, rows, concurrency: 6, fsync: 'never' });
    expect(most).toBe(6);
    expect(result.scores?.base?.primary.value).toBeCloseTo(50, 10);
    for (const row of rows) expect(readPredictions(predictionsFile(out, row.name)).predictions.map((p) => p.id).sort()).toEqual(items.map((i) => i.id).sort());
    await expect(runEvaluation({ benchmark: toy, items, out: mkdtempSync(join(tmpdir(), 'vasink-eval-')), answer, rows, concurrency: 0 })).rejects.toThrow('concurrency must be a positive integer');
  });

  it('one writer per run directory: a second run on the same --out is refused while the first writes; a stale lock is taken over', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = async (item: EvalItem, row: { name: string }) => {
      await gate;
      return answer(item, row);
    };
    const first = runEvaluation({ benchmark: toy, items, out, answer: slow, rows, fsync: 'never' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(runEvaluation({ benchmark: toy, items, out, answer, rows, fsync: 'never' })).rejects.toThrow(
      new RegExp(`${out} is being written by another run \\(process ${process.pid}, since .*\\); wait for it, or remove .*\\.lock if that run is gone`),
    );
    release();
    const done = await first;
    expect(done.completed).toBe(true);
    for (const row of rows) expect(readPredictions(predictionsFile(out, row.name)).predictions).toHaveLength(items.length);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    // A lock left by a process that is gone (killed) does not block the next run.
    writeFileSync(join(out, '.lock'), `${JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'then' })}\n`);
    writeFileSync(join(out, 'run.json'), readFileSync(join(out, 'run.json')));
    const again = await runEvaluation({ benchmark: toy, items, out, answer, rows, fsync: 'never' });
    expect(again.resumed).toBe(items.length);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  it('refuses to resume a run made with another model, method or settings, naming the difference', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    const identity = { model: 'sha256:aaaa', maxNewTokens: 128, template: 'default', vasink: '0.1.0' };
    const stop = new AbortController();
    let calls = 0;
    const stopping = async (item: EvalItem, row: { name: string }) => {
      if (++calls === 6) stop.abort();
      return answer(item, row);
    };
    const partial = await runEvaluation({ benchmark: toy, items, out, answer: stopping, rows, identity, signal: stop.signal, fsync: 'never' });
    expect(partial.completed).toBe(false);
    await expect(runEvaluation({ benchmark: toy, items, out, answer, rows, identity: { ...identity, model: 'sha256:bbbb' }, fsync: 'never' })).rejects.toThrow(
      'holds a different run (model "sha256:aaaa" ≠ "sha256:bbbb"); use a new --out directory',
    );
    const otherPreset = [{ name: 'base' }, { name: 'var', settings: { preset: 'hallucination' } }];
    await expect(runEvaluation({ benchmark: toy, items, out, answer, rows: otherPreset, identity, fsync: 'never' })).rejects.toThrow(
      'row var settings {"preset":"general"} ≠ {"preset":"hallucination"}',
    );
    const resumed = await runEvaluation({ benchmark: toy, items, out, answer, rows, identity, fsync: 'never' });
    expect(resumed.completed).toBe(true);
    expect(resumed.resumed).toBeGreaterThan(0);
  });

  it('refuses a run directory of different data', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    await runEvaluation({ benchmark: toy, items: items.slice(0, 3), out, answer, fsync: 'never' });
    await expect(runEvaluation({ benchmark: toy, items, out, answer })).rejects.toThrow(/different run/);
  });
});

describe('shards', () => {
  it('partitions deterministically and merges every item exactly once', async () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('4/3')).toThrow();
    const parts = [1, 2, 3].map((index) => shardItems(items, { index, count: 3 }));
    expect(parts.flat().map((item) => item.id)).toEqual(items.map((item) => item.id));
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    for (const index of [1, 3]) await runEvaluation({ benchmark: toy, items, out, answer, rows, shard: { index, count: 3 }, fsync: 'never' });
    let error: unknown;
    try {
      mergeShards({ out, items });
    } catch (cause) {
      error = cause;
    }
    expect(error).toBeInstanceOf(ShardMergeError);
    expect((error as ShardMergeError).missing).toEqual(parts[1]?.map((item) => item.id));
    await runEvaluation({ benchmark: toy, items, out, answer, rows, shard: { index: 2, count: 3 }, fsync: 'never' });
    // A duplicated line in one shard must be reported, not silently dropped.
    const shardFile = predictionsFile(out, 'base', { index: 1, count: 3 });
    const copy = readFileSync(shardFile, 'utf8');
    writeFileSync(shardFile, copy + copy.split('\n')[0] + '\n');
    expect(() => mergeShards({ out, items })).toThrow(/1 duplicated: q0/);
    writeFileSync(shardFile, copy);
    mergeShards({ out, items });
    const { scores } = await scoreRun({ benchmark: toy, items, out, rows });
    expect(scores.base?.primary.value).toBeCloseTo(50, 10);
  });
});

describe('kill and resume (child process, SIGKILL)', () => {
  let script = '';
  beforeAll(async () => {
    // Bundle the runner for a plain node child (the test runner's TypeScript transform is not available there).
    const require = createRequire(createRequire(import.meta.url).resolve('vitest'));
    const esbuild = createRequire(require.resolve('vite'))('esbuild') as { build(options: Record<string, unknown>): Promise<unknown> };
    const dir = mkdtempSync(join(tmpdir(), 'vasink-eval-kill-'));
    const entry = join(dir, 'child.ts');
    writeFileSync(
      entry,
      `import { runEvaluation } from ${JSON.stringify(new URL('./run-evaluation.ts', import.meta.url).pathname)};
const [out, delay, concurrency] = process.argv.slice(2);
const items = Array.from({ length: 40 }, (_, i) => ({ id: 'q' + i, prompt: 'p' + i, images: [], reference: { answer: i % 3 === 0 ? 'no' : 'yes' }, source: { file: 'toy' } }));
const benchmark = { name: 'toy', title: 'Toy', group: 'general', inputs: '', judged: false, load: () => ({ items: [], skipped: [], labeled: true, description: '' }),
  async score(items, predictions) { const right = items.filter((it) => predictions.get(it.id)?.text === it.reference.answer).length; return { primary: { name: 'accuracy', value: 100 * right / items.length }, metrics: {}, notes: [] }; } };
const result = await runEvaluation({ benchmark, items, out, rows: [{ name: 'base' }, { name: 'var' }],
  concurrency: Number(concurrency ?? 1),
  answer: async (item, row) => { await new Promise((r) => setTimeout(r, Number(delay) * (1 + (Number(item.id.slice(1)) * 7) % 5))); return { text: (row.name === 'var' || Number(item.id.slice(1)) % 2 === 0 ? 'yes' : 'no') + ' '.repeat(2000) }; },
  onProgress: (e) => process.stdout.write('done ' + e.done + '\\n') });
process.stdout.write('SCORES ' + JSON.stringify(result.scores) + '\\n');`,
    );
    script = join(dir, 'child.mjs');
    await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: script, conditions: ['@vasink/source'], logLevel: 'silent' });
  });

  const runChild = (out: string, delay: number, killAfter?: number, concurrency = 1) =>
    new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [script, out, String(delay), String(concurrency)]);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const done = [...stdout.matchAll(/done (\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
        if (killAfter !== undefined && done >= killAfter) child.kill('SIGKILL');
      });
      child.on('close', () => resolve(stdout));
    });

  it('continues after SIGKILL with no item lost or duplicated and the same scores', async () => {
    const reference = await runChild(mkdtempSync(join(tmpdir(), 'vasink-eval-')), 0);
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    const killed = await runChild(out, 3, 7);
    expect(killed).not.toContain('SCORES');
    const partial = readPredictions(predictionsFile(out, 'base')).predictions.length;
    expect(partial).toBeGreaterThanOrEqual(7);
    expect(partial).toBeLessThan(40);
    const again = await runChild(out, 3, 25);
    expect(again).not.toContain('SCORES');
    const finished = await runChild(out, 0);
    for (const row of ['base', 'var']) {
      const ids = readPredictions(predictionsFile(out, row)).predictions.map((p) => p.id);
      expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `q${i}`));
    }
    expect(finished.match(/SCORES (.*)/)?.[1]).toBe(reference.match(/SCORES (.*)/)?.[1]);
  });

  it('a batched run (8 items at once, finishing out of order) killed twice still ends with every item exactly once and the same scores', async () => {
    const reference = await runChild(mkdtempSync(join(tmpdir(), 'vasink-eval-')), 0);
    const out = mkdtempSync(join(tmpdir(), 'vasink-eval-'));
    expect(await runChild(out, 4, 9, 8)).not.toContain('SCORES');
    expect(await runChild(out, 4, 30, 8)).not.toContain('SCORES');
    const finished = await runChild(out, 1, undefined, 8);
    const all = Array.from({ length: 40 }, (_, i) => `q${i}`);
    for (const row of ['base', 'var']) {
      const ids = readPredictions(predictionsFile(out, row)).predictions.map((p) => p.id);
      expect(ids).toHaveLength(40);
      expect([...ids].sort()).toEqual([...all].sort());
    }
    expect(finished.match(/SCORES (.*)/)?.[1]).toBe(reference.match(/SCORES (.*)/)?.[1]);
  });
});
