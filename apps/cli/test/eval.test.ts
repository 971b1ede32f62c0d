// `vasink eval` end to end on tiny synthetic POPE files (made here) with the tiny
// LLaVA checkpoint: scores, base-vs-VAR reports, a kill-and-resume run, and shards.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './run-cli.js';

const SAMPLE = new URL('../assets/sample.png', import.meta.url).pathname;
const QUESTIONS = ['Is there a house in the image?', 'Is there a dog in the image?', 'Is there a tree in the image?', 'Is there a car in the image?'];

describe('vasink eval with a tiny LLaVA checkpoint', () => {
  let dir: string;
  let model: string;
  let data: string;
  let images: string;
  const items = 3 * QUESTIONS.length;
  const evalArgs = (out: string, ...more: string[]) => ['eval', 'pope', '--model', model, '--data', data, '--images', images, '--out', out, '--compare', '--max-new-tokens', '2', ...more];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-eval-'));
    expect((await runCli(['fixture', 'llava', join(dir, 'hf')])).code).toBe(0);
    model = join(dir, 'model');
    expect((await runCli(['convert', join(dir, 'hf'), model])).code).toBe(0);
    data = join(dir, 'pope');
    images = join(dir, 'images');
    await mkdir(data);
    await mkdir(images);
    await copyFile(SAMPLE, join(images, 'COCO_val2014_000000000001.png'));
    await copyFile(SAMPLE, join(images, 'COCO_val2014_000000000002.png'));
    for (const category of ['random', 'popular', 'adversarial']) {
      const lines = QUESTIONS.map((text, i) =>
        JSON.stringify({ question_id: i + 1, image: `COCO_val2014_00000000000${(i % 2) + 1}.png`, text, label: i % 2 === 0 ? 'yes' : 'no' }),
      );
      await writeFile(join(data, `coco_pope_${category}.json`), `${lines.join('\n')}\n`);
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const predictionIds = (out: string, row: string) =>
    readFileSync(join(out, 'predictions', `${row}.jsonl`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { id: string }).id);

  /** POPE ids are `<category>-<question id>`, categories in file order. */
  const byItemOrder = (a: string, b: string) => {
    const key = (id: string) => [['random', 'popular', 'adversarial'].indexOf(id.split('-')[0]!), Number(id.split('-')[1])] as const;
    const [ca, qa] = key(a);
    const [cb, qb] = key(b);
    return ca - cb || qa - qb;
  };

  it('scores base and VAR and writes the reports', async () => {
    const result = await runCli(evalArgs(join(dir, 'full')));
    expect(result.code, result.stderr).toBe(0);
    const scores = JSON.parse(result.stdout);
    expect(Object.keys(scores).sort()).toEqual(['base', 'var']);
    for (const file of ['summary.md', 'summary.json', 'compare.md', 'chart.svg']) expect(existsSync(join(dir, 'full', file)), file).toBe(true);
    for (const row of ['base', 'var']) expect(new Set(predictionIds(join(dir, 'full'), row)).size).toBe(items);
  });

  it('--methods answers every item with each method side by side: one prediction file per method, one compare report and chart', async () => {
    const out = join(dir, 'methods');
    const argsTo = (run: string) => ['eval', 'pope', '--model', model, '--data', data, '--images', images, '--out', run, '--max-new-tokens', '2', '--limit', '4'];
    const args = argsTo(out);
    const result = await runCli([...args, '--methods', 'none,var,pai,vaf,vcd,var+vcd']);
    expect(result.code, result.stderr).toBe(0);
    const rows = ['base', 'var', 'pai', 'vaf', 'vcd', 'var-vcd'];
    expect(Object.keys(JSON.parse(result.stdout)).sort()).toEqual([...rows].sort());
    for (const row of rows) expect(predictionIds(out, row), row).toHaveLength(4);
    const compare = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(compare).toContain('base vs var vs pai vs vaf vs vcd vs var-vcd');
    for (const row of rows.slice(1)) expect(compare).toContain(`Δ ${row}`);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toContain('var-vcd');
    // The base and VAR rows are those of --compare (the same answers, whatever else runs beside them).
    const compared = join(dir, 'methods-compare');
    expect((await runCli([...argsTo(compared), '--compare'])).code).toBe(0);
    const answers = (run: string, row: string) => readFileSync(join(run, 'predictions', `${row}.jsonl`), 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { text: string }).text);
    for (const row of ['base', 'var']) expect(answers(compared, row), row).toEqual(answers(out, row));
    const refused = await runCli([...args, '--methods', 'none,dola']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--methods: unknown method "dola": choose var, pai, vaf, vcd or none/);
    expect((await runCli([...args, '--methods', 'none,var', '--compare'])).stderr).toMatch(/--methods lists every row itself: drop --compare/);
    expect((await runCli([...args, '--methods', 'none,vaf', '--pai-alpha', '0.5'])).stderr).toMatch(/--pai-alpha needs --method pai/);
  });

  it('--batch changes the speed, never the answers: --batch 1 and --batch 6 write the same predictions', async () => {
    const texts = async (batch: string) => {
      const out = join(dir, `batch-${batch}`);
      const result = await runCli([...evalArgs(out), '--max-new-tokens', '12', '--batch', batch]);
      expect(result.code, result.stderr).toBe(0);
      return Object.fromEntries(
        ['base', 'var'].flatMap((row) =>
          readFileSync(join(out, 'predictions', `${row}.jsonl`), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as { id: string; text: string; tokens: number })
            .map((p) => [`${row}/${p.id}`, `${p.tokens}:${p.text}`]),
        ),
      );
    };
    const one = await texts('1');
    expect(Object.keys(one)).toHaveLength(2 * items);
    expect(await texts('6')).toEqual(one);
    expect((await runCli([...evalArgs(join(dir, 'bad-batch')), '--batch', '0'])).stderr).toMatch(/--batch/);
  });

  it('resumes a run killed mid-way: nothing lost or duplicated, scores identical', async () => {
    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [CLI, ...evalArgs(out)], { stdio: 'ignore' });
    const predictions = join(out, 'predictions', 'var.jsonl');
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const done = existsSync(predictions) ? readFileSync(predictions, 'utf8').split('\n').filter(Boolean).length : 0;
        if (done >= 3) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        } else if (Date.now() - started > 120_000) {
          clearInterval(poll);
          reject(new Error('eval made no progress'));
        }
      }, 20);
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const partial = predictionIds(out, 'var').length;
    expect(partial).toBeLessThan(items);
    const resumed = await runCli(evalArgs(out));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed/);
    for (const row of ['base', 'var']) {
      const ids = predictionIds(out, row);
      expect(ids).toHaveLength(items);
      expect(new Set(ids).size).toBe(items);
    }
    const summary = (run: string) => JSON.parse(readFileSync(join(dir, run, 'summary.json'), 'utf8')) as { rows: unknown };
    expect(summary('killed').rows).toEqual(summary('full').rows);
  });

  it('a run directory keeps its identity and one writer: another preset, token limit or sink dims is refused on resume; a second eval at once is refused', async () => {
    const out = join(dir, 'identity');
    const first = await runCli([...evalArgs(out), '--limit', '2']);
    expect(first.code, first.stderr).toBe(0);
    const refusals: [string[], RegExp][] = [
      [['--preset', 'vision-centric'], /holds a different run \(row var settings .*"rho":0\.8.* ≠ .*"rho":0\.9/],
      [['--max-new-tokens', '3'], /maxNewTokens 2 ≠ 3/],
      [['--sink-dims', '7'], /sinkDims ".*" ≠ "7"/],
    ];
    for (const [more, message] of refusals) {
      const result = await runCli([...evalArgs(out), '--limit', '2', ...more]);
      expect(result.code, more.join(' ')).toBe(1);
      expect(result.stderr, more.join(' ')).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    // Two evals on one --out: the second is refused while the first writes; the directory stays whole.
    const concurrent = join(dir, 'concurrent');
    const child = spawn(process.execPath, [CLI, ...evalArgs(concurrent), '--max-new-tokens', '24'], { stdio: 'ignore' });
    const lock = join(concurrent, '.lock');
    for (let waited = 0; !existsSync(lock) && waited < 60_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await runCli([...evalArgs(concurrent), '--max-new-tokens', '24']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is being written by another run \(process \d+, since/);
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
    for (const row of ['base', 'var']) expect(new Set(predictionIds(concurrent, row)).size).toBe(items);
    for (const row of ['base', 'var']) expect(predictionIds(concurrent, row)).toHaveLength(items);
  });

  it("runs deploy/kubernetes/eval-job.yaml's args locally as the Indexed Job would (JOB_COMPLETION_INDEX 0…n−1, in parallel), merges them, and equals one run", async () => {
    const { loadAll } = createRequire(import.meta.url)('js-yaml') as { loadAll(text: string): unknown[] };
    const [job] = loadAll(readFileSync(new URL('../../../deploy/kubernetes/eval-job.yaml', import.meta.url), 'utf8')) as {
      spec: { completions: number; template: { spec: { containers: { args: string[] }[] } } };
    }[];
    const out = join(dir, 'k8s');
    const local: Record<string, string> = { '--model': model, '--data': data, '--images': images, '--out': out };
    const args = job!.spec.template.spec.containers[0]!.args.map((arg, i, all) => local[all[i - 1] ?? ''] ?? arg);
    const shards = await Promise.all(
      Array.from({ length: job!.spec.completions }, (_, index) => runCli([...args, '--max-new-tokens', '2'], { env: { JOB_COMPLETION_INDEX: String(index) } })),
    );
    shards.forEach((shard, index) => expect(shard.code, `index ${index}: ${shard.stderr}`).toBe(0));
    expect((await runCli(['eval', 'merge', 'pope', '--data', data, '--images', images, '--out', out])).code).toBe(0);
    const texts = (run: string, row: string) =>
      Object.fromEntries(readFileSync(join(run, 'predictions', `${row}.jsonl`), 'utf8').split('\n').filter(Boolean).map((line) => {
        const p = JSON.parse(line) as { id: string; text: string };
        return [p.id, p.text];
      }));
    for (const row of ['base', 'var']) expect(texts(out, row)).toEqual(texts(join(dir, 'full'), row));
    const outside = await runCli([...args, '--max-new-tokens', '2']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/--shards 4 takes the shard from JOB_COMPLETION_INDEX \(0-based\), which is not set/);
  });

  it('runs shards and merges them into the full run', async () => {
    const out = join(dir, 'sharded');
    for (const shard of ['1/2', '2/2']) {
      const result = await runCli(evalArgs(out, '--shard', shard));
      expect(result.code, result.stderr).toBe(0);
    }
    const merged = await runCli(['eval', 'merge', 'pope', '--data', data, '--images', images, '--out', out]);
    expect(merged.code, merged.stderr).toBe(0);
    // The merge writes benchmark order; a batched run writes in the order items finish.
    expect(predictionIds(out, 'var')).toEqual([...predictionIds(join(dir, 'full'), 'var')].sort(byItemOrder));
  });

  it('names the file and line of a malformed record, or counts it with --allow-skips', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    for (const category of ['random', 'popular', 'adversarial']) await copyFile(join(data, `coco_pope_${category}.json`), join(bad, `coco_pope_${category}.json`));
    await writeFile(join(bad, 'coco_pope_random.json'), `${await readFile(join(data, 'coco_pope_random.json'), 'utf8')}{ not json\n`);
    const failed = await runCli(['eval', 'pope', '--model', model, '--data', bad, '--images', images, '--out', join(dir, 'bad-run')]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/coco_pope_random.json:5/);
    const skipped = await runCli(['eval', 'pope', '--model', model, '--data', bad, '--images', images, '--out', join(dir, 'bad-run'), '--allow-skips', '--max-new-tokens', '1', '--limit', '2']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toMatch(/skipped 1 malformed record/);
  });
});

