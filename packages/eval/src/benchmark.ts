import type { DataIssue } from './data-issues.js';
import type { Judge } from './judge/judge-client.js';

/** An image given to the model: a file, or inline bytes (MMBench ships base64 images inside its TSV). */
export type ImageRef = { readonly path: string } | { readonly base64: string };

/** One question of a benchmark, ready for a model. */
export interface EvalItem<Reference = unknown> {
  /** Unique within the benchmark run; used to resume, shard and merge. */
  readonly id: string;
  /** The user turn's text, including the benchmark's answer-format instruction. */
  readonly prompt: string;
  readonly images: readonly ImageRef[];
  readonly category?: string;
  /** Ground truth and whatever the scorer needs; `undefined` on server-scored splits. */
  readonly reference: Reference;
  /** Where the record came from. */
  readonly source: { readonly file: string; readonly line?: number };
}

/** One stored answer. Extra fields the answer function returned are kept as they are. */
export interface Prediction {
  readonly id: string;
  readonly row: string;
  readonly text: string;
  readonly [extra: string]: unknown;
}

/** What loaders take: paths as released by the benchmark's authors, and the malformed-data policy. */
export interface LoadOptions {
  /** The benchmark file or directory (see each benchmark's `inputs`). */
  readonly data: string;
  /** Image folder, when it is not found from `data`. */
  readonly images?: string;
  /** Label file for LLaVA-layout question files, when the benchmark needs one. */
  readonly annotations?: string;
  /** Skip and count malformed records instead of failing. */
  readonly allowSkips?: boolean;
  /** Check that every image file exists (default true). */
  readonly checkImages?: boolean;
  /** Benchmark-specific choices (e.g. `split`, `circular`, `mode`). */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** A loaded benchmark. */
export interface LoadedBenchmark<Reference = unknown> {
  readonly items: EvalItem<Reference>[];
  /** Records skipped under `allowSkips`, with file and line. */
  readonly skipped: readonly DataIssue[];
  /** True when labels exist, so local scores can be computed. */
  readonly labeled: boolean;
  /** A short description of what was loaded (split, layout). */
  readonly description: string;
}

/** Services scoring may use. */
export interface ScoreContext {
  readonly judge?: Judge;
}

/** A benchmark's scores for one row (base, var, ...). */
export interface BenchmarkScore {
  readonly benchmark: string;
  readonly row: string;
  /** The headline number, as the paper reports it. */
  readonly primary: { readonly name: string; readonly value: number };
  readonly metrics: Readonly<Record<string, number>>;
  readonly breakdown?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly counts: { readonly items: number; readonly scored: number };
  readonly judge?: { readonly model: string; readonly url: string; readonly promptVersions: readonly string[] };
  readonly notes: readonly string[];
}

/** What a benchmark's scorer returns; the runner adds row, name and counts. */
export type ScoreResult = Omit<BenchmarkScore, 'benchmark' | 'row' | 'counts'> & { readonly scored?: number };

/** A submission file for a server-scored split. */
export interface SubmissionFile {
  readonly fileName: string;
  readonly content: string;
  readonly note: string;
}

/** Everything the runner and CLI need to know about one benchmark. */
export interface BenchmarkDefinition<Reference = unknown> {
  readonly name: string;
  readonly title: string;
  readonly group: 'hallucination' | 'vision-centric' | 'general';
  /** The inputs as released, for help texts and the README. */
  readonly inputs: string;
  /** True when scoring calls the judge model. */
  readonly judged: boolean | 'optional';
  load(options: LoadOptions): LoadedBenchmark<Reference>;
  /** Local score from labelled items; every item has a prediction (the runner checks). */
  score?(items: readonly EvalItem<Reference>[], predictions: ReadonlyMap<string, Prediction>, context: ScoreContext): Promise<ScoreResult>;
  /** Submission file for the benchmark's server, when the split is scored there. */
  submission?(items: readonly EvalItem<Reference>[], predictions: ReadonlyMap<string, Prediction>): SubmissionFile | undefined;
}
