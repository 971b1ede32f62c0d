import { VasinkError } from '@vasink/tensor';

/**
 * Benchmark data the loader cannot use: a bad JSON line, a missing image, an
 * answer in an unknown format. `details.file` and `details.line` (1-based, when
 * the input is line-oriented) say where.
 */
export class EvalDataError extends VasinkError {
  readonly file: string;
  readonly line: number | undefined;

  constructor(message: string, details: { file: string; line?: number; reason?: string; [key: string]: unknown }) {
    const where = details.line === undefined ? details.file : `${details.file}:${details.line}`;
    super(`${where}: ${message}`, { code: 'EVAL_DATA', details, exposure: 'input' });
    this.file = details.file;
    this.line = details.line;
  }
}

/** An evaluation option or run directory that cannot be used as given. */
export class EvalConfigError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'EVAL_CONFIG', details, exposure: 'input' });
  }
}

/** Shards that do not cover every item exactly once. */
export class ShardMergeError extends VasinkError {
  readonly missing: readonly string[];
  readonly duplicates: readonly string[];

  constructor(message: string, details: { missing: string[]; duplicates: string[]; row: string; [key: string]: unknown }) {
    super(message, { code: 'EVAL_SHARD_MERGE', details, exposure: 'input' });
    this.missing = details.missing;
    this.duplicates = details.duplicates;
  }
}

/** The judge endpoint failed after all retries, or answered something unusable. */
export class JudgeError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'EVAL_JUDGE', details, exposure: 'config' });
  }
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    EVAL_DATA: true;
    EVAL_CONFIG: true;
    EVAL_SHARD_MERGE: true;
    EVAL_JUDGE: true;
  }
}
