import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { EvalConfigError } from '../errors.js';
import type { ShardSpec } from './shard.js';
import { shardTag } from './shard.js';

/** What a lock file holds: who writes the run. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Lock file of a run (one per shard, so the shards of one directory run side by side). */
export function lockFile(out: string, shard?: ShardSpec): string {
  const tag = shardTag(shard);
  return join(out, tag ? `.lock.${tag}` : '.lock');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    return undefined; // torn or unreadable: written by a writer killed mid-write
  }
}

/**
 * Take the lock of a run directory: one writer per run (or shard) at a time.
 * The lock is a file created exclusively, holding the writer's pid and host;
 * a lock whose process is gone (same host) or that cannot be read is stale
 * and taken over. Another live writer → EvalConfigError naming it. Returns
 * the release function (idempotent).
 */
export function acquireRunLock(out: string, shard?: ShardSpec): () => void {
  const file = lockFile(out, shard);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(file)?.pid === me.pid) unlinkSync(file);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (owner && (owner.host !== me.host || alive(owner.pid))) {
      const who = owner.host === me.host ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
      throw new EvalConfigError(
        `${out} is being written by another run (${who}, since ${owner.since}); wait for it, or remove ${file} if that run is gone`,
        { file, owner },
      );
    }
    // Stale: move it aside atomically (only one contender wins the rename), then retry the exclusive create.
    try {
      renameSync(file, `${file}.stale-${me.pid}`);
      unlinkSync(`${file}.stale-${me.pid}`);
    } catch {
      // Another process took it over first; the next attempt sees its lock.
    }
  }
  throw new EvalConfigError(`could not take the lock ${file}: other runs keep taking it`, { file });
}
