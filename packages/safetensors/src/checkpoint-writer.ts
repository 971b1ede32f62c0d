import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type TypedTensor } from '@vasink/tensor';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from './checkpoint.js';
import { toSafetensorsDType } from './dtype.js';
import { tensorError } from './errors.js';
import { byteLengthOf } from './header.js';
import {
  type NamedTensors,
  type SafetensorsWriter,
  type TensorSpec,
  checkSpecs,
  createSafetensorsWriter,
  namedTensorList,
} from './writer.js';

/** How to split a checkpoint into shards. */
export interface ShardedCheckpointOptions {
  /**
   * Most tensor bytes per shard (Hugging Face's `max_shard_size`, e.g.
   * 5_000_000_000). A tensor larger than this gets a shard of its own.
   */
  maxShardBytes: number;
  /** `__metadata__` of every shard; default `{ format: 'pt' }`, as transformers writes. */
  metadata?: Readonly<Record<string, string>>;
}

/** What a sharded write produced. */
export interface ShardedCheckpointLayout {
  readonly dir: string;
  /** Shard file names: `model.safetensors` alone, or `model-00001-of-0000N.safetensors`, … */
  readonly files: readonly string[];
  /** Path of `model.safetensors.index.json`; undefined when one file holds everything. */
  readonly indexFile: string | undefined;
  /** Tensor name → shard file name, as in the index. */
  readonly weightMap: Readonly<Record<string, string>>;
  /** Bytes of tensor data in all shards (the index's `metadata.total_size`). */
  readonly totalSize: number;
}

