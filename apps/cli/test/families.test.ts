// Every registered model family through the real CLI: fixture → convert → generate --json → inspect → eval → demo.
// A family added to @vasink/models' registry is tested here without touching this file.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_FAMILIES } from '@vasink/models';
import { runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;

describe.each(MODEL_FAMILIES.map((family) => [family.name, family] as const))('vasink with a tiny %s checkpoint', (name, family) => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `vasink-cli-${name}-`));
    const fixture = await runCli(['fixture', name, join(dir, 'hf')]);
    expect(fixture.code, fixture.stderr).toBe(0);
    model = join(dir, 'model');
    const convert = await runCli(['convert', join(dir, 'hf'), model]);
    expect(convert.code, convert.stderr).toBe(0);
    expect(family.architectures.some((architecture) => convert.stderr.includes(architecture))).toBe(true);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('generate: the first token and visual sinks, VAR selecting heads at prefill and decode, the same answer twice', async () => {
    const args = ['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--compare', '--preset', 'hallucination', '--json'];
    const out = await runCli(args);
    expect(out.code, out.stderr).toBe(0);
    const record = JSON.parse(out.stdout);
    expect(record.family).toBe(name);
    const [image] = record.images;
    expect(image.tokens).toBeGreaterThan(0);
    expect(image.panels.length).toBeGreaterThan(0);
    const [base, withVar] = record.rows;
    expect(withVar.diagnostics.sinksPerLayer[2][0]).toBe(0);
    expect(withVar.diagnostics.imageSinksPerLayer[2].length).toBeGreaterThan(0);
    expect(withVar.diagnostics.selectedRowsAtPrefill).toBeGreaterThan(0);
    expect(withVar.diagnostics.selectedRowsAtDecode).toBeGreaterThan(0);
    expect(base.diagnostics.selectedRowsAtPrefill ?? 0).toBe(0);
    const again = await runCli(args);
    expect(JSON.parse(again.stdout).rows.map((r: { ids: number[] }) => r.ids)).toEqual(record.rows.map((r: { ids: number[] }) => r.ids));
  });

  it('inspect: heatmaps and sink marks on every panel of the image', async () => {
    const out = join(dir, 'inspect');
    const result = await runCli(['inspect', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--out', out, '--preset', 'hallucination', '--layers', '2']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.family).toBe(name);
    expect(report.layers[2].visualSinks.length).toBeGreaterThan(0);
    const files = await readdir(out);
    expect(files).toContain('heads.png');
    expect(files.filter((f) => /^sinks-sample(-\w+)?\.png$/.test(f)).length).toBeGreaterThan(0);
    const panels = files.filter((f) => /^attention-L2-var-sample(-\w+)?\.png$/.test(f)).length;
    expect(panels).toBeGreaterThan(0);
    expect(files.filter((f) => /^attention-L2-base-sample(-\w+)?\.png$/.test(f))).toHaveLength(panels);
  });

  it('eval pope: base and VAR scored', async () => {
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

  it(`demo --model-family ${name}`, async () => {
    const result = await runCli(['demo', '--model-family', name, '--cache', join(dir, 'cache'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const demo = JSON.parse(result.stdout);
    expect(demo.family).toBe(name);
    expect(demo.layers.some((l: { selectedAtPrefill: number }) => l.selectedAtPrefill > 0)).toBe(true);
  });
});
