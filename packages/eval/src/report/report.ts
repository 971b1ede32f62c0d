import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchmarkDefinition, BenchmarkScore } from '../benchmark.js';
import type { DataIssue } from '../data-issues.js';
import type { EvalRow } from '../runner/run-evaluation.js';
import { writeAtomic } from '../runner/write-atomic.js';
import { formatNumber, renderBarChartSvg } from './chart-svg.js';
import type { ChartGroup } from './chart-svg.js';
import { PAPER_LLAVA15_7B } from './paper-reference.js';

/** Files written by {@link writeReports}. */
export interface ReportFiles {
  readonly summaryJson: string;
  readonly summaryMarkdown: string;
  /** Side-by-side table, when there are two or more rows. */
  readonly compareMarkdown?: string;
  /** Bar chart of the primary metric per row (SVG). */
  readonly chartSvg?: string;
}

/** The JSON summary of a run (`summary.json`). */
export interface RunSummary {
  readonly benchmark: string;
  readonly title: string;
  readonly rows: readonly EvalRow[];
  readonly scores: Readonly<Record<string, BenchmarkScore>>;
  readonly skipped: { readonly count: number; readonly byReason: Record<string, number>; readonly records: readonly DataIssue[] };
  readonly paperReference?: { readonly model: string; readonly metric: string; readonly base: number; readonly var: number };
  readonly submissions: Readonly<Record<string, string>>;
}

/** Build the JSON summary without writing it. */
export function buildSummary(options: {
  benchmark: BenchmarkDefinition<any>;
  rows: readonly EvalRow[];
  scores: Readonly<Record<string, BenchmarkScore>>;
  skipped: readonly DataIssue[];
  submissions?: Readonly<Record<string, string>>;
}): RunSummary {
  const byReason: Record<string, number> = {};
  for (const issue of options.skipped) byReason[issue.reason] = (byReason[issue.reason] ?? 0) + 1;
  const paper = PAPER_LLAVA15_7B[options.benchmark.name];
  return {
    benchmark: options.benchmark.name,
    title: options.benchmark.title,
    rows: options.rows,
    scores: options.scores,
    skipped: { count: options.skipped.length, byReason, records: options.skipped },
    ...(paper ? { paperReference: { model: 'LLaVA-1.5-7B', ...paper } } : {}),
    submissions: options.submissions ?? {},
  };
}

/** Markdown for one run: headline per row, all metrics, breakdowns, skips, notes. */
export function renderSummaryMarkdown(summary: RunSummary): string {
  const lines: string[] = [`# ${summary.title} (\`${summary.benchmark}\`)`, ''];
  const rows = summary.rows.map((row) => row.name).filter((name) => summary.scores[name]);
  if (rows.length > 0) {
    const metricNames = unique(rows.flatMap((name) => Object.keys((summary.scores[name] as BenchmarkScore).metrics)));
    lines.push(`| metric | ${rows.join(' | ')} |`, `|---|${rows.map(() => '---:').join('|')}|`);
    const primary = (summary.scores[rows[0] as string] as BenchmarkScore).primary.name;
    lines.push(`| **${primary}** | ${rows.map((name) => `**${formatNumber((summary.scores[name] as BenchmarkScore).primary.value)}**`).join(' | ')} |`);
    for (const metric of metricNames) {
      if (metric === primary) continue;
      lines.push(`| ${metric} | ${rows.map((name) => formatNumber((summary.scores[name] as BenchmarkScore).metrics[metric] ?? Number.NaN)).join(' | ')} |`);
    }
    lines.push('');
    const first = summary.scores[rows[0] as string] as BenchmarkScore;
    for (const group of Object.keys(first.breakdown ?? {})) {
      const keys = unique(rows.flatMap((name) => Object.keys(summary.scores[name]?.breakdown?.[group] ?? {})));
      lines.push(`## ${group}`, '', `| ${group} | ${rows.join(' | ')} |`, `|---|${rows.map(() => '---:').join('|')}|`);
      for (const key of keys) {
        lines.push(`| ${key} | ${rows.map((name) => formatNumber(summary.scores[name]?.breakdown?.[group]?.[key] ?? Number.NaN)).join(' | ')} |`);
      }
      lines.push('');
    }
    const counts = rows.map((name) => `${name}: ${(summary.scores[name] as BenchmarkScore).counts.scored}/${(summary.scores[name] as BenchmarkScore).counts.items}`);
    lines.push(`Scored items — ${counts.join(', ')}.`, '');
    const judges = rows.map((name) => summary.scores[name]?.judge).filter((judge) => judge !== undefined);
    if (judges.length > 0) {
      const judge = judges[0] as NonNullable<BenchmarkScore['judge']>;
      lines.push(`Judge: \`${judge.model}\` at ${judge.url}; prompt versions: ${judge.promptVersions.map((v) => `\`${v}\``).join(', ')}.`, '');
    }
    const notes = unique(rows.flatMap((name) => (summary.scores[name] as BenchmarkScore).notes));
    if (notes.length > 0) lines.push('Notes:', '', ...notes.map((note) => `- ${note}`), '');
  } else {
    lines.push('No local scores: this split has no labels here; see the submission files.', '');
  }
  if (summary.skipped.count > 0) {
    lines.push(`## Skipped records: ${summary.skipped.count}`, '');
    for (const [reason, count] of Object.entries(summary.skipped.byReason)) lines.push(`- ${reason}: ${count}`);
    lines.push('');
    for (const issue of summary.skipped.records.slice(0, 20)) {
      lines.push(`- \`${issue.file}${issue.line === undefined ? '' : `:${issue.line}`}\` — ${issue.message}`);
    }
    if (summary.skipped.count > 20) lines.push(`- … ${summary.skipped.count - 20} more in summary.json`);
    lines.push('');
  }
  for (const [row, file] of Object.entries(summary.submissions)) lines.push(`Submission file (${row}): \`${file}\``);
  return `${lines.join('\n').trimEnd()}\n`;
}

