import { readFileSync } from 'node:fs';

import type { DataIssues } from './data-issues.js';
import { EvalDataError } from './errors.js';

/** One parsed JSONL record and the 1-based line it came from. */
export interface JsonlRecord<T = unknown> {
  readonly line: number;
  readonly value: T;
}

/** Read a whole text file, turning a missing file into an error that names it. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    throw new EvalDataError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(cause)})`, {
      file,
      reason: 'unreadable-file',
    });
  }
}

/**
 * Parse a JSONL file: one JSON value per line, blank lines ignored. A line that
 * is not valid JSON (or not an object) is reported to `issues` with its line.
 */
export function readJsonl<T = Record<string, unknown>>(file: string, issues: DataIssues): JsonlRecord<T>[] {
  const text = readTextFile(file).replace(/^\ufeff/, '');
  const records: JsonlRecord<T>[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const raw = (lines[index] as string).replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (cause) {
      issues.report({ file, line: index + 1, reason: 'bad-json', message: `invalid JSON (${(cause as Error).message})` });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.report({ file, line: index + 1, reason: 'bad-json', message: 'a JSONL line must hold a JSON object' });
      continue;
    }
    records.push({ line: index + 1, value: value as T });
  }
  return records;
}

/** Parse a whole-file JSON document; a syntax error names the file (and line when known). */
export function readJson<T = unknown>(file: string): T {
  const text = readTextFile(file).replace(/^\ufeff/, '');
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    const message = (cause as Error).message;
    const position = /position (\d+)/.exec(message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new EvalDataError(`invalid JSON (${message})`, { file, line, reason: 'bad-json' });
  }
}
