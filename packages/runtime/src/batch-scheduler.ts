import { InvalidArgumentError, VasinkError } from '@vasink/tensor';
import type { ContrastSettings } from '@vasink/transformer-graph';
import { contrastLogits, validateContrast } from '@vasink/vcd';
import { type BatchRunOutput, type DecoderBatch, type DecoderPromptRow, type VarStepDiagnostics, diagnosticsForRows } from './decoder-batch.js';
import { type GenerateOptions, type GenerationEvent, GenerationRow, validateGenerateOptions } from './generate.js';
import type { TokenDecoder } from './tokenizer.js';

/**
 * One answer's prompt row. With `contrast`, a counterpart row (the prompt
 * with a noised image, or without the image) is decoded beside it in the
 * same batch, fed the same tokens, and the row samples from the contrast of
 * the two rows' logits (VCD, PAI's second half).
 */
export type ScheduledPromptRow = DecoderPromptRow & {
  readonly contrast?: { readonly settings: ContrastSettings; readonly counterpart: DecoderPromptRow };
};

/** What one request asks of the scheduler besides its prompts: {@link GenerateOptions} without the model's own parts. */
export type ScheduledGenerateOptions = Omit<GenerateOptions, 'tokenizer' | 'eosTokenIds'>;

export interface BatchSchedulerOptions {
  /** The decoder batch the scheduler owns: every request's rows join it. */
  batch: DecoderBatch;
  tokenizer: TokenDecoder;
  eosTokenIds?: readonly number[];
  /**
   * Rows decoded at once. A request joins when its rows fit beside the
   * running ones (a request with more rows than this runs alone); the others
   * wait, first come first served.
   */
  maxRows: number;
}

/** Counters of a scheduler since it was created. */
export interface BatchSchedulerStats {
  /** Rows in the decoder batch now. */
  readonly rows: number;
  /** Requests waiting to join. */
  readonly waiting: number;
  readonly maxRows: number;
  /** Decode steps run, and rows they computed in all (mean occupancy = rowSteps / decodeSteps). */
  readonly decodeSteps: number;
  readonly rowSteps: number;
  /** Prefill runs (each admits one or more requests). */
  readonly prefills: number;
}

/** Raised into the requests of a scheduler that was closed. */
export class SchedulerClosedError extends VasinkError {
  constructor() {
    super('the model was closed while the request was generating', { code: 'SCHEDULER_CLOSED', exposure: 'config' });
  }
}

interface Job {
  readonly prompts: readonly ScheduledPromptRow[];
  /** The batch rows of the request: its answers' rows, then their contrast counterparts. */
  readonly batchPrompts: readonly DecoderPromptRow[];
  /** Index in `batchPrompts` of each answer row's counterpart. */
  readonly pairs: readonly (number | undefined)[];
  readonly options: ScheduledGenerateOptions;
  readonly rows: GenerationRow[];
  readonly channel: EventChannel<GenerationEvent<VarStepDiagnostics>>;
  /** Batch row id of each of `batchPrompts` (once admitted). */
  ids: number[];
  /** Local rows still generating. */
  live: Set<number>;
  /** Last token of each live row. */
  last: Map<number, number>;
  step: number;
  /** The consumer stopped reading. */
  abandoned: boolean;
}

/**
 * Continuous batching (DESIGN §6) over one {@link DecoderBatch}: requests
 * arrive with their own prompts, VAR settings, sampling, token limits, stop
 * strings and abort signal; a new request is prefilled in a run of its own
 * and joins the running decode batch; a row that finishes or is cancelled
 * leaves it at once. Each request streams its own events, its rows numbered
 * from 0 as in {@link generate}, so a caller cannot tell a batched run from
 * one alone — except that it is faster, since a decode step reads the
 * weights once for every row.
 */
