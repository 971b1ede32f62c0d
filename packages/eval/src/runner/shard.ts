import { EvalConfigError } from '../errors.js';

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Parse `i/n` (1 ≤ i ≤ n), as given to `--shard`. */
export function parseShard(text: string): ShardSpec {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!match || count < 1 || index < 1 || index > count) {
    throw new EvalConfigError(`--shard must be i/n with 1 <= i <= n, got "${text}"`, { shard: text });
  }
  return { index, count };
}

/**
 * The items of one shard: contiguous chunks of ceil(N/n) items in benchmark
 * order, as LLaVA's `get_chunk` splits question files. Deterministic: the same
 * items and shard spec always give the same slice.
 */
export function shardItems<T>(items: readonly T[], shard: ShardSpec | undefined): T[] {
  if (!shard || shard.count === 1) return [...items];
  const size = Math.ceil(items.length / shard.count);
  return items.slice((shard.index - 1) * size, shard.index * size);
}

/** File-name tag of a shard: `shard-2-of-4`. */
export function shardTag(shard: ShardSpec | undefined): string {
  return shard && shard.count > 1 ? `shard-${shard.index}-of-${shard.count}` : '';
}
