// The LLaVA-NeXT path through the real CLI: fixture → convert → generate --json → inspect → eval → demo.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;

describe('vasink with a tiny LLaVA-NeXT checkpoint', () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-llava-next-'));
    const fixture = await runCli(['fixture', 'llava-next', join(dir, 'hf')]);
    expect(fixture.code, fixture.stderr).toBe(0);
    model = join(dir, 'model');
    const convert = await runCli(['convert', join(dir, 'hf'), model]);
    expect(convert.code, convert.stderr).toBe(0);
    expect(convert.stderr).toMatch(/LlavaNextForConditionalGeneration/);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers with the anyres token count, finds visual sinks and redistributes at prefill and decode, deterministically', async () => {
    const args = ['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--compare', '--preset', 'hallucination', '--json'];
    const out = await runCli(args);
    expect(out.code, out.stderr).toBe(0);
    const record = JSON.parse(out.stdout);
    expect(record.family).toBe('llava-next');
    expect(record.prompt.text).toMatch(/USER: <image>\nWhat is in the image\? ASSISTANT:/);
    // 480 × 360 on 84-px tiles: pinpoint 168 × 168 (2 × 2 tiles, a 12 × 12 token grid); the content is 9 rows
    // high, the padding (12 − 9) // 2 = 1 row is cut from each side → 10 × 12, plus a newline per row: 36 + 10 · 13.
    expect(record.images[0].tokens).toBe(36 + 10 * 13);
    expect(record.images[0].panels).toEqual([
      { rows: 6, cols: 6, label: 'base' },
      { rows: 10, cols: 12, label: 'tiles' },
    ]);
    const [base, withVar] = record.rows;
    expect(withVar.diagnostics.sinksPerLayer[2][0]).toBe(0);
    expect(withVar.diagnostics.imageSinksPerLayer[2].length).toBeGreaterThan(3);
    expect(withVar.diagnostics.selectedRowsAtPrefill).toBeGreaterThan(0);
    expect(withVar.diagnostics.selectedRowsAtDecode).toBeGreaterThan(0);
    expect(base.diagnostics.selectedRowsAtPrefill ?? 0).toBe(0);
    const again = await runCli(args);
    expect(JSON.parse(again.stdout).rows.map((r: { ids: number[] }) => r.ids)).toEqual(record.rows.map((r: { ids: number[] }) => r.ids));
  });

  it('inspect draws the base view and the tiles, each with its heatmaps and sink marks', async () => {
    const out = join(dir, 'inspect');
    const result = await runCli(['inspect', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--out', out, '--preset', 'hallucination', '--layers', '2']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.family).toBe('llava-next');
    expect(report.layers[2].visualSinks.length).toBeGreaterThan(3);
    expect(await readdir(out)).toEqual(
      expect.arrayContaining([
        'sinks-sample-base.png',
        'sinks-sample-tiles.png',
        'attention-L2-base-sample-base.png',
        'attention-L2-var-sample-tiles.png',
        'heads.png',
      ]),
    );
  });

  it('eval pope scores base and VAR on the tiny model', async () => {
    const data = join(dir, 'pope');
    const images = join(dir, 'images');
    await mkdir(data);
    await mkdir(images);
    await copyFile(SAMPLE, join(images, 'COCO_val2014_000000000001.png'));
    for (const category of ['random', 'popular', 'adversarial']) {
      const lines = ['Is there a house in the image?', 'Is there a dog in the image?'].map((text, i) =>
        JSON.stringify({ question_id: i + 1, image: 'COCO_val2014_000000000001.png', text, label: i === 0 ? 'yes' : 'no' }),
      );
      await writeFile(join(data, `coco_pope_${category}.json`), `${lines.join('\n')}\n`);
    }
    const run = join(dir, 'eval');
    const result = await runCli(['eval', 'pope', '--model', model, '--data', data, '--images', images, '--out', run, '--compare', '--max-new-tokens', '2']);
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(JSON.parse(result.stdout)).sort()).toEqual(['base', 'var']);
    expect((await readFile(join(run, 'predictions', 'var.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6);
  });

  it('demo --model-family llava-next', async () => {
    const result = await runCli(['demo', '--model-family', 'llava-next', '--cache', join(dir, 'cache'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const demo = JSON.parse(result.stdout);
    expect(demo.family).toBe('llava-next');
    expect(demo.layers.some((l: { selectedAtPrefill: number }) => l.selectedAtPrefill > 0)).toBe(true);
  });
});
