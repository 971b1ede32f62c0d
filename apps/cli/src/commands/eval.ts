import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCHMARKS, type EvalItem, type EvalRow, type ShardSpec, createJudge, createProgressPrinter, getBenchmark, mergeShards, parseShard, runEvaluation } from '@vasink/eval';
import { decodeImage } from '@vasink/image';
import { type RowSettings, type VisionLanguageModel, collect } from '@vasink/runtime';
import { METHOD_FLAGS, methodChoicesFromFlags, methodHelp, methodRowFromFlags, rowName } from '../lib/method-flags.js';
import { UsageError, numberFlag, parseCommand, required } from '../lib/usage.js';
import { VAR_FLAGS, VAR_HELP } from '../lib/var-flags.js';
import { MODEL_FLAGS, MODEL_HELP, openModel } from './model-flags.js';

/** `--shard i/n`, or `--shards n` with the index from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based). */
export function shardFromFlags(shard: string | undefined, shards: string | undefined, jobIndex: string | undefined): ShardSpec | undefined {
  if (shard !== undefined && shards !== undefined) throw new UsageError('give --shard i/n or --shards n, not both');
  if (shard !== undefined) return parseShard(shard);
  if (shards === undefined) return undefined;
  const count = numberFlag(shards, 'shards', { integer: true, min: 1 }) as number;
  if (jobIndex === undefined || !/^\d+$/.test(jobIndex.trim())) {
    throw new UsageError(`--shards ${count} takes the shard from JOB_COMPLETION_INDEX (0-based), which is ${jobIndex === undefined ? 'not set' : `"${jobIndex}"`}; outside an Indexed Job use --shard i/n`);
  }
  const index = Number(jobIndex) + 1;
  if (index > count) throw new UsageError(`JOB_COMPLETION_INDEX ${jobIndex} is not below --shards ${count}`);
  return { index, count };
}

/** The CLI's version, recorded in run directories: from its package.json (one level up from dist/, two from src/commands/). */
const CLI_VERSION = ((): string => {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@vasink/cli' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
})();

/**
 * A digest of a converted model: its manifest (checkpoint, dtype, quantization, sink dims) and the name and
 * size of every file beside it — cheap (no weight bytes are read) and different for any other conversion.
 */
