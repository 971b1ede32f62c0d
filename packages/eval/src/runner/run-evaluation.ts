import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchmarkDefinition, BenchmarkScore, EvalItem, Prediction, SubmissionFile } from '../benchmark.js';
import type { DataIssue } from '../data-issues.js';
import { EvalConfigError, ShardMergeError } from '../errors.js';
import type { Judge } from '../judge/judge-client.js';
import { writeReports } from '../report/report.js';
import type { ReportFiles } from '../report/report.js';
import { PredictionStore, readPredictions } from './predictions-store.js';
import { acquireRunLock } from './run-lock.js';
import type { FsyncPolicy } from './predictions-store.js';
import type { ProgressEvent } from './progress.js';
import { ProgressTracker } from './progress.js';
import { assertRowName, itemsDigest, manifestFile, predictionsFile } from './run-files.js';
import type { ShardSpec } from './shard.js';
import { shardItems } from './shard.js';
import { writeAtomic } from './write-atomic.js';

/** One configuration the model is run under: `base`, `var`, a preset... */
export interface EvalRow {
  /** File-safe name, e.g. `base` or `var`. */
  readonly name: string;
  /** Free-form settings recorded in the manifest and passed back to `answer` (e.g. `{ preset: 'general' }`). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** What the answer function returns for one item and row. */
export interface AnswerResult {
  /** The model's answer text, as decoded. */
  readonly text: string;
  /** Anything else worth keeping with the prediction (token counts, timings); must be JSON. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Answers one item under one row; the CLI wires the model in here. */
export type AnswerFunction = (item: EvalItem, row: EvalRow) => Promise<AnswerResult>;

/** Options of {@link runEvaluation}. */
export interface RunEvaluationOptions {
  readonly benchmark: BenchmarkDefinition<any>;
  /** All items of the benchmark (not only this shard's): they define ids, order and sharding. */
  readonly items: readonly EvalItem[];
  /** Run directory; the same directory resumes the run. */
  readonly out: string;
  readonly answer: AnswerFunction;
  /** Default `[{ name: 'base' }]`; `--compare` passes `[{ name: 'base' }, { name: 'var', ... }]`. */
  readonly rows?: readonly EvalRow[];
  readonly shard?: ShardSpec;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Default `always`: each prediction is fsynced (cheap next to a model call). */
  readonly fsync?: FsyncPolicy;
  /** Score and write reports when the run (unsharded) completes (default true). */
  readonly score?: boolean;
  readonly judge?: Judge;
  /** Records skipped while loading, for the reports. */
  readonly skipped?: readonly DataIssue[];
  /** Recorded in the manifest (model directory, preset, command line...). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Stop cleanly between items. */
  readonly signal?: AbortSignal;
  /**
   * Items answered at once (default 1): `answer` is called for up to this
   * many items concurrently, so a batching model can decode them in one
   * batch. Each prediction is still appended once, when it exists (file
   * order may then differ from item order; scores and merges do not depend
   * on it), and a resumed run redoes only the items not yet written.
   */
  readonly concurrency?: number;
  /**
   * What makes the answers of this run comparable (model digest, generation
   * settings, prompt template, code version, …): recorded in `run.json`; a
   * resume with any value different is refused, naming it. Row settings
   * (method and parameters) are compared as well.
   */
  readonly identity?: Readonly<Record<string, string | number | boolean | null>>;
}

/** What {@link runEvaluation} did. */
export interface RunEvaluationResult {
  readonly out: string;
  readonly rows: readonly EvalRow[];
  /** Items of this shard (or all), and how many were already done on start. */
  readonly total: number;
  readonly resumed: number;
  readonly completed: boolean;
  readonly predictionFiles: Readonly<Record<string, string>>;
  readonly scores?: Readonly<Record<string, BenchmarkScore>>;
  readonly reports?: ReportFiles;
}

interface Manifest {
  readonly benchmark: string;
  readonly items: number;
  readonly itemsDigest: string;
  readonly rows: readonly EvalRow[];
  readonly shard: ShardSpec | null;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly identity?: Readonly<Record<string, string | number | boolean | null>>;
  readonly createdAt: string;
}

/**
 * Run a model over a benchmark and score it. Each answer is appended to
 * `out/predictions/<row>.jsonl` as one line as soon as it exists; running the
 * same call again after a crash or kill continues where it stopped (a torn
 * last line is dropped, finished items are skipped), so no item is lost or
 * answered twice and the scores equal those of an uninterrupted run. With
 * `shard`, only that shard's items run; {@link mergeShards} joins the shards.
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<RunEvaluationResult> {
  const rows = options.rows ?? [{ name: 'base' }];
  if (rows.length === 0) throw new EvalConfigError('runEvaluation needs at least one row');
  for (const row of rows) assertRowName(row.name);
  if (new Set(rows.map((row) => row.name)).size !== rows.length) throw new EvalConfigError('row names must be distinct');
  assertUniqueIds(options.items);
  mkdirSync(options.out, { recursive: true });
  const release = acquireRunLock(options.out, options.shard);
  try {
    ensureManifest(options, rows);
    return await runLocked(options, rows);
  } finally {
    release();
  }
}

async function runLocked(options: RunEvaluationOptions, rows: readonly EvalRow[]): Promise<RunEvaluationResult> {
  const items = shardItems(options.items, options.shard);
  const stores = rows.map((row) => new PredictionStore(predictionsFile(options.out, row.name, options.shard), { fsync: options.fsync }));
  const known = new Set(items.map((item) => item.id));
  try {
    for (const store of stores) {
      for (const prediction of store.all()) {
        if (!known.has(prediction.id)) {
          throw new EvalConfigError(`${store.file} holds a prediction for "${prediction.id}", which is not an item of this run`, {
            file: store.file,
          });
        }
      }
    }
    const isDone = (item: EvalItem) => stores.every((store) => store.has(item.id));
    const resumed = items.filter(isDone).length;
    const tracker = new ProgressTracker({ total: items.length, resumed });
    options.onProgress?.(tracker.snapshot());
    const concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new EvalConfigError(`concurrency must be a positive integer, got ${concurrency}`);
    const todo = items.filter((item) => !isDone(item));
    let completed = true;
    let failure: { error: unknown } | undefined;
    const answerItem = async (item: EvalItem) => {
      for (const [index, row] of rows.entries()) {
        const store = stores[index] as PredictionStore;
        if (store.has(item.id)) continue;
        const result = await options.answer(item, row);
        if (typeof result?.text !== 'string') {
          throw new EvalConfigError(`answer() returned no text for item "${item.id}" (row ${row.name})`);
        }
        store.append({ ...(result.extra ?? {}), id: item.id, row: row.name, text: result.text });
      }
      options.onProgress?.(tracker.tick());
    };
    // A pool of workers taking items in order; the first failure stops new items, in-flight ones finish.
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !failure) {
        if (options.signal?.aborted) {
          completed = false;
          return;
        }
        const item = todo[next++] as EvalItem;
        try {
          await answerItem(item);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(todo.length, 1)) }, worker));
    if (failure) throw failure.error;
    const predictionFiles = Object.fromEntries(rows.map((row, index) => [row.name, (stores[index] as PredictionStore).file]));
    const base = { out: options.out, rows, total: items.length, resumed, completed, predictionFiles };
    if (!completed || options.shard !== undefined && options.shard.count > 1 || options.score === false) return base;
    const scored = await scoreRun({
      benchmark: options.benchmark,
      items: options.items,
      out: options.out,
      rows,
      judge: options.judge,
      skipped: options.skipped,
    });
    return { ...base, ...scored };
  } finally {
    for (const store of stores) store.close();
  }
}

/** What differs between a run's recorded identity and this one's (nothing when either has none: runs of older versions). */
function identityDifferences(before: Manifest['identity'], now: Manifest['identity']): string[] {
  if (!before || !now) return [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(now)])];
  return keys.filter((key) => before[key] !== now[key]).map((key) => `${key} ${JSON.stringify(before[key] ?? null)} ≠ ${JSON.stringify(now[key] ?? null)}`);
}