export class BatchScheduler {
  private readonly batch: DecoderBatch;
  private readonly pending: Job[] = [];
  private active: Job[] = [];
  private wakeUp: (() => void) | undefined;
  private running = false;
  private closed = false;
  private decodeSteps = 0;
  private rowSteps = 0;
  private prefills = 0;

  constructor(private readonly options: BatchSchedulerOptions) {
    if (!(Number.isInteger(options.maxRows) && options.maxRows >= 1)) {
      throw new InvalidArgumentError(`maxRows must be a positive integer, got ${options.maxRows}`);
    }
    this.batch = options.batch;
  }

  get stats(): BatchSchedulerStats {
    return {
      rows: this.batch.size,
      waiting: this.pending.length,
      maxRows: this.options.maxRows,
      decodeSteps: this.decodeSteps,
      rowSteps: this.rowSteps,
      prefills: this.prefills,
    };
  }

  /**
   * Generate one answer per prompt, streaming one event per token per row
   * (see {@link generate} for the events). Bad prompts or options throw at
   * the first `next()`; stopping the iteration early frees the rows.
   */
  async *submit(prompts: readonly ScheduledPromptRow[], options: ScheduledGenerateOptions): AsyncGenerator<GenerationEvent<VarStepDiagnostics>, void, undefined> {
    if (this.closed) throw new SchedulerClosedError();
    if (prompts.length === 0) throw new InvalidArgumentError('a request needs at least one prompt row');
    validateGenerateOptions(options, prompts.length);
    const batchPrompts: DecoderPromptRow[] = prompts.map(({ contrast: _, ...row }) => row);
    const pairs = prompts.map((row) => {
      if (!row.contrast) return undefined;
      validateContrast(row.contrast.settings);
      batchPrompts.push(row.contrast.counterpart);
      return batchPrompts.length - 1;
    });
    this.batch.validate(batchPrompts);
    const full: GenerateOptions = { ...options, tokenizer: this.options.tokenizer, eosTokenIds: this.options.eosTokenIds ?? [] };
    const job: Job = {
      prompts,
      batchPrompts,
      pairs,
      options,
      rows: prompts.map((_, row) => new GenerationRow(row, full)),
      channel: new EventChannel(),
      ids: [],
      live: new Set(prompts.keys()),
      last: new Map(),
      step: 0,
      abandoned: false,
    };
    const onAbort = () => this.wake();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.pending.push(job);
    this.start();
    try {
      yield* job.channel;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (job.live.size > 0) {
        job.abandoned = true;
        this.wake();
      }
    }
  }

