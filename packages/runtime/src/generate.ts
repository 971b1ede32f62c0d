import { InvalidArgumentError } from '@vasink/tensor';
import type { DecoderStep, StepOutput } from './decoder-step.js';
import { GenerationError } from './errors.js';
import { type Sampler, type SamplingOptions, type TopLogit, createSampler } from './sampler.js';
import { TextStreamer } from './text-streamer.js';
import type { TokenDecoder } from './tokenizer.js';

/** Why a row stopped: an EOS id, a stop string, `maxNewTokens`, or the abort signal. */
export type FinishReason = 'eos' | 'stop' | 'length' | 'abort';

export interface GenerateOptions {
  /** Turns ids into the streamed text. */
  tokenizer: TokenDecoder;
  /** Tokens each row may generate (EOS included), >= 1. */
  maxNewTokens: number;
  /** Ids that end a row; the EOS token is reported but adds no text. */
  eosTokenIds?: readonly number[];
  /** Text that ends a row; trimmed, with whatever followed it. */
  stopStrings?: readonly string[];
  /** Greedy by default. One options object for every row (each row gets its own RNG with that seed), or one per row. */
  sampling?: SamplingOptions | readonly SamplingOptions[];
  /** Raw logits reported per token. Default 5; 0 skips the search. */
  topLogits?: number;
  /**
   * Report `logProb` per token. Default true. Callers that only want the text
   * (evaluation, the HTTP server) pass false: the float64 log-softmax over
   * the vocabulary is most of a greedy step's JavaScript (≈ 0.5 ms per row at
   * 32k tokens); `logProb` is then NaN.
   */
  logProbs?: boolean;
  /** Leave special tokens out of the text. Default true. */
  skipSpecialTokens?: boolean;
  /** Checked before and after every decoder step; aborted rows end with an `abort` event. */
  signal?: AbortSignal;
}

/** One generated token of one row. */
export interface TokenEvent<TDiagnostics = unknown> {
  kind: 'token';
  row: number;
  /** Decoder step whose logits chose the token: 0 = prefill. */
  step: number;
  id: number;
  /** Text this token adds (may be '' while a character or a possible stop string is incomplete). */
  text: string;
  /** log p(id) under the unmodified distribution (log-softmax of raw logits); NaN with `logProbs: false`. */
  logProb: number;
  /** Highest raw logits of this step, most likely first. */
  topLogits: TopLogit[];
  /**
   * Wall-clock ms of the decoder call whose logits chose this token: the
   * prefill for step 0, else one decode step (embedding the previous tokens
   * included). Shared by the events of every row of that step.
   */
  stepMs: number;
  /** Set on the row's last token. */
  done?: Exclude<FinishReason, 'abort'>;
  /** The step's diagnostics, shared by the events of every row of that step. */
  diagnostics?: TDiagnostics;
}

/** A row ended by the abort signal, between steps: no token, only the text held back until then. */
export interface AbortEvent {
  kind: 'abort';
  row: number;
  step: number;
  text: string;
  done: 'abort';
}

export type GenerationEvent<TDiagnostics = unknown> = TokenEvent<TDiagnostics> | AbortEvent;

function validate(step: DecoderStep<unknown>, options: GenerateOptions): void {
  if (!(Number.isInteger(step.batchSize) && step.batchSize >= 1)) {
    throw new InvalidArgumentError(`decoder step batchSize must be a positive integer, got ${step.batchSize}`, { batchSize: step.batchSize });
  }
  validateGenerateOptions(options, step.batchSize);
}

/** Check the options every row of a generation shares; `rows`: how many rows it has. */
export function validateGenerateOptions(options: Omit<GenerateOptions, 'tokenizer'>, rows: number): void {
  if (!(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1)) {
    throw new InvalidArgumentError(`maxNewTokens must be a positive integer, got ${options.maxNewTokens}`, { maxNewTokens: options.maxNewTokens });
  }
  const reported = options.topLogits ?? 5;
  if (!(Number.isInteger(reported) && reported >= 0)) {
    throw new InvalidArgumentError(`topLogits must be an integer >= 0, got ${reported}`, { topLogits: reported });
  }
  if (Array.isArray(options.sampling) && options.sampling.length !== rows) {
    throw new InvalidArgumentError(`sampling has ${options.sampling.length} entries for ${rows} rows`, {
      sampling: options.sampling.length,
      batchSize: rows,
    });
  }
}

function samplingFor(options: Pick<GenerateOptions, 'sampling'>, row: number): SamplingOptions {
  const sampling = options.sampling;
  if (sampling === undefined) return {};
  if (Array.isArray(sampling)) return (sampling as readonly SamplingOptions[])[row]!;
  return sampling as SamplingOptions;
}

function checkOutput(output: StepOutput<unknown>, rows: readonly number[], phase: string): void {
  if (output.logits.length !== rows.length) {
    throw new GenerationError(`decoder ${phase} returned logits for ${output.logits.length} rows, expected ${rows.length}`, {
      phase,
      expected: rows.length,
      actual: output.logits.length,
    });
  }
}

/**
 * One row of a generation between decoder calls: its sampler, text streamer
 * and token count. `accept` turns the logits of a step into the row's token
 * event (with `done` on its last); the fixed-batch loop below and the
 * continuous-batching scheduler share it, so a row's tokens and text do not
 * depend on which of them drives it.
 */
export class GenerationRow {
  private readonly sampler: Sampler;
  private readonly streamer: TextStreamer;
  private readonly eos: ReadonlySet<number>;
  private readonly reported: number;
  private generated = 0;

