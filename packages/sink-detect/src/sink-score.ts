import {
  type Float32Tensor,
  type RowParam,
  type Uint8Tensor,
  InvalidArgumentError,
  assertDType,
  assertDims,
  createTensor,
  rowParamValue,
} from '@vasink/tensor';

/** The ε inside the RMS of the sink score, as in the reference RMSNorm. */
export const SINK_SCORE_EPSILON = 1e-6;

/** Check sink dimensions: a non-empty list of distinct integers in [0, hiddenSize). */
export function assertSinkDims(sinkDims: readonly number[], hiddenSize?: number): void {
  if (sinkDims.length === 0) {
    throw new InvalidArgumentError(
      'sink dims are empty: give the backbone\'s sink dimensions (see SINK_DIM_PROFILES) or find them with findSinkDims',
      { sinkDims: [] },
    );
  }
  const seen = new Set<number>();
  for (const d of sinkDims) {
    if (!Number.isInteger(d) || d < 0 || (hiddenSize !== undefined && d >= hiddenSize)) {
      const range = hiddenSize === undefined ? 'a non-negative integer' : `an integer in [0, ${hiddenSize})`;
      throw new InvalidArgumentError(`sink dim ${String(d)} is not ${range}`, { sinkDims: [...sinkDims], hiddenSize });
    }
    if (seen.has(d)) throw new InvalidArgumentError(`sink dim ${d} is listed twice`, { sinkDims: [...sinkDims] });
    seen.add(d);
  }
}

/**
 * Sink score φ of every token (DESIGN §1), on the residual stream entering a
 * decoder layer:
 *
 *     φ(x) = max_{d ∈ D_sink} |x_d| / sqrt(mean_d(x_d²) + 1e-6)
 *
 * @param hidden `[batch, tokens, dim]` hidden states (float32)
 * @param sinkDims D_sink, indices into `dim`
 * @returns `[batch, tokens]` float32 scores
 */
export function sinkScore(hidden: Float32Tensor, sinkDims: readonly number[]): Float32Tensor {
  assertDType('hidden', hidden, 'float32');
  assertDims('hidden', hidden.dims, [null, null, null], ['batch', 'tokens', 'dim']);
  const [batch, tokens, dim] = hidden.dims as [number, number, number];
  assertSinkDims(sinkDims, dim);
  const scores = new Float32Array(batch * tokens);
  for (let row = 0; row < batch * tokens; row++) {
    const base = row * dim;
    let sumSquares = 0;
    for (let d = 0; d < dim; d++) {
      const x = hidden.data[base + d] as number;
      sumSquares += x * x;
    }
    let peak = 0;
    for (const d of sinkDims) peak = Math.max(peak, Math.abs(hidden.data[base + d] as number));
    scores[row] = peak / Math.sqrt(sumSquares / dim + SINK_SCORE_EPSILON);
  }
  return createTensor('float32', [batch, tokens], scores);
}

/**
 * Sink flags: token t of row b is a sink when φ > τ_b (strict) and it is a
 * candidate (a real prompt token: not padding, not generated).
 *
 * @param score `[batch, tokens]` sink scores from {@link sinkScore}
 * @param tau τ, one for all rows or one per row
 * @param candidates `[batch, tokens]` 1 where a token may be a sink; all when omitted
 * @returns `[batch, tokens]` uint8 flags
 */
export function sinkFlags(options: { score: Float32Tensor; tau: RowParam; candidates?: Uint8Tensor }): Uint8Tensor {
  const { score, tau, candidates } = options;
  assertDims('score', score.dims, [null, null], ['batch', 'tokens']);
  const [batch, tokens] = score.dims as [number, number];
  if (candidates) assertDims('candidates', candidates.dims, [batch, tokens]);
  const flags = new Uint8Array(batch * tokens);
  for (let b = 0; b < batch; b++) {
    const threshold = rowParamValue('tau', tau, b, batch);
    for (let t = 0; t < tokens; t++) {
      const i = b * tokens + t;
      const candidate = candidates === undefined || candidates.data[i] !== 0;
      flags[i] = candidate && (score.data[i] as number) > threshold ? 1 : 0;
    }
  }
  return createTensor('uint8', [batch, tokens], flags);
}

/** φ then flags in one call: `[batch, tokens, dim]` → `[batch, tokens]` uint8. */
export function detectSinks(options: {
  hidden: Float32Tensor;
  sinkDims: readonly number[];
  tau: RowParam;
  candidates?: Uint8Tensor;
}): { score: Float32Tensor; flags: Uint8Tensor } {
  const score = sinkScore(options.hidden, options.sinkDims);
  const flags = sinkFlags({ score, tau: options.tau, ...(options.candidates ? { candidates: options.candidates } : {}) });
  return { score, flags };
}
