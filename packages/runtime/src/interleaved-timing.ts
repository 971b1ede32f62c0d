import { InvalidArgumentError } from '@vasink/tensor';

export interface InterleavedTimingOptions {
  /** Rounds to run; every task runs once per round. */
  readonly rounds: number;
  /**
   * Idle ms before each timed call (default 0), so the threads that
   * onnxruntime leaves spinning after a run have parked before the next one.
   */
  readonly settleMs?: number;
  /** Added to the round index before rotating the order (continue a rotation across calls). */
  readonly rotation?: number;
  /** Called after each round with the round index (progress). */
  readonly onRound?: (round: number) => void;
}

/**
 * Time `tasks` side by side: round r runs every task once, in the order
 * rotated by r (2 tasks: AB, BA, AB, …), each call timed on its own. Drift on
 * a shared machine (other processes, thermal state, a growing KV cache) hits
 * every task alike, so per-round ratios compare like with like (see
 * {@link pairedRatio}). Returns `ms[task][round]`.
 */
export async function timeInterleaved(tasks: readonly (() => Promise<unknown>)[], options: InterleavedTimingOptions): Promise<number[][]> {
  const { rounds } = options;
  if (!(Number.isInteger(rounds) && rounds >= 0)) throw new InvalidArgumentError(`rounds must be a non-negative integer, got ${rounds}`, { rounds });
  const settleMs = options.settleMs ?? 0;
  if (!(Number.isFinite(settleMs) && settleMs >= 0)) throw new InvalidArgumentError(`settleMs must be ≥ 0, got ${settleMs}`, { settleMs });
  const times = tasks.map(() => new Array<number>(rounds));
  for (let round = 0; round < rounds; round++) {
    for (const task of rotatedOrder(tasks.length, round + (options.rotation ?? 0))) {
      if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
      const started = performance.now();
      await tasks[task]!();
      times[task]![round] = performance.now() - started;
    }
    options.onRound?.(round);
  }
  return times;
}

/** Task indices `0…count−1` rotated left by `shift`: `rotatedOrder(3, 1)` = `[1, 2, 0]`. */
export function rotatedOrder(count: number, shift: number): number[] {
  const start = ((shift % count) + count) % count;
  return Array.from({ length: count }, (_, k) => (start + k) % count);
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new InvalidArgumentError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median of the per-round ratios `numerator[k] / denominator[k]`: each pair
 * was measured back to back, so slow drift cancels within a pair, which the
 * ratio of two medians does not do.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): number {
  if (numerator.length !== denominator.length) {
    throw new InvalidArgumentError(`paired lists differ in length: ${numerator.length} and ${denominator.length}`, {
      numerator: numerator.length,
      denominator: denominator.length,
    });
  }
  return median(numerator.map((x, k) => x / denominator[k]!));
}