  constructor(
    readonly row: number,
    private readonly options: GenerateOptions,
  ) {
    this.sampler = createSampler(samplingFor(options, row));
    this.streamer = new TextStreamer(options.tokenizer, {
      stopStrings: options.stopStrings ?? [],
      ...(options.skipSpecialTokens === undefined ? {} : { skipSpecialTokens: options.skipSpecialTokens }),
    });
    this.eos = new Set(options.eosTokenIds ?? []);
    this.reported = options.topLogits ?? 5;
  }

  /** Choose this row's token from the logits of decoder step `step`. */
  accept<TDiagnostics>(logits: Float32Array, step: number, stepMs: number, diagnostics: TDiagnostics | undefined): TokenEvent<TDiagnostics> {
    const choice = this.sampler.sample(logits, { topLogits: this.reported, logProb: this.options.logProbs !== false });
    this.generated++;
    let text: string;
    let done: TokenEvent['done'];
    if (this.eos.has(choice.id)) {
      text = this.streamer.finish();
      done = 'eos';
    } else {
      const delta = this.streamer.push(choice.id);
      text = delta.text;
      if (delta.stopped) done = 'stop';
      else if (this.generated >= this.options.maxNewTokens) {
        text += this.streamer.finish();
        done = 'length';
      }
    }
    const event: TokenEvent<TDiagnostics> = { kind: 'token', row: this.row, step, id: choice.id, text, logProb: choice.logProb, topLogits: choice.topLogits, stepMs };
    if (done !== undefined) event.done = done;
    if (diagnostics !== undefined) event.diagnostics = diagnostics;
    return event;
  }

  /** End the row by the abort signal before step `step`: the text held back so far. */
  abort(step: number): AbortEvent {
    return { kind: 'abort', row: this.row, step, text: this.streamer.finish(), done: 'abort' };
  }
}

/**
 * Generate from a decoder step, streaming one event per token per row: rows
 * advance together, one decoder step at a time, and drop out as they finish
 * (EOS, stop string, length). Each row's last event carries `done`. With an
 * abort signal the loop stops between steps and ends every unfinished row with
 * an `abort` event. The step is disposed when the loop ends, also when the
 * consumer stops iterating early.
 */
export async function* generate<TDiagnostics = unknown>(
  step: DecoderStep<TDiagnostics>,
  options: GenerateOptions,
): AsyncGenerator<GenerationEvent<TDiagnostics>, void, undefined> {
  try {
    yield* generationLoop(step, options);
  } finally {
    await step.dispose?.();
  }
}

async function* generationLoop<TDiagnostics>(step: DecoderStep<TDiagnostics>, options: GenerateOptions): AsyncGenerator<GenerationEvent<TDiagnostics>, void, undefined> {
  validate(step, options);
  const signal = options.signal;
  let active = Array.from({ length: step.batchSize }, (_, row) => new GenerationRow(row, options));
  let stepIndex = 0;

  function* abortAll(): Generator<AbortEvent> {
    for (const state of active) yield state.abort(stepIndex);
  }

  if (signal?.aborted) return yield* abortAll();
  let started = performance.now();
  let output = await step.prefill(signal === undefined ? {} : { signal });
  let stepMs = performance.now() - started;
  checkOutput(output, active.map((state) => state.row), 'prefill');

  for (;;) {
    if (signal?.aborted) return yield* abortAll();
    const next: GenerationRow[] = [];
    const finished: number[] = [];
    const ids: number[] = [];
    for (const [index, state] of active.entries()) {
      const event = state.accept(output.logits[index]!, stepIndex, stepMs, output.diagnostics);
      if (event.done === undefined) {
        next.push(state);
        ids.push(event.id);
      } else {
        finished.push(state.row);
      }
      yield event;
    }
    active = next;
    stepIndex++;
    if (active.length === 0) return;
    if (signal?.aborted) return yield* abortAll();
    const rows = active.map((state) => state.row);
    started = performance.now();
    output = await step.decode({ rows, ids, finished, ...(signal === undefined ? {} : { signal }) });
    stepMs = performance.now() - started;
    checkOutput(output, rows, 'decode');
  }
}

/** Everything one row generated. */
export interface GenerationResult<TDiagnostics = unknown> {
  row: number;
  /** Generated ids, the EOS id included when the row ended on one. */
  ids: number[];
  text: string;
  /** log p of each id under the unmodified distribution. */
  logProbs: number[];
  topLogits: TopLogit[][];
  /** Diagnostics of the step that chose each id. */
  diagnostics: (TDiagnostics | undefined)[];
  /** Wall-clock ms of the decoder call that chose each id: `[0]` the prefill, then one decode step per id. */
  stepMs: number[];
  finishReason: FinishReason;
}

/** Run a generation to the end and gather each row's tokens and text, indexed by row. */
export async function collect<TDiagnostics = unknown>(events: AsyncIterable<GenerationEvent<TDiagnostics>>): Promise<GenerationResult<TDiagnostics>[]> {
  const results: GenerationResult<TDiagnostics>[] = [];
  for await (const event of events) {
    const result = (results[event.row] ??= {
      row: event.row,
      ids: [],
      text: '',
      logProbs: [],
      topLogits: [],
      diagnostics: [],
      stepMs: [],
      finishReason: 'length',
    });
    result.text += event.text;
    if (event.kind === 'token') {
      result.ids.push(event.id);
      result.logProbs.push(event.logProb);
      result.topLogits.push(event.topLogits);
      result.diagnostics.push(event.diagnostics);
      result.stepMs.push(event.stepMs);
    }
    if (event.done !== undefined) result.finishReason = event.done;
  }
  return results;
}
