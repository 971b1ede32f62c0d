import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('vasink fixture at real shapes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-fixture-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the first layer of Qwen2-VL-2B-Instruct at its real shapes, with progress on stderr', async () => {
    // 0.7 GB: the 151,936 × 1536 embedding is written whatever the layer count.
    const target = join(dir, 'qwen2-vl-2b');
    const result = await runCli(['fixture', 'qwen2-vl', target, '--size', '2b', '--layers', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/fixture qwen2-vl 2b \d+% \d+\/\d+ .*MiB, tensor \d+\/\d+ model\.safetensors /);
    expect(result.stderr).toMatch(/wrote Qwen\/Qwen2-VL-2B-Instruct's layout \(first 1 layer\) to .*: 0\.\d\d GiB of tensors in 1 shard, sink dims 458, 1101/);
    const config = JSON.parse(await readFile(join(target, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['Qwen2VLForConditionalGeneration'], hidden_size: 1536, num_hidden_layers: 1, vasink: { sink_dims: [458, 1101] } });
    for (const file of ['model.safetensors', 'tokenizer.json', 'preprocessor_config.json', 'generation_config.json']) expect(existsSync(join(target, file)), file).toBe(true);
  });
});