function assertUniqueIds(items: readonly EvalItem[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) {
      throw new EvalConfigError(`item id "${item.id}" occurs twice (${item.source.file}${item.source.line ? `:${item.source.line}` : ''})`);
    }
    seen.add(item.id);
  }
}

function ensureManifest(options: RunEvaluationOptions, rows: readonly EvalRow[]): void {
  const file = manifestFile(options.out, options.shard);
  const digest = itemsDigest(options.items);
  const shard = options.shard && options.shard.count > 1 ? options.shard : null;
  if (existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const problems: string[] = [];
    if (previous.benchmark !== options.benchmark.name) problems.push(`benchmark ${previous.benchmark} ≠ ${options.benchmark.name}`);
    if (previous.itemsDigest !== digest) problems.push(`items differ (${previous.items} before, ${options.items.length} now)`);
    const before = previous.rows.map((row) => row.name).join(',');
    const now = rows.map((row) => row.name).join(',');
    if (before !== now) problems.push(`rows ${before} ≠ ${now}`);
    else {
      previous.rows.forEach((row, index) => {
        const [was, is] = [JSON.stringify(row.settings ?? {}), JSON.stringify(rows[index]?.settings ?? {})];
        if (was !== is) problems.push(`row ${row.name} settings ${was} ≠ ${is}`);
      });
    }
    problems.push(...identityDifferences(previous.identity, options.identity));
    if (problems.length > 0) {
      throw new EvalConfigError(`${options.out} holds a different run (${problems.join('; ')}); use a new --out directory`, { file, problems });
    }
    return;
  }
  const manifest: Manifest = {
    benchmark: options.benchmark.name,
    items: options.items.length,
    itemsDigest: digest,
    rows,
    shard,
    meta: options.meta ?? {},
    ...(options.identity ? { identity: options.identity } : {}),
    createdAt: new Date().toISOString(),
  };
  writeAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
}


