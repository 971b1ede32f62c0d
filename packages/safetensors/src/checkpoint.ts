import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, normalize, sep } from 'node:path';
import type { Float32Tensor, TypedTensor } from '@vasink/tensor';
import { fileError, tensorError } from './errors.js';
import type { SafetensorsTensorInfo } from './header.js';
import { type SafetensorsFile, openSafetensors } from './reader.js';

/** File name of a single-file Hugging Face checkpoint. */
export const SINGLE_FILE_NAME = 'model.safetensors';

/** File name of the index of a sharded Hugging Face checkpoint. */
export const INDEX_FILE_NAME = 'model.safetensors.index.json';

/** Where one tensor of a checkpoint lives: its shard and its place in it. */
export interface CheckpointTensorInfo extends SafetensorsTensorInfo {
  /** Path of the shard holding the tensor (inside the checkpoint dir, symlinks not resolved). */
  readonly file: string;
}

/** A Hugging Face checkpoint: one safetensors file, or shards listed by an index. */
export interface Checkpoint {
  /** The checkpoint directory. */
  readonly dir: string;
  /** Path of `model.safetensors.index.json`, or undefined for a single file. */
  readonly indexFile: string | undefined;
  /** Paths of the safetensors files, in order of first mention. */
  readonly files: readonly string[];
  /** The index's `metadata` (e.g. `total_size`), or the single file's `__metadata__`. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor names: the index's order, or data order for a single file. */
  names(): string[];
  has(name: string): boolean;
  /** Path of the shard that holds a tensor (no file is opened). */
  fileOf(name: string): string;
  /** Dtype, shape and byte range of a tensor; opens its shard if needed. */
  info(name: string): Promise<CheckpointTensorInfo>;
  /** Read one tensor (see `SafetensorsFile.read` for dtype conversions). */
  read(name: string): Promise<TypedTensor>;
  /** Read a floating tensor as float32. */
  readAsFloat32(name: string): Promise<Float32Tensor>;
  /**
   * Open every shard and check it against the index: every listed tensor
   * present in its shard, no tensor in two shards. Shards opened by reads are
   * checked against the index as they open; this checks them all at once.
   */
  validate(): Promise<void>;
  /** Close every opened shard. */
  close(): Promise<void>;
}

