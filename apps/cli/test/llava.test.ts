// The LLaVA path through the real CLI, as a user runs it: fixture → convert →
// generate / --compare / --json → inspect → find-sink-dims → demo.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;

describe('vasink with a tiny LLaVA checkpoint', () => {
  let dir: string;
  let model: string;
  let planted: { sinkDims: number[]; sinkPatches: number[] };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-llava-'));
    const fixture = await runCli(['fixture', 'llava', join(dir, 'hf')]);
    expect(fixture.code, fixture.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(dir, 'hf', 'config.json'), 'utf8'));
    planted = { sinkDims: config.vasink.sink_dims, sinkPatches: config.vasink.sink_patches };
    model = join(dir, 'model');
    const convert = await runCli(['convert', join(dir, 'hf'), model]);
    expect(convert.code, convert.stderr).toBe(0);
    expect(convert.stderr).toMatch(/sink dims 113, 401/);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses to convert into a non-empty directory without --force', async () => {
    const again = await runCli(['convert', join(dir, 'hf'), model]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty; pass --force/);
  });

  it('--force overwrites a model directory, never a directory holding other files', async () => {
    const other = join(dir, 'my-notes');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'thesis.tex'), 'do not lose me');
    const refused = await runCli(['convert', join(dir, 'hf'), other, '--force']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds files a conversion does not write \(thesis\.tex\); --force only overwrites a vasink model directory/);
    expect(await readFile(join(other, 'thesis.tex'), 'utf8')).toBe('do not lose me');
  });

  it('generates greedily and identically across runs, with and without VAR', async () => {
    const args = ['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '8'];
    const a = await runCli(args);
    const b = await runCli(args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.trim().length).toBeGreaterThan(0);
    const base = await runCli([...args, '--no-var']);
    expect(base.code).toBe(0);
  });

  it('--method runs PAI, VAF, VCD, VAR+VCD or none, deterministically; VCD with α 0 is the baseline; bad choices are refused in one line', async () => {
    const args = ['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '6', '--json'];
    const rowOf = async (...more: string[]) => {
      const out = await runCli([...args, ...more]);
      expect(out.code, out.stderr).toBe(0);
      return JSON.parse(out.stdout).rows[0] as { name: string; method: string; ids: number[]; settings: Record<string, unknown> };
    };
    const none = await rowOf('--method', 'none');
    expect(none).toMatchObject({ name: 'base', method: 'baseline' });
    expect((await rowOf('--no-var')).ids).toEqual(none.ids);
    for (const [method, described] of [['pai', /^PAI α=0.2 layers 2–4, γ=1.1 vs the text-only prompt$/], ['vaf', /^VAF β=0.15 α=0.05 layers 1–1$/], ['vcd', /^VCD α=1 β=0.1 noise step 500 seed 0$/], ['var+vcd', /^VAR τ=20 .* \+ VCD α=1/]] as const) {
      const row = await rowOf('--method', method);
      expect(row.name).toBe(method.replace('+', '-'));
      expect(row.method).toMatch(described);
      // The noised image is seeded: a contrast with it gives the same answer every run.
      if (method.includes('vcd')) expect((await rowOf('--method', method)).ids, method).toEqual(row.ids);
    }
    // The contrast's α = 0 is the row itself; other seeds give other noise (the answer may or may not change).
    expect((await rowOf('--method', 'vcd', '--vcd-alpha', '0')).ids).toEqual(none.ids);
    expect((await rowOf('--method', 'pai', '--pai-alpha', '0', '--pai-gamma', '1')).ids).toEqual(none.ids);
    expect((await rowOf('--method', 'vaf', '--vaf-enhance', '0', '--vaf-suppress', '0')).ids).toEqual(none.ids);
    // Flags: usage mistakes (exit 2); values out of range: bad input (exit 1).
    for (const [flags, code, message] of [
      [['--method', 'dola'], 2, /--method: unknown method "dola": choose var, pai, vaf, vcd or none/],
      [['--method', 'pai', '--preset', 'general'], 2, /--preset needs --method var/],
      [['--method', 'pai+vcd'], 2, /PAI and VCD both set the contrast part of a row; they cannot run together/],
      [['--method', 'vcd', '--vcd-seed', '-1'], 2, /--vcd-seed/],
      [['--method', 'vcd', '--vcd-noise-step', '1000'], 1, /noise step must be an integer in \[0, 999\], got 1000/],
      [['--method', 'vaf', '--vaf-suppress', '2'], 1, /VAF suppress \(α\) must be in \[0, 1\], got 2/],
    ] as const) {
      const out = await runCli([...args, ...flags]);
      expect(out.code, flags.join(' ')).toBe(code);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(message);
    }
  }, 240_000);

  it('inspect --method pai draws the maps of the baseline and PAI on the layers PAI acts on', async () => {
    const out = join(dir, 'inspect-pai');
    const result = await runCli(['inspect', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--out', out, '--method', 'pai']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.method).toBe('pai');
    expect(report.layers.map((l: { varActive: boolean }) => l.varActive)).toEqual([false, false, true, true, true]);
    expect(await readdir(out)).toEqual(expect.arrayContaining(['attention-L2-base-sample.png', 'attention-L2-pai-sample.png', 'attention-L4-pai-sample.png']));
  });

  it('--compare shows both answers side by side', async () => {
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '6', '--compare', '--preset', 'hallucination']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/base \(VAR off\)\s+\| VAR τ=20 ρ=0.5 p=0.6 m=0.2/);
  });

  it('--json records the prompt, every step and what VAR did', async () => {
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '5', '--compare', '--preset', 'hallucination', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const record = JSON.parse(out.stdout);
    const imagePositions: number[] = record.prompt.imageTokenPositions;
    // Both answers came from one run of the vision graph.
    expect(record.visionRuns).toBe(1);
    expect(imagePositions.length).toBe(record.images[0].tokens);
    expect(record.prompt.tokenIds.length).toBeGreaterThan(imagePositions.length);
    const [base, withVar] = record.rows;
    expect(base.name).toBe('base');
    expect(withVar.var).toMatchObject({ tau: 20, rho: 0.5, p: 0.6 });
    for (const row of record.rows) {
      expect(row.steps).toHaveLength(row.ids.length);
      for (const step of row.steps) {
        expect(step.top5).toHaveLength(5);
        expect(step.logProb).toBeLessThanOrEqual(0);
        expect(step.top5[0].logit).toBeGreaterThanOrEqual(step.top5[4].logit);
      }
    }
    // Sinks at the planted positions: BOS and the planted image patches, from layer 2 on.
    const expected = [0, ...planted.sinkPatches.map((p) => imagePositions[0]! + p)];
    withVar.diagnostics.sinksPerLayer.slice(2).forEach((layer: number[]) => expect(layer).toEqual(expected));
    expect(withVar.diagnostics.selectedRowsAtPrefill).toBeGreaterThan(0);
    expect(withVar.diagnostics.selectedRowsAtDecode).toBeGreaterThan(0);
    expect(withVar.diagnostics.movedMassPerLayer.reduce((a: number, x: number) => a + x, 0)).toBeGreaterThan(1);
    expect(base.diagnostics.selectedRowsAtPrefill).toBe(0);
    // VAR changes the distribution of the first token.
    expect(withVar.steps[0].top5.map((t: { logit: number }) => t.logit)).not.toEqual(base.steps[0].top5.map((t: { logit: number }) => t.logit));
  });

  it('--system replaces the prompt format\'s system message', async () => {
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '1', '--system', 'Answer in one word.', '--json']);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).prompt.text).toBe('Answer in one word. USER: <image>\nWhat is in the image? ASSISTANT:');
  });

  it('inspect writes the report and the pictures', async () => {
    const out = join(dir, 'inspect');
    const result = await runCli(['inspect', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--out', out, '--preset', 'hallucination']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    const layer2 = report.layers[2];
    expect(layer2.varActive).toBe(true);
    expect(layer2.visualSinks.map((s: { patch: number }) => s.patch)).toEqual(planted.sinkPatches);
    expect(layer2.movedMass).toBeGreaterThan(0);
    expect(layer2.imageAttention.var).toBeGreaterThan(layer2.imageAttention.base - 1e-6);
    const files = await readdir(out);
    expect(files).toEqual(expect.arrayContaining(['report.json', 'sinks-sample.png', 'heads.png', 'attention-L2-base-sample.png', 'attention-L2-var-sample.png']));
    const png = await readFile(join(out, 'heads.png'));
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
  });

  it('find-sink-dims proposes the planted sink dimensions', async () => {
    const result = await runCli(['find-sink-dims', '--model', model, '--images', SAMPLE, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const proposal = JSON.parse(result.stdout);
    expect(proposal.sinkDims).toContain(planted.sinkDims[0]);
    expect(proposal.evidence[0].minScore).toBeGreaterThan(proposal.threshold);
  });

  it('demo runs from a cache directory and shows what VAR did', async () => {
    const result = await runCli(['demo', '--cache', join(dir, 'cache')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| 2 \| 4 \(3\) \| [1-9]\d* \| [1-9]\d* \| \d+\.\d+ \|/);
    const cached = await runCli(['demo', '--cache', join(dir, 'cache'), '--json']);
    expect(JSON.parse(cached.stdout).layers[2].selectedAtPrefill).toBeGreaterThan(0);
  });

  it('convert --quant int4: a quantized model that generates, inspects and finds the sink dims', async () => {
    const quantized = join(dir, 'model-int4');
    const convert = await runCli(['convert', join(dir, 'hf'), quantized, '--quant', 'int4', '--block-size', '32']);
    expect(convert.code, convert.stderr).toBe(0);
    expect(convert.stderr).toMatch(/float32 \+ int4 weights \(block 32\)/);
    const manifest = JSON.parse(await readFile(join(quantized, 'manifest.json'), 'utf8'));
    expect(manifest.quantization).toMatchObject({ scheme: 'int4', bits: 4, blockSize: 32, accuracyLevel: 4, floatTensors: [] });
    const generated = await runCli(['generate', '--model', quantized, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--preset', 'hallucination', '--json']);
    expect(generated.code, generated.stderr).toBe(0);
    const record = JSON.parse(generated.stdout);
    expect(record.rows[0].ids.length).toBeGreaterThan(0);
    expect(record.rows[0].steps).toHaveLength(record.rows[0].ids.length);
    const sinks = await runCli(['find-sink-dims', '--model', quantized, '--images', SAMPLE, '--json']);
    expect(sinks.code, sinks.stderr).toBe(0);
    expect(JSON.parse(sinks.stdout).sinkDims).toContain(planted.sinkDims[0]);
    const out = join(dir, 'inspect-int4');
    const inspected = await runCli(['inspect', '--model', quantized, '--image', SAMPLE, '--prompt', 'What is in the image?', '--out', out, '--preset', 'hallucination']);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect((await readdir(out)).length).toBeGreaterThan(2);
  });

  it('refuses bad quantization flags in one line', async () => {
    for (const [flags, message] of [
      [['--quant', 'int3'], /--quant must be int4 or int8, got "int3"/],
      [['--quant', 'int4', '--block-size', '48'], /--block-size must be a power of two ≥ 16, got 48/],
      [['--block-size', '64'], /--block-size and --accuracy-level need --quant/],
      [['--quant', 'int8', '--accuracy-level', '2'], /--accuracy-level must be 0 or 4, got 2/],
    ] as const) {
      const result = await runCli(['convert', join(dir, 'hf'), join(dir, 'bad-quant'), ...flags]);
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('the memory preflight refuses, before loading, a context that cannot fit, naming the numbers and the fix', async () => {
    const result = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--context', '2000000']);
    expect(result.code).toBe(3); // memory is the setup, not the input: exit 3
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/not enough memory for LlavaForConditionalGeneration \(float32\) on CPU: needs about [\d.]+ GiB — weights [\d.]+ GiB \+ KV cache [\d.]+ GiB at 2000000 tokens × 2 rows .* but [\d.]+ GiB is available; .*lower the context \(now 2000000 tokens\)/);
  });
});