/** Options of {@link mergeShards}. */
export interface MergeShardsOptions {
  readonly out: string;
  /** All items of the benchmark, as given to every shard. */
  readonly items: readonly EvalItem[];
  /** Rows to merge (default: those in the shard manifests). */
  readonly rows?: readonly string[];
}

/**
 * Join shard predictions (`predictions/<row>.shard-i-of-n.jsonl`) into
 * `predictions/<row>.jsonl`, in benchmark order. Fails with a
 * {@link ShardMergeError} listing missing and duplicated ids unless every item
 * is present exactly once.
 */
export function mergeShards(options: MergeShardsOptions): { rows: string[]; files: Record<string, string> } {
  const manifests = readdirSync(options.out).filter((name) => /^run\.shard-\d+-of-\d+\.json$/.test(name));
  if (manifests.length === 0) throw new EvalConfigError(`${options.out} has no shard manifests (run.shard-i-of-n.json)`);
  const parsed = manifests.map((name) => JSON.parse(readFileSync(join(options.out, name), 'utf8')) as Manifest);
  const counts = new Set(parsed.map((manifest) => manifest.shard?.count));
  const digests = new Set(parsed.map((manifest) => manifest.itemsDigest));
  if (counts.size !== 1) throw new EvalConfigError(`shards of different counts in ${options.out}: ${[...counts].join(', ')}`);
  if (digests.size !== 1 || !digests.has(itemsDigest(options.items))) {
    throw new EvalConfigError(`shards in ${options.out} were run on different items than given to merge`);
  }
  for (const [index, manifest] of parsed.entries()) {
    const differences = identityDifferences((parsed[0] as Manifest).identity, manifest.identity);
    if (differences.length > 0) throw new EvalConfigError(`shards ${manifests[0]} and ${manifests[index]} of ${options.out} are different runs (${differences.join('; ')}); they cannot be merged`);
  }
  const release = acquireRunLock(options.out);
  try {
    return mergeLocked(options, parsed, manifests);
  } finally {
    release();
  }
}