  /** Fail every request and stop; later submits throw. */
  close(): void {
    this.closed = true;
    for (const job of [...this.pending, ...this.active]) job.channel.fail(new SchedulerClosedError());
    this.pending.length = 0;
    this.active = [];
    this.batch.dispose();
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private start(): void {
    if (this.running) return this.wake();
    this.running = true;
    void this.loop().finally(() => (this.running = false));
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.dropStopped();
      const admitted = this.admit();
      if (admitted.length > 0) await this.prefill(admitted);
      if (this.closed) return;
      this.dropStopped();
      if (this.active.length > 0) {
        await this.decode();
        continue;
      }
      if (this.pending.length > 0) continue;
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  /** End aborted and abandoned requests, waiting or running: their rows leave the batch. */
  private dropStopped(): void {
    const stopped = (job: Job) => job.abandoned || job.options.signal?.aborted === true;
    for (const job of this.pending.filter(stopped)) {
      this.pending.splice(this.pending.indexOf(job), 1);
      this.endAborted(job);
    }
    for (const job of this.active.filter(stopped)) {
      this.batch.remove([...job.live].flatMap((row) => this.batchIdsOf(job, row)));
      this.active.splice(this.active.indexOf(job), 1);
      this.endAborted(job);
    }
  }

  private endAborted(job: Job): void {
    if (!job.abandoned) for (const row of job.live) job.channel.push(job.rows[row]!.abort(job.step));
    job.live.clear();
    job.channel.end();
  }

  /** Waiting requests that fit beside the running rows, in arrival order. */
  private admit(): Job[] {
    const admitted: Job[] = [];
    let rows = this.batch.size;
    while (this.pending.length > 0) {
      const job = this.pending[0] as Job;
      const fits = rows + job.batchPrompts.length <= this.options.maxRows || rows === 0;
      if (!fits) break;
      this.pending.shift();
      admitted.push(job);
      rows += job.batchPrompts.length;
    }
    return admitted;
  }

  private async prefill(jobs: Job[]): Promise<void> {
    const started = performance.now();
    let out: BatchRunOutput;
    try {
      out = await this.batch.add(jobs.flatMap((job) => job.batchPrompts));
    } catch (error) {
      for (const job of jobs) job.channel.fail(error);
      return;
    }
    this.prefills++;
    const stepMs = performance.now() - started;
    let offset = 0;
    for (const job of jobs) {
      job.ids = out.rows.slice(offset, offset + job.batchPrompts.length) as number[];
      offset += job.batchPrompts.length;
      this.active.push(job);
    }
    this.deliver(jobs, out, stepMs);
  }

  private async decode(): Promise<void> {
    const tokens = new Map<number, number>();
    for (const job of this.active) {
      for (const row of job.live) for (const id of this.batchIdsOf(job, row)) tokens.set(id, job.last.get(row) as number);
    }
    const started = performance.now();
    let out: BatchRunOutput;
    try {
      out = await this.batch.decode(tokens);
    } catch (error) {
      // The batch's cache is in an unknown state: every running request fails, waiting ones go on.
      for (const job of this.active) job.channel.fail(error);
      this.active = [];
      this.batch.dispose();
      return;
    }
    this.decodeSteps++;
    this.rowSteps += out.rows.length;
    this.deliver(this.active, out, performance.now() - started);
  }

  /** Batch row ids of one answer row: its own and its contrast counterpart's. */
  private batchIdsOf(job: Job, row: number): number[] {
    const pair = job.pairs[row];
    return pair === undefined ? [job.ids[row] as number] : [job.ids[row] as number, job.ids[pair] as number];
  }

  /** Sample each job's rows from a run's logits (contrasted with their counterparts'), stream the events, let finished rows leave. */
  private deliver(jobs: readonly Job[], out: BatchRunOutput, stepMs: number): void {
    const index = new Map(out.rows.map((id, b) => [id, b]));
    for (const job of [...jobs]) {
      if (job.abandoned) continue; // dropped at the next turn
      const diagnostics = diagnosticsForRows(out.diagnostics, out.rows, job.ids.slice(0, job.prompts.length));
      for (const row of [...job.live]) {
        const b = index.get(job.ids[row] as number);
        if (b === undefined) continue;
        let logits = out.logits[b] as Float32Array;
        const contrast = job.prompts[row]?.contrast;
        if (contrast) {
          const pair = index.get(job.ids[job.pairs[row] as number] as number);
          if (pair === undefined) throw new VasinkError('a contrast row ran without its counterpart');
          logits = contrastLogits(logits, out.logits[pair] as Float32Array, contrast.settings);
        }
        const event = job.rows[row]!.accept(logits, job.step, stepMs, diagnostics);
        job.channel.push(event);
        if (event.done === undefined) job.last.set(row, event.id);
        else {
          job.live.delete(row);
          this.batch.remove(this.batchIdsOf(job, row));
        }
      }
      job.step++;
      if (job.live.size === 0) {
        job.channel.end();
        this.active.splice(this.active.indexOf(job), 1);
      }
    }
  }
}

/** An unbounded async queue of events with an end and a failure, read once with `for await`. */
class EventChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private error: { cause: unknown } | undefined;
  private notify: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  fail(cause: unknown): void {
    this.error = { cause };
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift() as T;
        continue;
      }
      if (this.error) throw this.error.cause;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.notify = resolve));
    }
  }
}
