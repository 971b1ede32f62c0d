// `vasink bench` and the timings of `vasink generate` on the tiny LLaVA checkpoint:
// the records' fields are present, positive and consistent with each other; no timing
// value is checked (they depend on the machine).
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;
/** Small settings: a tiny probe, few steps, no settle pause. */
const TINY = ['--decode', '3', '--runs', '2', '--probe-mib', '16', '--settle', '0'];

describe('vasink bench and generation timings on a tiny LLaVA checkpoint', () => {
  let dir: string;
  let model: string;
  let manifest: { dtype: string; decoder: { numLayers: number; numKvHeads: number; headDim: number } };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-bench-'));
    const fixture = await runCli(['fixture', 'llava', join(dir, 'hf')]);
    expect(fixture.code, fixture.stderr).toBe(0);
    model = join(dir, 'model');
    const convert = await runCli(['convert', join(dir, 'hf'), model]);
    expect(convert.code, convert.stderr).toBe(0);
    manifest = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('bench --json: every part of the record, contexts reached as requested, VAR on and off timed side by side', async () => {
    const out = await runCli(['bench', '--model', model, '--context', '220,260', ...TINY, '--json']);
    expect(out.code, out.stderr).toBe(0);
    // Progress went to stderr, the record alone to stdout.
    expect(out.stderr).toMatch(/bench: loading/);
    const record = JSON.parse(out.stdout);
    expect(record).toMatchObject({ family: 'llava', dtype: 'float32', device: 'cpu', settings: { runs: 2, decodeSteps: 3, varPreset: 'general', varSkipped: null } });
    expect(record.settings.var).toMatchObject({ tau: 20, rho: 0.8, p: 0.6 });
    expect(record.load.seconds).toBeGreaterThan(0);
    expect(record.load.rssAfterLoadBytes).toBeGreaterThan(0);
    expect(record.peakRssBytes).toBeGreaterThanOrEqual(record.load.rssAfterLoadBytes);
    expect(record.vision.ms).toHaveLength(2);
    expect(record.vision.msPerImage).toBeGreaterThan(0);
    expect(record.vision.imageTokens).toBeGreaterThan(0);
    expect(record.prompt.naturalTokens).toBeGreaterThan(record.vision.imageTokens);
    expect(record.prompt.naturalTokens).toBeLessThanOrEqual(220);
    expect(record.bandwidth.bytesPerSecond).toBeGreaterThan(0);
    // Two probes, before loading and after closing: the floor uses the higher.
    const { beforeLoad, afterClose } = record.bandwidthProbes;
    expect(record.bandwidth.bytesPerSecond).toBe(Math.max(beforeLoad.bytesPerSecond, afterClose.bytesPerSecond));
    expect(record.bandwidth.method).toMatch(/the higher of probes before loading \([\d.]+ GB\/s on CPU\) and after closing \([\d.]+ GB\/s on CPU\)/);
    expect(record.bandwidth.matrixBytes).toBeLessThanOrEqual(16 * 2 ** 20);
    // The decoder's weights as stored: float32 here, within the model's one weights file.
    const weightsFile = (await readdir(model)).find((f) => f.endsWith('.bin'))!;
    const { size } = await stat(join(model, weightsFile));
    expect(record.decoderWeights.storedBytes).toBeGreaterThan(0);
    expect(record.decoderWeights.storedBytes).toBeLessThan(size);
    expect(record.decoderWeights.byDtype.float32).toBeGreaterThan(0);
    expect(record.decoderWeights.widenedOnCpu).toBe(false);

    expect(record.contexts.map((c: { requested: number; context: number }) => [c.requested, c.context])).toEqual([
      [220, 220],
      [260, 260],
    ]);
    const { numLayers, numKvHeads, headDim } = manifest.decoder;
    for (const c of record.contexts) {
      expect(c.fillerTokens).toBe(c.context - record.prompt.naturalTokens);
      expect(c.prefill.tokens).toBe(c.context);
      for (const variant of [c.prefill.off, c.prefill.on]) {
        expect(variant.ms).toHaveLength(2);
        expect(variant.tokensPerSecond).toBeGreaterThan(0);
      }
      expect(c.decode).toMatchObject({ steps: 3, runs: 2, tokens: 6, contextStart: c.context, contextEnd: c.context + 3 });
      for (const variant of [c.decode.off, c.decode.on]) {
        expect(variant.ms).toHaveLength(6);
        expect(variant.tokensPerSecond).toBeCloseTo(1000 / variant.medianMs, 6);
      }
      expect(c.prefill.onOffTimeRatio).toBeGreaterThan(0);
      expect(c.decode.onOffTimeRatio).toBeGreaterThan(0);
      // The floor: decoder weights + the float32 KV cache at the middle of the timed steps.
      expect(c.floor.contextTokens).toBe(c.context + 1);
      expect(c.floor.kvCacheBytes).toBe(2 * numLayers * numKvHeads * headDim * c.floor.contextTokens * 4);
      expect(c.floor.weightBytes).toBe(record.decoderWeights.readBytes);
      expect(c.floor.bytesPerStep).toBe(c.floor.weightBytes + c.floor.kvCacheBytes);
      expect(c.floor.tokensPerSecond).toBeCloseTo(record.bandwidth.bytesPerSecond / c.floor.bytesPerStep, 6);
      expect(c.floor.fractionOff).toBeCloseTo(c.decode.off.tokensPerSecond / c.floor.tokensPerSecond, 6);
      expect(c.floor.fractionOn).toBeCloseTo(c.decode.on.tokensPerSecond / c.floor.tokensPerSecond, 6);
    }
  });

  it('bench prints one table; the default context is the natural prompt; VAR is skipped, and said so, without sink dims', async () => {
    const table = await runCli(['bench', '--model', model, '--decode', '2', '--runs', '1', '--probe-mib', '16', '--settle', '0']);
    expect(table.code, table.stderr).toBe(0);
    for (const row of ['load (sessions + tokenizer)', 'RSS after load', 'vision (1 image', 'prefill tok/s', 'decode tok/s', 'peak RSS', 'read bandwidth']) {
      expect(table.stdout).toContain(`| ${row}`);
    }
    expect(table.stdout).toMatch(/floor = bytes one decode step reads/);

    // The same model with no sink dimensions in its manifest (graphs and weights linked, not copied).
    const bare = join(dir, 'no-sink-dims');
    await mkdir(bare);
    for (const file of await readdir(model)) if (file !== 'manifest.json') await symlink(join(model, file), join(bare, file));
    const m = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
    await writeFile(join(bare, 'manifest.json'), JSON.stringify({ ...m, sink: { ...m.sink, dims: null, source: 'none' } }));
    const out = await runCli(['bench', '--model', bare, '--decode', '2', '--runs', '1', '--probe-mib', '16', '--settle', '0', '--json']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/VAR on skipped: no sink dimensions .* pass --sink-dims/);
    const record = JSON.parse(out.stdout);
    expect(record.settings.varSkipped).toMatch(/--sink-dims/);
    const [only] = record.contexts;
    expect(only).toMatchObject({ requested: null, context: record.prompt.naturalTokens, fillerTokens: 0 });
    expect(only.decode.on).toBeNull();
    expect(only.floor.fractionOn).toBeNull();
    expect(only.decode.off.ms).toHaveLength(2);
  });

  it('bench --method times another method against off: PAI as its two decoder rows, VAF as one', async () => {
    for (const [method, rows] of [['pai', 2], ['vaf', 1]] as const) {
      const out = await runCli(['bench', '--model', model, '--method', method, ...TINY, '--json']);
      expect(out.code, out.stderr).toBe(0);
      const record = JSON.parse(out.stdout);
      expect(record.settings).toMatchObject({ method, onRows: rows, var: null, varSkipped: null });
      expect(record.settings.methodSettings).toMatch(method === 'pai' ? /^PAI α=0.2 .*γ=1.1/ : /^VAF β=0.15/);
      const [context] = record.contexts;
      expect(context.decode.on.tokensPerSecond).toBeGreaterThan(0);
      expect(context.decode.onOffTimeRatio).toBeGreaterThan(0);
    }
    const table = await runCli(['bench', '--model', model, '--method', 'vcd', '--decode', '2', '--runs', '1', '--probe-mib', '16', '--settle', '0']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\| vcd on \|/);
    expect(table.stdout).toMatch(/2 decoder rows: the contrast's counterpart as a second row of the same prompt/);
    const none = await runCli(['bench', '--model', model, '--method', 'none']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--method none: bench times a method against off/);
  });

  it('bench refuses bad flags and directories in one line', async () => {
    const cases: [string[], number, RegExp][] = [
      [['bench'], 2, /--model is required/],
      [['bench', '--model', dir], 1, /is not a converted vasink model \(no manifest.json\)/],
      [['bench', '--model', model, '--decode', '0'], 2, /--decode must be an integer ≥ 1/],
      [['bench', '--model', model, '--context', '200,x'], 2, /--context must be comma-separated/],
      [['bench', '--model', model, '--device', 'gpu'], 2, /--device must be auto, cuda or cpu/],
      [['bench', '--model', model, '--context', '10', ...TINY], 2, /--context 10 is shorter than the prompt itself: \d+ tokens/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(code);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('vasink'));
      expect(errors, args.join(' ')).toHaveLength(1);
      expect(errors[0], args.join(' ')).toMatch(message);
    }
  });

  it('generate --json records load, vision, prefill and every decode step, consistent with the tokens', async () => {
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '5', '--compare', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const record = JSON.parse(out.stdout);
    const { timings } = record;
    const longest = Math.max(...record.rows.map((r: { ids: number[] }) => r.ids.length));
    expect(timings.loadMs).toBeGreaterThan(0);
    expect(timings.visionMs).toBeGreaterThan(0);
    expect(Math.abs(timings.visionMs - record.visionMs)).toBeLessThanOrEqual(0.5);
    expect(timings).toMatchObject({ images: 1, rows: 2, prefillTokens: 2 * record.prompt.tokenIds.length });
    expect(timings.prefillMs).toBeGreaterThan(0);
    // The first token of each row comes from the prefill, every later one from one decode call shared by the rows.
    expect(timings.decodeStepMs).toHaveLength(longest - 1);
    for (const ms of timings.decodeStepMs) expect(ms).toBeGreaterThan(0);
    expect(timings.decodeMs).toBeCloseTo(timings.decodeStepMs.reduce((a: number, b: number) => a + b, 0), 2);
    expect(timings.decodeTokensPerSecond).toBeCloseTo(((longest - 1) * 1000) / timings.decodeMs, 0);
  });

  it('generate --verbose prints one timings line on stderr', async () => {
    const out = await runCli(['generate', '--model', model, '--image', SAMPLE, '--prompt', 'What is in the image?', '--max-new-tokens', '4', '--verbose']);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stderr.split('\n').filter((line) => line.startsWith('timings:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^timings: load [\d.]+ s · vision \d+ ms \(1 image\) · prefill \d+ tokens in \d+ ms \([\d.]+ tok\/s\) · decode [0-3] steps in \d+ ms \(([\d.]+|–) tok\/s\)$/);
  });
});