export function modelDigest(dir: string): string {
  const hash = createHash('sha256').update(readFileSync(join(dir, 'manifest.json')));
  for (const name of readdirSync(dir).sort()) hash.update(`\n${name}:${statSync(join(dir, name)).size}`);
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

/** Items an evaluation answers at once unless --batch says otherwise (fewer when memory is short). */
export const DEFAULT_EVAL_BATCH = 8;
/** Prompt tokens per row the eval's preflight provisions beside the answer (LLaVA-1.5: 576 image tokens and a question); --context overrides. */
const EVAL_PROMPT_TOKENS = 1024;

const HELP = `usage: vasink eval <benchmark> --model <dir> --data <path> --out <dir> [options]
       vasink eval merge <benchmark> --data <path> --out <dir>

Run a model over a benchmark as its authors release it (or the LLaVA evaluation
layout: question jsonl + image folder), append predictions per item to JSONL,
and score them with the benchmark's official metric. Killed at any point, the
same command resumes where it stopped.
benchmarks: ${Object.keys(BENCHMARKS).join(', ')}
  --data <path>            the benchmark file or directory
  --images <dir>           image folder, when not found from --data
  --annotations <file>     label file for LLaVA-layout questions
  --out <dir>              run directory (predictions, summary.md/json, compare.md, chart.svg)
  --compare                answer every item without and with the method (image features computed once)
  --methods <list>         answer every item with each of these methods, side by side (image features
                           once per item): e.g. none,var,pai,vaf,vcd,var+vcd; one compare report and chart
                           (rows named base, var, …, var-vcd)
  --shard i/n              run the i-th of n shards, 1 ≤ i ≤ n (e.g. 1/4 … 4/4); then \`vasink eval merge\`
  --shards <n>             run one of n shards, the one JOB_COMPLETION_INDEX names (0-based, as a
                           Kubernetes Indexed Job sets it; see deploy/kubernetes)
  --allow-skips            skip and count malformed records instead of failing
  --batch <n>              items answered at once, decoded in one batch (default ${DEFAULT_EVAL_BATCH},
                           lowered to what memory allows; --compare puts both rows of an
                           item in the batch). The answers do not depend on it.
  --max-new-tokens <n>     default 128
  --limit <n>              only the first n items (smoke runs)
  --judge-url <url>        OpenAI-compatible endpoint for judged benchmarks (…/v1)
  --judge-model <name>     judge model name
  --judge-key-env <VAR>    environment variable holding the judge's API key
${methodHelp()}${VAR_HELP}${MODEL_HELP}`;

const FLAGS = {
  ...MODEL_FLAGS,
  ...VAR_FLAGS,
  ...METHOD_FLAGS,
  methods: { type: 'string' },
  data: { type: 'string' },
  images: { type: 'string' },
  annotations: { type: 'string' },
  out: { type: 'string' },
  compare: { type: 'boolean' },
  shard: { type: 'string' },
  shards: { type: 'string' },
  'allow-skips': { type: 'boolean' },
  'max-new-tokens': { type: 'string' },
  batch: { type: 'string' },
  limit: { type: 'string' },
  'judge-url': { type: 'string' },
  'judge-model': { type: 'string' },
  'judge-key-env': { type: 'string' },
} as const;

export async function runEval(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { min: 1, max: 2 });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const merging = positionals[0] === 'merge';
  const name = merging ? positionals[1] : positionals[0];
  if (!name || (!merging && positionals.length > 1)) throw new UsageError('give one benchmark name (see --help)');
  const benchmark = getBenchmark(name);
  const out = required(values.out, 'out');
  const loaded = benchmark.load({
    data: required(values.data, 'data'),
    ...(values.images ? { images: values.images } : {}),
    ...(values.annotations ? { annotations: values.annotations } : {}),
    ...(values['allow-skips'] ? { allowSkips: true } : {}),
  });
  const limit = numberFlag(values.limit, 'limit', { integer: true, min: 1 });
  const items = limit ? loaded.items.slice(0, limit) : loaded.items;
  if (loaded.skipped.length > 0) process.stderr.write(`skipped ${loaded.skipped.length} malformed record(s) (listed in the summary)\n`);
  if (merging) {
    const merged = mergeShards({ out, items });
    process.stderr.write(`merged ${merged.rows.join(', ')} into ${Object.values(merged.files).join(', ')}\n`);
    return 0;
  }
  const shard = shardFromFlags(values.shard, values.shards, process.env.JOB_COMPLETION_INDEX);
  const choices = methodChoicesFromFlags(values);
  const batchRowsPerItem = choices.reduce((n, methods) => n + Math.max(1, ...methods.map((m) => m.batchRows)), 0);
  const maxNewTokens = numberFlag(values['max-new-tokens'], 'max-new-tokens', { integer: true, min: 1 }) ?? 128;
  const judge =
    values['judge-url'] && values['judge-model']
      ? createJudge({ url: values['judge-url'], model: values['judge-model'], ...(values['judge-key-env'] ? { apiKeyEnv: values['judge-key-env'] } : {}), cacheDir: `${out}/judge-cache` })
      : undefined;
  if (benchmark.judged === true && !judge) throw new UsageError(`${benchmark.name} is scored by a judge model: give --judge-url and --judge-model`);
  const batchFlag = numberFlag(values.batch, 'batch', { integer: true, min: 1 });
  const batch = batchFlag ?? DEFAULT_EVAL_BATCH;
  // The preflight provisions every row of the batch at the prompt (an image and a question) plus the answer.
  const contextTokens = numberFlag(values.context, 'context', { integer: true, min: 1 }) ?? EVAL_PROMPT_TOKENS + maxNewTokens;
  const model = await openModel(values, {
    memory: { contextTokens },
    maxBatchRows: batch * batchRowsPerItem,
    // A --batch the user chose is kept or refused; the default shrinks to what fits.
    ...(batchFlag === undefined ? { fitBatchRows: { min: batchRowsPerItem } } : {}),
  });
  try {
    // One eval row per method choice, named as --methods spells it (the baseline: base); its settings recorded in run.json.
    const settingsByRow = new Map(choices.map((methods) => [rowName(methods), methodRowFromFlags(methods, values, model)]));
    const rows: EvalRow[] = [...settingsByRow].map(([name, settings]) => (name === 'base' ? { name } : { name, settings }));
    const inFlight = Math.max(1, Math.floor(model.maxBatchRows / batchRowsPerItem));
    if (inFlight < batch) process.stderr.write(`batch: ${inFlight} item(s) at once (${batch} would not fit in memory at ${contextTokens} tokens per row)\n`);
    const answer = answerWithModel(model, rows.map((row) => ({ name: row.name, settings: settingsByRow.get(row.name) as RowSettings })), maxNewTokens);
    const result = await runEvaluation({
      benchmark,
      items,
      out,
      answer,
      rows,
      concurrency: inFlight,
      ...(shard ? { shard } : {}),
      onProgress: createProgressPrinter(process.stderr),
      ...(judge ? { judge } : {}),
      skipped: loaded.skipped,
      meta: { model: model.dir, family: model.manifest.family, data: values.data, maxNewTokens, batch: inFlight },
      // What makes answers comparable; --batch is not part of it (answers do not depend on it).
      identity: {
        model: modelDigest(model.dir),
        family: model.manifest.family,
        sinkDims: model.sinkDims?.join(',') ?? null,
        maxNewTokens,
        sampling: 'greedy',
        template: 'default',
        vasink: CLI_VERSION,
      },
    });
    const lines = [`${result.total} item(s), ${result.resumed} resumed from an earlier run; predictions in ${Object.values(result.predictionFiles).join(', ')}`];
    if (result.reports) lines.push(`reports: ${Object.values(result.reports).join(', ')}`);
    process.stderr.write(`${lines.join('\n')}\n`);
    if (result.scores) process.stdout.write(`${JSON.stringify(result.scores, null, 2)}\n`);
    return 0;
  } finally {
    await model.close();
  }
}