/** A sharded checkpoint being written tensor by tensor, in any order. */
export interface ShardedCheckpointWriter extends ShardedCheckpointLayout {
  /** Write one declared tensor into its shard. */
  write(name: string, tensor: TypedTensor): Promise<void>;
  /** Write one declared tensor into its shard from consecutive pieces of its bytes (see `SafetensorsWriter.writeChunks`). */
  writeChunks(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void>;
  /** Finish every shard, then write the index and remove stale shards of an earlier write. */
  close(): Promise<ShardedCheckpointLayout>;
  /** Drop everything written so far; existing files stay as they were. */
  abort(): Promise<void>;
}

/**
 * Split tensors into shards exactly as huggingface_hub's
 * `split_state_dict_into_shards_factory` does: in the order given, a tensor
 * that would push the current shard past `maxShardBytes` starts a new shard,
 * and a tensor larger than `maxShardBytes` is put alone in a shard of its own.
 */
export function planShards(specs: readonly TensorSpec[], maxShardBytes: number): TensorSpec[][] {
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new InvalidArgumentError(`maxShardBytes must be a positive integer, got ${String(maxShardBytes)}`, { maxShardBytes });
  }
  const shards: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let currentBytes = 0;
  for (const spec of specs) {
    const bytes = specBytes(spec);
    if (bytes > maxShardBytes) {
      shards.push([spec]);
      continue;
    }
    if (currentBytes + bytes > maxShardBytes) {
      shards.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(spec);
    currentBytes += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/** Hugging Face shard file name: `model-00002-of-00005.safetensors` (one-based). */
export function shardFileName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/**
 * Start writing a checkpoint in Hugging Face layout into `dir` (created if
 * needed): shards planned from `specs` by `planShards`, plus
 * `model.safetensors.index.json` when there is more than one shard.
 */
export async function createShardedCheckpointWriter(
  dir: string,
  specs: readonly TensorSpec[],
  options: ShardedCheckpointOptions,
): Promise<ShardedCheckpointWriter> {
  checkSpecs(dir, specs);
  const plan = planShards(specs, options.maxShardBytes);
  const files = plan.length === 1 ? [SINGLE_FILE_NAME] : plan.map((_, i) => shardFileName(i, plan.length));
  const weightMap: Record<string, string> = {};
  const shardOf = new Map<string, number>();
  plan.forEach((shard, i) => {
    for (const spec of shard) {
      shardOf.set(spec.name, i);
      Object.defineProperty(weightMap, spec.name, { value: files[i], enumerable: true, writable: true, configurable: true });
    }
  });
  const totalSize = specs.reduce((sum, spec) => sum + specBytes(spec), 0);

  await mkdir(dir, { recursive: true });
  const metadata = options.metadata ?? { format: 'pt' };
  const writers: SafetensorsWriter[] = [];
  try {
    for (const [i, shard] of plan.entries()) {
      writers.push(await createSafetensorsWriter(join(dir, files[i] ?? ''), shard, { metadata }));
    }
  } catch (error) {
    await Promise.all(writers.map((w) => w.abort()));
    throw error;
  }

  const layout: ShardedCheckpointLayout = {
    dir,
    files,
    indexFile: plan.length > 1 ? join(dir, INDEX_FILE_NAME) : undefined,
    weightMap,
    totalSize,
  };
  return {
    ...layout,
    async write(name, tensor) {
      const writer = writers[shardOf.get(name) ?? -1];
      if (!writer) throw tensorError('tensor-not-found', dir, name, 'tensor was not declared when the writer was created');
      await writer.write(name, tensor);
    },
    async writeChunks(name, chunks) {
      const writer = writers[shardOf.get(name) ?? -1];
      if (!writer) throw tensorError('tensor-not-found', dir, name, 'tensor was not declared when the writer was created');
      await writer.writeChunks(name, chunks);
    },
    async close() {
      try {
        for (const writer of writers) await writer.close();
      } catch (error) {
        await Promise.all(writers.map((w) => w.abort()));
        throw error;
      }
      if (layout.indexFile !== undefined) {
        const temporary = `${layout.indexFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        await writeFile(temporary, indexJson(totalSize, weightMap));
        await rename(temporary, layout.indexFile);
      }
      await removeStale(dir, files);
      return layout;
    },
    async abort() {
      await Promise.all(writers.map((w) => w.abort()));
    },
  };
}

/**
 * Write a whole checkpoint in Hugging Face layout in one call (see
 * `createShardedCheckpointWriter`). Tensors are sharded in the order given.
 */
export async function writeShardedCheckpoint(
  dir: string,
  tensors: NamedTensors,
  options: ShardedCheckpointOptions,
): Promise<ShardedCheckpointLayout> {
  const pairs = namedTensorList(tensors);
  const writer = await createShardedCheckpointWriter(
    dir,
    pairs.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
    options,
  );
  try {
    for (const [name, tensor] of pairs) await writer.write(name, tensor);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.close();
}

function specBytes(spec: TensorSpec): number {
  return byteLengthOf(toSafetensorsDType(spec.dtype), spec.shape) ?? Number.POSITIVE_INFINITY;
}

/**
 * The index as transformers writes it: `json.dumps(index, indent=2,
 * sort_keys=True) + "\n"` (keys sorted by code point, non-ASCII escaped).
 */
export function indexJson(totalSize: number, weightMap: Readonly<Record<string, string>>): string {
  return `${pythonJson({ metadata: { total_size: totalSize }, weight_map: weightMap }, '')}\n`;
}

function pythonJson(value: unknown, indent: string): string {
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  if (keys.length === 0) return '{}';
  const inner = `${indent}  `;
  const items = keys.map((k) => `${inner}${pythonJson(k, inner)}: ${pythonJson((value as Record<string, unknown>)[k], inner)}`);
  return `{\n${items.join(',\n')}\n${indent}}`;
}

/** Remove shard files and the index an earlier write left that the new layout does not use. */
async function removeStale(dir: string, files: readonly string[]): Promise<void> {
  const keep = new Set(files);
  const stale = (await readdir(dir)).filter(
    (f) => !keep.has(f) && (SHARD_NAME.test(f) || f === SINGLE_FILE_NAME || (f === INDEX_FILE_NAME && files.length === 1)),
  );
  await Promise.all(stale.map((f) => rm(join(dir, f), { force: true })));
}
