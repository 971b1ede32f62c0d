// `vasink serve` as an operator runs it: binds loopback, answers, drains on SIGTERM and exits 0.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.js';

describe('vasink serve', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-serve-'));
    expect((await runCli(['fixture', 'llava', join(dir, 'hf')])).code).toBe(0);
    model = join(dir, 'model');
    expect((await runCli(['convert', join(dir, 'hf'), model])).code).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves on 127.0.0.1, reports health, and exits 0 after SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--model', model, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line: ${stderr}`)), 60_000);
      child.stderr.on('data', () => {
        const match = /vasink serving .* at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match && /model loaded: ready/.test(stderr)) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]!.id).toBe('model');
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('rejects bad flags in one line', async () => {
    const result = await runCli(['serve', '--model', model, '--device', 'tpu']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('vasink serve: --device must be auto, cuda or cpu, got "tpu"');
  });

  it('refuses at start, in one line and before loading, a model that would not fit in memory', async () => {
    const result = await runCli(['serve', '--model', model, '--port', '0', '--context', '3000000', '--max-prompt-tokens', '3000000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not enough memory for LlavaForConditionalGeneration \(float32\) on CPU: needs about [\d.]+ GiB .* at 3000000 tokens × 1 row .*lower the context/);
  });
});
