import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import type { Prediction } from '../benchmark.js';
import { EvalDataError } from '../errors.js';

/** When appended predictions are flushed to disk. */
export type FsyncPolicy = 'always' | 'never';

/** Read a predictions JSONL file written by this package. A torn last line (no newline) is ignored. */
export function readPredictions(file: string): { predictions: Prediction[]; tornBytes: number } {
  if (!existsSync(file)) return { predictions: [], tornBytes: 0 };
  const buffer = readFileSync(file);
  const end = buffer.lastIndexOf(0x0a) + 1;
  const text = buffer.subarray(0, end).toString('utf8');
  const predictions: Prediction[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] as string;
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new EvalDataError(`corrupt prediction line (${(cause as Error).message}); only the last line may be torn`, {
        file,
        line: index + 1,
        reason: 'bad-json',
      });
    }
    const record = value as Partial<Prediction>;
    if (typeof record.id !== 'string' || typeof record.text !== 'string' || typeof record.row !== 'string') {
      throw new EvalDataError('prediction line lacks string "id", "row" or "text"', { file, line: index + 1, reason: 'missing-field' });
    }
    predictions.push(record as Prediction);
  }
  return { predictions, tornBytes: buffer.length - end };
}

/**
 * Append-only predictions file. Opening it repairs a torn tail left by a
 * killed writer (the bytes after the last newline are truncated away); each
 * prediction is then written as one complete line with a single write, so a
 * kill at any moment loses at most the line being written, which the next
 * open removes.
 */
export class PredictionStore {
  readonly file: string;
  readonly #fd: number;
  readonly #fsync: FsyncPolicy;
  readonly #done = new Map<string, Prediction>();
  /** Bytes of a torn last line removed on open. */
  readonly repairedBytes: number;

  constructor(file: string, options: { fsync?: FsyncPolicy } = {}) {
    this.file = file;
    this.#fsync = options.fsync ?? 'always';
    mkdirSync(dirname(file), { recursive: true });
    const { predictions, tornBytes } = readPredictions(file);
    predictions.forEach((prediction, index) => {
      if (this.#done.has(prediction.id)) {
        throw new EvalDataError(`prediction for "${prediction.id}" appears twice`, { file, line: index + 1, reason: 'duplicate-id' });
      }
      this.#done.set(prediction.id, prediction);
    });
    this.#fd = openSync(file, 'a');
    if (tornBytes > 0) {
      const size = readFileSync(file).length;
      ftruncateSync(this.#fd, size - tornBytes);
      fsyncSync(this.#fd);
    }
    this.repairedBytes = tornBytes;
  }

  has(id: string): boolean {
    return this.#done.has(id);
  }

  get(id: string): Prediction | undefined {
    return this.#done.get(id);
  }

  get size(): number {
    return this.#done.size;
  }

  /** Every stored prediction, in file order. */
  all(): Prediction[] {
    return [...this.#done.values()];
  }

  /** Append one prediction as a complete line. */
  append(prediction: Prediction): void {
    if (this.#done.has(prediction.id)) throw new Error(`prediction "${prediction.id}" is already stored in ${this.file}`);
    const bytes = Buffer.from(`${JSON.stringify(prediction)}\n`, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset, bytes.length - offset);
    if (this.#fsync === 'always') fsyncSync(this.#fd);
    this.#done.set(prediction.id, prediction);
  }

  close(): void {
    closeSync(this.#fd);
  }
}
