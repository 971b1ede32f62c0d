import { EvalDataError } from './errors.js';

/** One problem found in benchmark data, with where it was found. */
export interface DataIssue {
  readonly file: string;
  /** 1-based line for line-oriented inputs (JSONL, CSV, TSV, txt). */
  readonly line?: number;
  /** Stable reason code: `bad-json`, `missing-image`, `unknown-answer`, `missing-field`, ... */
  readonly reason: string;
  readonly message: string;
}

/** How a loader treats malformed records. */
export interface DataIssuePolicy {
  /** Skip malformed records and count them instead of failing (default false). */
  readonly allowSkips?: boolean;
}

/**
 * Collects malformed-record problems while a benchmark loads. Without
 * `allowSkips` the first problem throws an {@link EvalDataError} naming file
 * and line; with it, every problem is kept (and later reported), never
 * dropped silently.
 */
export class DataIssues {
  readonly allowSkips: boolean;
  readonly #issues: DataIssue[] = [];

  constructor(policy: DataIssuePolicy = {}) {
    this.allowSkips = policy.allowSkips ?? false;
  }

  /** Record a problem: throws unless skips are allowed. */
  report(issue: DataIssue): void {
    if (!this.allowSkips) {
      throw new EvalDataError(`${issue.message} (pass allowSkips / --allow-skips to skip such records and count them)`, {
        file: issue.file,
        line: issue.line,
        reason: issue.reason,
      });
    }
    this.#issues.push(issue);
  }

  /** Every skipped record so far. */
  get issues(): readonly DataIssue[] {
    return this.#issues;
  }

  /** Skip counts per reason code. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const issue of this.#issues) counts[issue.reason] = (counts[issue.reason] ?? 0) + 1;
    return counts;
  }
}
