import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import type { ImageRef } from '../benchmark.js';
import type { DataIssues } from '../data-issues.js';
import type { JsonlRecord } from '../jsonl.js';
import { readJsonl } from '../jsonl.js';

/** LLaVA-1.5's instruction for short answers (VQAv2, GQA, VizWiz, TextVQA, POPE, MME...). */
export const SHORT_ANSWER_SUFFIX = '\nAnswer the question using a single word or phrase.';
/** LLaVA-1.5's instruction for multiple choice (MMBench, SEED-Bench, ScienceQA). */
export const OPTION_LETTER_SUFFIX = "\nAnswer with the option's letter from the given choices directly.";

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Resolve an image file, reporting a missing one (with the record's file and
 * line) unless checks are off. Returns undefined when the record must be skipped.
 */
export function resolveImage(
  options: { dir: string | undefined; name: string; issues: DataIssues; file: string; line?: number; check: boolean },
): ImageRef | undefined {
  const path = isAbsolute(options.name) || options.dir === undefined ? options.name : join(options.dir, options.name);
  if (options.check && !existsSync(path)) {
    options.issues.report({ file: options.file, line: options.line, reason: 'missing-image', message: `image not found: ${path}` });
    return undefined;
  }
  return { path };
}

/** Require a string field of a record, reporting it otherwise. */
export function stringField(record: Record<string, unknown>, key: string, issues: DataIssues, where: { file: string; line?: number }): string | undefined {
  const value = record[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  issues.report({ ...where, reason: 'missing-field', message: `record has no string "${key}"` });
  return undefined;
}

/** A question line of the LLaVA evaluation layout (model_vqa*.py input). */
export interface LlavaQuestion {
  readonly question_id: string | number;
  readonly image?: string;
  readonly text: string;
  readonly category?: string;
  readonly [key: string]: unknown;
}

/**
 * Read a LLaVA-layout question file (`{"question_id", "image", "text",
 * "category"}` per line), as model_vqa.py / model_vqa_loader.py take it.
 */
export function readLlavaQuestions(file: string, issues: DataIssues): JsonlRecord<LlavaQuestion>[] {
  const records: JsonlRecord<LlavaQuestion>[] = [];
  for (const record of readJsonl<Record<string, unknown>>(file, issues)) {
    const where = { file, line: record.line };
    const id = record.value.question_id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      issues.report({ ...where, reason: 'missing-field', message: 'record has no "question_id"' });
      continue;
    }
    if (typeof record.value.text !== 'string') {
      issues.report({ ...where, reason: 'missing-field', message: 'record has no string "text"' });
      continue;
    }
    records.push(record as JsonlRecord<LlavaQuestion>);
  }
  return records;
}

/** `A. x\nB. y` option lines as LLaVA builds them. */
export function letterOptions(options: readonly string[]): string {
  return options.map((option, index) => `${String.fromCharCode(65 + index)}. ${option}`).join('\n');
}
