// Qwen2-VL specifics through the real CLI (its chat prompt, M-RoPE, --max-pixels); test/families.test.ts runs every family's common path.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;

describe('vasink with a tiny Qwen2-VL checkpoint', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-qwen-'));
    const fixture = await runCli(['fixture', 'qwen2-vl', join(dir, 'hf')]);
    expect(fixture.code, fixture.stderr).toBe(0);
    model = join(dir, 'model');
    const convert = await runCli(['convert', join(dir, 'hf'), model]);
    expect(convert.code, convert.stderr).toBe(0);
    expect(convert.stderr).toMatch(/Qwen2VLForConditionalGeneration/);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers with M-RoPE positions, finds the planted sinks and redistributes at prefill and decode', async () => {
    const config = JSON.parse(await readFile(join(dir, 'hf', 'config.json'), 'utf8'));
    expect(config.vasink.sink_dims).toHaveLength(2);
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--compare', '--preset', 'hallucination', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const record = JSON.parse(out.stdout);
    expect(record.family).toBe('qwen2-vl');
    expect(record.prompt.text).toMatch(/<\|im_start\|>user\n<\|vision_start\|>/);
    const [, withVar] = record.rows;
    const layer2: number[] = withVar.diagnostics.sinksPerLayer[2];
    expect(layer2[0]).toBe(0); // the first token
    expect(withVar.diagnostics.imageSinksPerLayer[2].length).toBeGreaterThan(0); // the bright cloud's merge windows
    expect(withVar.diagnostics.selectedRowsAtPrefill).toBeGreaterThan(0);
    expect(withVar.diagnostics.selectedRowsAtDecode).toBeGreaterThan(0);
    const again = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--compare', '--preset', 'hallucination', '--json']);
    expect(JSON.parse(again.stdout).rows.map((r: { ids: number[] }) => r.ids)).toEqual(record.rows.map((r: { ids: number[] }) => r.ids));
  });

  it('convert --max-pixels bounds the resized image, hence its image tokens; LLaVA refuses the flag', async () => {
    const small = join(dir, 'model-small');
    const convert = await runCli(['convert', join(dir, 'hf'), small, '--max-pixels', String(28 * 28 * 6)]);
    expect(convert.code, convert.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(small, 'manifest.json'), 'utf8'));
    expect(manifest.adapter.image.maxPixels).toBe(28 * 28 * 6);
    const ask = (m: string) => runCli(['generate', '--model', m, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '1', '--json']);
    const [bounded, full] = await Promise.all([ask(small), ask(model)]);
    expect(bounded.code, bounded.stderr).toBe(0);
    const tokens = (out: { stdout: string }) => JSON.parse(out.stdout).images[0].tokens as number;
    expect(tokens(bounded)).toBeLessThanOrEqual(6);
    expect(tokens(full)).toBeGreaterThan(tokens(bounded));
    const bad = await runCli(['convert', join(dir, 'hf'), join(dir, 'model-bad'), '--min-pixels', '5000', '--max-pixels', '4000']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/min pixels 5000 is above max pixels 4000/);
    expect((await runCli(['convert', join(dir, 'hf'), join(dir, 'model-bad2'), '--max-pixels', 'lots'])).stderr).toMatch(/--max-pixels must be an integer/);
    const llava = await runCli(['fixture', 'llava', join(dir, 'llava-hf')]);
    expect(llava.code, llava.stderr).toBe(0);
    const refused = await runCli(['convert', join(dir, 'llava-hf'), join(dir, 'llava-model'), '--max-pixels', '10000']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/apply to dynamic-resolution checkpoints \(Qwen2-VL(, [^)]+)?\); .* is LLaVA-1.5 \(fixed-size images\)/);
  });
});