function mergeLocked(options: MergeShardsOptions, parsed: Manifest[], manifests: string[]): { rows: string[]; files: Record<string, string> } {
  const rows = options.rows ?? (parsed[0] as Manifest).rows.map((row) => row.name);
  const files: Record<string, string> = {};
  const predictionsDir = join(options.out, 'predictions');
  for (const row of rows) {
    const shardFiles = existsSync(predictionsDir)
      ? readdirSync(predictionsDir).filter((name) => name.startsWith(`${row}.shard-`) && name.endsWith('.jsonl')).sort()
      : [];
    const seen = new Map<string, Prediction>();
    const duplicates = new Set<string>();
    for (const name of shardFiles) {
      for (const prediction of readPredictions(join(predictionsDir, name)).predictions) {
        if (seen.has(prediction.id)) duplicates.add(prediction.id);
        else seen.set(prediction.id, prediction);
      }
    }
    const known = new Set(options.items.map((item) => item.id));
    const unknown = [...seen.keys()].filter((id) => !known.has(id));
    const missing = options.items.filter((item) => !seen.has(item.id)).map((item) => item.id);
    if (missing.length > 0 || duplicates.size > 0 || unknown.length > 0) {
      const list = (ids: readonly string[]) => `${ids.slice(0, 20).join(', ')}${ids.length > 20 ? `, … (${ids.length} in all)` : ''}`;
      const parts = [];
      if (missing.length > 0) parts.push(`${missing.length} missing: ${list(missing)}`);
      if (duplicates.size > 0) parts.push(`${duplicates.size} duplicated: ${list([...duplicates])}`);
      if (unknown.length > 0) parts.push(`${unknown.length} not in the benchmark: ${list(unknown)}`);
      throw new ShardMergeError(`cannot merge row "${row}" from ${shardFiles.length} shard file(s): ${parts.join('; ')}`, {
        row,
        missing,
        duplicates: [...duplicates],
        unknown,
        files: shardFiles,
      });
    }
    const file = predictionsFile(options.out, row);
    writeAtomic(file, options.items.map((item) => `${JSON.stringify(seen.get(item.id))}\n`).join(''));
    files[row] = file;
  }
  const first = parsed[0] as Manifest;
  writeAtomic(
    manifestFile(options.out),
    `${JSON.stringify({ ...first, shard: null, mergedFrom: manifests.sort(), rows: first.rows.filter((row) => rows.includes(row.name)) }, null, 2)}\n`,
  );
  return { rows: [...rows], files };
}

/** Options of {@link scoreRun}. */
export interface ScoreRunOptions {
  readonly benchmark: BenchmarkDefinition<any>;
  readonly items: readonly EvalItem[];
  readonly out: string;
  readonly rows: readonly EvalRow[];
  readonly judge?: Judge;
  readonly skipped?: readonly DataIssue[];
}

/**
 * Score finished predictions (`out/predictions/<row>.jsonl`) and write the
 * reports and, for server-scored splits, the submission file. Scores depend
 * only on the predictions, never on the order they were produced in.
 */
export async function scoreRun(
  options: ScoreRunOptions,
): Promise<{ scores: Record<string, BenchmarkScore>; reports: ReportFiles; submissions: Record<string, string> }> {
  const scores: Record<string, BenchmarkScore> = {};
  const submissions: Record<string, string> = {};
  for (const row of options.rows) {
    const file = predictionsFile(options.out, row.name);
    const predictions = new Map(readPredictions(file).predictions.map((prediction) => [prediction.id, prediction]));
    const missing = options.items.filter((item) => !predictions.has(item.id));
    if (missing.length > 0) {
      throw new EvalConfigError(
        `${file} lacks predictions for ${missing.length} item(s) (first: ${missing.slice(0, 5).map((item) => item.id).join(', ')}); finish or merge the run first`,
      );
    }
    const submission: SubmissionFile | undefined = options.benchmark.submission?.(options.items, predictions);
    if (submission) {
      const target = join(options.out, 'submission', `${row.name}-${submission.fileName}`);
      mkdirSync(join(options.out, 'submission'), { recursive: true });
      writeAtomic(target, submission.content);
      submissions[row.name] = target;
    }
    if (!options.benchmark.score) continue;
    const result = await options.benchmark.score(options.items, predictions, { judge: options.judge });
    const { scored, ...rest } = result;
    scores[row.name] = {
      ...rest,
      benchmark: options.benchmark.name,
      row: row.name,
      counts: { items: options.items.length, scored: scored ?? options.items.length },
    };
  }
  const reports = writeReports({
    out: options.out,
    benchmark: options.benchmark,
    rows: options.rows,
    scores,
    skipped: options.skipped ?? [],
    submissions,
  });
  return { scores, reports, submissions };
}