/**
 * The runner's answer function: every row of one item is generated in one
 * request from one prepared request (image features once); the rows asked
 * later for the same item are served from it. Items answered concurrently
 * share the model's decoder batch.
 */
export function answerWithModel(model: VisionLanguageModel, rows: readonly { name: string; settings: RowSettings }[], maxNewTokens: number) {
  const pending = new Map<string, { answers: Promise<Map<string, { text: string; ids: number[] }>>; left: Set<string> }>();
  const generateItem = async (item: EvalItem) => {
    const images = await Promise.all(item.images.map((ref) => decodeImage('path' in ref ? ref.path : Buffer.from(ref.base64, 'base64'))));
    const prepared = await model.prepare({ question: item.prompt, images });
    // Only the text is kept: no log-probabilities or top logits to compute per token.
    const results = await collect(model.generate(prepared, { rows: rows.map((row) => row.settings), maxNewTokens, topLogits: 0, logProbs: false }));
    return new Map(rows.map((r, i) => [r.name, { text: results[i]!.text.trim(), ids: results[i]!.ids }]));
  };
  return async (item: EvalItem, row: { name: string }) => {
    let entry = pending.get(item.id);
    if (!entry) {
      entry = { answers: generateItem(item), left: new Set(rows.map((r) => r.name)) };
      pending.set(item.id, entry);
    }
    entry.left.delete(row.name);
    if (entry.left.size === 0) pending.delete(item.id);
    const answer = (await entry.answers).get(row.name)!;
    return { text: answer.text, extra: { tokens: answer.ids.length } };
  };
}
