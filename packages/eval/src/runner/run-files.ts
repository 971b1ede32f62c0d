import { createHash } from 'node:crypto';
import { join } from 'node:path';

import type { EvalItem } from '../benchmark.js';
import type { ShardSpec } from './shard.js';
import { shardTag } from './shard.js';

/** Predictions file of one row (and shard) inside a run directory. */
export function predictionsFile(out: string, row: string, shard?: ShardSpec): string {
  const tag = shardTag(shard);
  return join(out, 'predictions', tag ? `${row}.${tag}.jsonl` : `${row}.jsonl`);
}

/** Manifest file of a run (one per shard, so shards can share a directory). */
export function manifestFile(out: string, shard?: ShardSpec): string {
  const tag = shardTag(shard);
  return join(out, tag ? `run.${tag}.json` : 'run.json');
}

/** A digest of the item ids in order: two runs over the same data have the same one. */
export function itemsDigest(items: readonly EvalItem[]): string {
  const hash = createHash('sha256');
  for (const item of items) hash.update(item.id).update('\n');
  return hash.digest('hex').slice(0, 32);
}

/** Row names become file names: keep them plain. */
export function assertRowName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(`row name "${name}" must be letters, digits, '.', '_' or '-'`);
  }
}