/**
 * Open a checkpoint: a directory holding `model.safetensors.index.json` (read
 * first) or `model.safetensors`, or the path of either file. Every shard the
 * index names must exist (checked now, through symlinks such as those of a
 * Hugging Face cache snapshot); shards are opened when first read.
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const stats = await stat(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw fileError('checkpoint-not-found', path, 'no such file or directory', {}, error);
    }
    throw error;
  });
  if (stats.isDirectory()) {
    const index = join(path, INDEX_FILE_NAME);
    if (await exists(index)) return openIndexed(path, index);
    const single = join(path, SINGLE_FILE_NAME);
    if (await exists(single)) return SingleFileCheckpoint.open(path, single);
    const found = (await readdir(path)).filter((f) => f.endsWith('.safetensors'));
    const hint = found.length > 0 ? `; it holds ${found.slice(0, 5).join(', ')} — open one with openSafetensors` : '';
    throw fileError('checkpoint-not-found', path, `directory has neither ${INDEX_FILE_NAME} nor ${SINGLE_FILE_NAME}${hint}`, {
      found,
    });
  }
  const dir = join(path, '..');
  return path.endsWith('.index.json') ? openIndexed(dir, path) : SingleFileCheckpoint.open(dir, path);
}

async function openIndexed(dir: string, indexFile: string): Promise<Checkpoint> {
  const text = await readFile(indexFile, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw fileError('invalid-index', indexFile, `index is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, {}, cause);
  }
  if (!isObject(json) || !isObject(json.weight_map)) {
    throw fileError('invalid-index', indexFile, 'index must be an object with a "weight_map" object of tensor name → shard file');
  }
  const metadata = json.metadata === undefined ? {} : json.metadata;
  if (!isObject(metadata)) throw fileError('invalid-index', indexFile, '"metadata" must be an object');

  const weightMap = new Map<string, string>();
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || !isInside(shard)) {
      throw tensorError('invalid-index', indexFile, name, `weight_map entry must be a shard file name inside the checkpoint, got ${JSON.stringify(shard)}`);
    }
    weightMap.set(name, shard);
    const names = shards.get(shard) ?? [];
    names.push(name);
    shards.set(shard, names);
  }
  await Promise.all(
    [...shards].map(async ([shard, names]) => {
      const file = join(dir, shard);
      if (await exists(file)) return;
      const link = await readlink(file).catch(() => undefined);
      const why = link === undefined ? 'does not exist' : `is a symlink to ${link}, which does not exist`;
      throw tensorError('missing-shard', indexFile, names[0] ?? '', `shard ${shard} named by the index ${why} (${names.length} tensors)`, {
        shard: file,
      });
    }),
  );
  return new IndexedCheckpoint(dir, indexFile, { ...metadata }, weightMap, [...shards.keys()]);
}

class IndexedCheckpoint implements Checkpoint {
  readonly dir: string;
  readonly indexFile: string;
  readonly files: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly #weightMap: Map<string, string>;
  readonly #opened = new Map<string, Promise<SafetensorsFile>>();

  constructor(dir: string, indexFile: string, metadata: Record<string, unknown>, weightMap: Map<string, string>, shards: string[]) {
    this.dir = dir;
    this.indexFile = indexFile;
    this.metadata = metadata;
    this.#weightMap = weightMap;
    this.files = shards.map((s) => join(dir, s));
  }

  names(): string[] {
    return [...this.#weightMap.keys()];
  }

  has(name: string): boolean {
    return this.#weightMap.has(name);
  }

  fileOf(name: string): string {
    return join(this.dir, this.#shardOf(name));
  }

  async info(name: string): Promise<CheckpointTensorInfo> {
    const file = await this.#open(this.#shardOf(name));
    return { ...file.info(name), file: file.path };
  }

  async read(name: string): Promise<TypedTensor> {
    return (await this.#open(this.#shardOf(name))).read(name);
  }

  async readAsFloat32(name: string): Promise<Float32Tensor> {
    return (await this.#open(this.#shardOf(name))).readAsFloat32(name);
  }

  async validate(): Promise<void> {
    const shards = [...new Set(this.#weightMap.values())];
    const files = await Promise.all(shards.map((s) => this.#open(s)));
    const holder = new Map<string, string>();
    for (const file of files) {
      for (const name of file.names()) {
        const other = holder.get(name);
        if (other !== undefined) {
          throw tensorError('tensor-in-two-shards', this.indexFile, name, `tensor is in both ${basename(other)} and ${basename(file.path)}`, {
            shards: [other, file.path],
          });
        }
        holder.set(name, file.path);
      }
    }
  }

  async close(): Promise<void> {
    const opened = [...this.#opened.values()];
    this.#opened.clear();
    const files = await Promise.allSettled(opened);
    await Promise.all(files.map((f) => (f.status === 'fulfilled' ? f.value.close() : undefined)));
  }

  #shardOf(name: string): string {
    const shard = this.#weightMap.get(name);
    if (shard === undefined) {
      throw tensorError('tensor-not-found', this.indexFile, name, `no such tensor in the index (it lists ${this.#weightMap.size})`);
    }
    return shard;
  }

  #open(shard: string): Promise<SafetensorsFile> {
    let opening = this.#opened.get(shard);
    if (!opening) {
      opening = this.#openChecked(shard);
      this.#opened.set(shard, opening);
    }
    return opening;
  }

  async #openChecked(shard: string): Promise<SafetensorsFile> {
    const file = await openSafetensors(join(this.dir, shard));
    try {
      for (const [name, listed] of this.#weightMap) {
        if (listed === shard && !file.has(name)) {
          throw tensorError('tensor-missing-from-shard', file.path, name, `the index lists the tensor in this shard, but the shard does not hold it`, {
            index: this.indexFile,
          });
        }
      }
      for (const name of file.names()) {
        const listed = this.#weightMap.get(name);
        if (listed !== undefined && listed !== shard) {
          throw tensorError('tensor-in-two-shards', file.path, name, `the shard holds the tensor, but the index puts it in ${listed}`, {
            index: this.indexFile,
            shards: [join(this.dir, listed), file.path],
          });
        }
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    return file;
  }
}

class SingleFileCheckpoint implements Checkpoint {
  readonly dir: string;
  readonly indexFile = undefined;
  readonly files: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly #file: SafetensorsFile;

  private constructor(dir: string, file: SafetensorsFile) {
    this.dir = dir;
    this.#file = file;
    this.files = [file.path];
    this.metadata = file.header.metadata;
  }

  static async open(dir: string, path: string): Promise<Checkpoint> {
    return new SingleFileCheckpoint(dir, await openSafetensors(path));
  }

  names(): string[] {
    return this.#file.names();
  }

  has(name: string): boolean {
    return this.#file.has(name);
  }

  fileOf(name: string): string {
    this.#file.info(name);
    return this.#file.path;
  }

  async info(name: string): Promise<CheckpointTensorInfo> {
    return { ...this.#file.info(name), file: this.#file.path };
  }

  read(name: string): Promise<TypedTensor> {
    return this.#file.read(name);
  }

  readAsFloat32(name: string): Promise<Float32Tensor> {
    return this.#file.readAsFloat32(name);
  }

  async validate(): Promise<void> {
    // The header was fully validated when the file was opened.
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** A relative path that stays inside its directory: no absolute path, no `..` segment. */
function isInside(shard: string): boolean {
  if (shard === '' || isAbsolute(shard)) return false;
  const normalized = normalize(shard);
  return normalized !== '..' && !normalized.startsWith(`..${sep}`) && !shard.split(/[\\/]/).includes('..');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
