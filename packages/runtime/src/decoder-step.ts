/**
 * What one forward pass of the decoder hands back to the generation loop.
 * `TDiagnostics` is whatever the step wants to report (φ per layer, selected
 * heads, moved mass, ...); the loop passes it through untouched.
 */
export interface StepOutput<TDiagnostics = unknown> {
  /**
   * Next-token logits, one `[vocab]` array per row of the call, in the call's
   * row order: the last *real* position of each row (left padding is the
   * step's business).
   */
  readonly logits: readonly Float32Array[];
  readonly diagnostics?: TDiagnostics;
}

/** The tokens chosen at one step, for the rows still generating. */
export interface DecodeInput {
  /** Original batch rows still generating, ascending. */
  readonly rows: readonly number[];
  /** The token just chosen for each entry of `rows`, same order. */
  readonly ids: readonly number[];
  /**
   * Rows that finished since the previous call. A step may drop them from its
   * KV cache (and later calls then have fewer rows) or keep them padded; the
   * loop only ever asks for the logits of `rows`.
   */
  readonly finished: readonly number[];
  readonly signal?: AbortSignal;
}

/**
 * One generation's worth of decoder: created by the caller with its prompts
 * already bound (token ids or embeddings, image masks, positions, VAR
 * settings, left padding), holding its own KV cache between calls. The loop
 * only sees logits, so it works with any graph, or with none (tests).
 */
export interface DecoderStep<TDiagnostics = unknown> {
  /** Number of batch rows, fixed for the generation. */
  readonly batchSize: number;
  /** Run every row's whole prompt; logits for all `batchSize` rows, row order. */
  prefill(options: { signal?: AbortSignal }): Promise<StepOutput<TDiagnostics>>;
  /** Feed one new token per active row; logits for exactly `input.rows`, same order. */
  decode(input: DecodeInput): Promise<StepOutput<TDiagnostics>>;
  /** Release sessions' buffers and the KV cache; called once when the loop ends, however it ends. */
  dispose?(): void | Promise<void>;
}