/**
 * Side-by-side table of two or more rows (the first is the baseline): every
 * metric, the difference to the baseline, and the paper's LLaVA-1.5-7B numbers
 * where the paper reports them.
 */
export function renderCompareMarkdown(summary: RunSummary): string {
  const rows = summary.rows.map((row) => row.name).filter((name) => summary.scores[name]);
  const [baseline, ...others] = rows;
  if (baseline === undefined || others.length === 0) return '';
  const base = summary.scores[baseline] as BenchmarkScore;
  const paper = summary.paperReference;
  const header = ['metric', baseline, ...others.flatMap((name) => [name, `Δ ${name}`])];
  if (paper) header.push(`paper base (${paper.model})`, 'paper VAR');
  const lines = [`# ${summary.title}: ${rows.join(' vs ')}`, '', `| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`];
  const metrics = unique([base.primary.name, ...Object.keys(base.metrics)]);
  for (const metric of metrics) {
    const value = (score: BenchmarkScore) => (metric === score.primary.name ? score.primary.value : score.metrics[metric] ?? Number.NaN);
    const cells = [metric === base.primary.name ? `**${metric}**` : metric, formatNumber(value(base))];
    for (const name of others) {
      const other = value(summary.scores[name] as BenchmarkScore);
      const delta = other - value(base);
      cells.push(formatNumber(other), `${delta >= 0 ? '+' : ''}${formatNumber(delta)}`);
    }
    if (paper) cells.push(...(metric === base.primary.name ? [formatNumber(paper.base), formatNumber(paper.var)] : ['', '']));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  if (paper) lines.push(`Paper reference: ${paper.model}, ${paper.metric}, base ${paper.base} → VAR ${paper.var} (Kang et al., ICLR 2025).`, '');
  return `${lines.join('\n')}\n`;
}

/** Chart of the primary metric per row, with the paper's numbers as lighter bars. */
export function renderSummaryChart(summary: RunSummary): string | undefined {
  const rows = summary.rows.map((row) => row.name).filter((name) => summary.scores[name]);
  if (rows.length === 0) return undefined;
  const first = summary.scores[rows[0] as string] as BenchmarkScore;
  const groups: ChartGroup[] = [
    { label: first.primary.name, bars: rows.map((name) => ({ label: name, value: (summary.scores[name] as BenchmarkScore).primary.value })) },
  ];
  const paper = summary.paperReference;
  if (paper) {
    groups.push({
      label: `paper (${paper.model})`,
      bars: [
        { label: 'paper base', value: paper.base, reference: true },
        { label: 'paper VAR', value: paper.var, reference: true },
      ],
    });
  }
  return renderBarChartSvg({ title: `${summary.title}: ${rows.join(' vs ')}`, groups });
}

/** Write summary.json, summary.md and, with two or more rows, compare.md and chart.svg into `out`. */
export function writeReports(options: {
  out: string;
  benchmark: BenchmarkDefinition<any>;
  rows: readonly EvalRow[];
  scores: Readonly<Record<string, BenchmarkScore>>;
  skipped: readonly DataIssue[];
  submissions?: Readonly<Record<string, string>>;
}): ReportFiles {
  mkdirSync(options.out, { recursive: true });
  const summary = buildSummary(options);
  const summaryJson = join(options.out, 'summary.json');
  const summaryMarkdown = join(options.out, 'summary.md');
  writeAtomic(summaryJson, `${JSON.stringify(summary, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`);
  writeAtomic(summaryMarkdown, renderSummaryMarkdown(summary));
  const files: { -readonly [K in keyof ReportFiles]: ReportFiles[K] } = { summaryJson, summaryMarkdown };
  const compare = renderCompareMarkdown(summary);
  if (compare) {
    files.compareMarkdown = join(options.out, 'compare.md');
    writeAtomic(files.compareMarkdown, compare);
  }
  const chart = renderSummaryChart(summary);
  if (chart) {
    files.chartSvg = join(options.out, 'chart.svg');
    writeAtomic(files.chartSvg, chart);
  }
  return files;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
