import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { type DataType, type TypedTensor, isDataType, sameDims } from '@vasink/tensor';
import { LITTLE_ENDIAN_HOST, toSafetensorsDType } from './dtype.js';
import { SafetensorsError, fileError, tensorError } from './errors.js';
import {
  HEADER_LENGTH_BYTES,
  type HeaderEntry,
  MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  byteLengthOf,
  compareForWriting,
  encodeHeader,
  parseHeader,
} from './header.js';

/** A tensor to be written, described before its data exists. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DataType;
  /** Dims, outermost first; `[]` is a scalar. */
  readonly shape: readonly number[];
}

/** Named tensors: a record (insertion order) or a list of `[name, tensor]` pairs. */
export type NamedTensors = Readonly<Record<string, TypedTensor>> | ReadonlyArray<readonly [string, TypedTensor]>;

/**
 * A safetensors file being written tensor by tensor. The header is fixed by
 * the specs up front; each `write` puts one tensor's bytes at its place, in any
 * order, so a caller never holds more than one tensor.
 */
export interface SafetensorsWriter {
  /** The final path; data goes to a temporary file beside it until `close`. */
  readonly path: string;
  /** The header as it will be read back (reference tensor order). */
  readonly header: SafetensorsHeader;
  /** Write one declared tensor; its dtype and dims must equal its spec. */
  write(name: string, tensor: TypedTensor): Promise<void>;
  /**
   * Write one declared tensor from consecutive pieces of its data (raw
   * little-endian bytes, in order), so that a caller never holds the whole
   * tensor. Writing a piece overlaps producing the next one: a producer may
   * reuse a buffer for every other piece, not for consecutive ones. The bytes
   * must add up to the tensor's size exactly.
   */
  writeChunks(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void>;
  /** Check every tensor was written, then move the file into place. */
  close(): Promise<void>;
  /** Drop the temporary file; `path` is left untouched. */
  abort(): Promise<void>;
}

/** Largest single write: Node caps one write at 2 GiB − 1. */
const MAX_WRITE_BYTES = 1 << 30;

/**
 * Start writing a safetensors file whose tensors are declared by `specs`.
 * Tensors are laid out as the reference writer lays them out (dtype alignment
 * descending, then name), so the bytes equal the reference's for the same
 * tensors; `metadata` becomes `__metadata__` (keys sorted).
 */
export async function createSafetensorsWriter(
  path: string,
  specs: readonly TensorSpec[],
  options: { metadata?: Readonly<Record<string, string>> } = {},
): Promise<SafetensorsWriter> {
  const { metadata } = options;
  checkSpecs(path, specs);
  if (metadata !== undefined) checkMetadata(path, metadata);
  const entries: HeaderEntry[] = specs
    .map((spec) => ({ name: spec.name, dtype: toSafetensorsDType(spec.dtype), shape: [...spec.shape] }))
    .sort(compareForWriting);
  const headerBytes = encodeHeader(entries, metadata);
  if (headerBytes.length > MAX_HEADER_BYTES) {
    throw fileError('header-too-large', path, `header would be ${headerBytes.length} bytes, above the ${MAX_HEADER_BYTES}-byte limit`, {
      headerLength: headerBytes.length,
    });
  }
  let dataLength = 0;
  for (const entry of entries) {
    const bytes = byteLengthOf(entry.dtype, entry.shape);
    if (bytes === undefined || !Number.isSafeInteger(dataLength + bytes)) {
      throw tensorError('invalid-tensor', path, entry.name, `shape [${entry.shape.join(', ')}] is too large to address`);
    }
    dataLength += bytes;
  }
  const fileSize = HEADER_LENGTH_BYTES + headerBytes.length + dataLength;
  const header = parseHeader(path, headerBytes, fileSize);

  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx');
  try {
    const prefix = new Uint8Array(HEADER_LENGTH_BYTES);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    await writeFully(handle, prefix, 0);
    await writeFully(handle, headerBytes, HEADER_LENGTH_BYTES);
    // Sizing the file now makes it sparse until written, and exact even if
    // the last tensors are empty.
    await handle.truncate(fileSize);
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  return new TemporaryFileWriter(path, temporary, handle, header, specs);
}

class TemporaryFileWriter implements SafetensorsWriter {
  readonly path: string;
  readonly header: SafetensorsHeader;
  readonly #temporary: string;
  #handle: FileHandle | undefined;
  readonly #specs: Map<string, TensorSpec>;
  readonly #infos: Map<string, SafetensorsTensorInfo>;
  readonly #written = new Set<string>();
  /** Tensors whose chunks are being written. */
  readonly #inProgress = new Set<string>();

  constructor(path: string, temporary: string, handle: FileHandle, header: SafetensorsHeader, specs: readonly TensorSpec[]) {
    this.path = path;
    this.header = header;
    this.#temporary = temporary;
    this.#handle = handle;
    this.#specs = new Map(specs.map((s) => [s.name, s]));
    this.#infos = new Map(header.tensors.map((t) => [t.name, t]));
  }

  async write(name: string, tensor: TypedTensor): Promise<void> {
    const { handle, spec } = this.#begin(name);
    if (tensor.dtype !== spec.dtype || !sameDims(tensor.dims, spec.shape)) {
      throw tensorError(
        'invalid-tensor',
        this.path,
        name,
        `expected ${spec.dtype} [${spec.shape.join(', ')}], got ${tensor.dtype} [${tensor.dims.join(', ')}]`,
      );
    }
    const info = this.#infos.get(name);
    const { data } = tensor;
    if (!info || data.byteLength !== info.byteLength) {
      throw tensorError('invalid-tensor', this.path, name, `data holds ${data.byteLength} bytes, dims need ${info?.byteLength ?? '?'}`);
    }
    this.#written.add(name);
    await writeFully(handle, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.byteOffset);
  }

  async writeChunks(name: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const { handle } = this.#begin(name);
    const info = this.#infos.get(name);
    if (!info) throw tensorError('tensor-not-found', this.path, name, 'tensor was not declared when the writer was created');
    this.#inProgress.add(name);
    let done = 0;
    let pending: Promise<void> | undefined;
    try {
      for await (const chunk of chunks) {
        if (done + chunk.byteLength > info.byteLength) {
          throw tensorError('invalid-tensor', this.path, name, `chunks hold more than the ${info.byteLength} bytes its dtype and dims need`);
        }
        // The previous piece is written while this one was produced; wait for it before starting the next write.
        await pending;
        pending = writeFully(handle, chunk, info.byteOffset + done);
        done += chunk.byteLength;
      }
      await pending;
      pending = undefined;
      if (done !== info.byteLength) {
        throw tensorError('invalid-tensor', this.path, name, `chunks hold ${done} bytes, its dtype and dims need ${info.byteLength}`);
      }
      this.#written.add(name);
    } finally {
      // A failed producer must not leave a write running into a file that is being aborted.
      await pending?.catch(() => undefined);
      this.#inProgress.delete(name);
    }
  }

  /** Checks shared by both write paths: open, declared, not written yet. */
  #begin(name: string): { handle: FileHandle; spec: TensorSpec } {
    const handle = this.#handle;
    if (!handle) throw tensorError('closed', this.path, name, 'writer is closed');
    const spec = this.#specs.get(name);
    if (!spec) throw tensorError('tensor-not-found', this.path, name, 'tensor was not declared when the writer was created');
    if (this.#written.has(name) || this.#inProgress.has(name)) throw tensorError('duplicate-tensor', this.path, name, 'tensor was already written');
    return { handle, spec };
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    if (!handle) return;
    const missing = [...this.#specs.keys()].filter((name) => !this.#written.has(name));
    if (missing.length > 0) {
      await this.abort();
      const first = missing[0] ?? '';
      throw tensorError(
        'incomplete-write',
        this.path,
        first,
        `closed before ${missing.length} declared tensor(s) were written (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); nothing was written`,
        { missing },
      );
    }
    this.#handle = undefined;
    await handle.close();
    await rename(this.#temporary, this.path);
  }

  async abort(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
    await rm(this.#temporary, { force: true });
  }
}

/**
 * Write tensors to a safetensors file in one call (see
 * `createSafetensorsWriter` for layout). `metadata` becomes `__metadata__`;
 * without it the header has none, as the reference does.
 */
export async function writeSafetensors(
  path: string,
  tensors: NamedTensors,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const pairs = namedTensorList(tensors);
  const writer = await createSafetensorsWriter(
    path,
    pairs.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
    metadata === undefined ? {} : { metadata },
  );
  try {
    for (const [name, tensor] of pairs) await writer.write(name, tensor);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.close();
}

/** Named tensors as `[name, tensor]` pairs, in the order given. */
export function namedTensorList(tensors: NamedTensors): Array<readonly [string, TypedTensor]> {
  return Array.isArray(tensors)
    ? [...(tensors as ReadonlyArray<readonly [string, TypedTensor]>)]
    : Object.entries(tensors as Readonly<Record<string, TypedTensor>>);
}

/** Check names, dtypes and dims of tensors to write; names the file and the tensor. */
export function checkSpecs(file: string, specs: readonly TensorSpec[]): void {
  if (!LITTLE_ENDIAN_HOST) throw fileError('unsupported-dtype', file, 'safetensors data is little-endian; this host is big-endian');
  const seen = new Set<string>();
  for (const { name, dtype, shape } of specs) {
    if (typeof name !== 'string' || name === '__metadata__' || /\p{Cs}/u.test(name)) {
      throw new SafetensorsError('invalid-tensor', `${file}: ${JSON.stringify(name)} is not a usable tensor name`, { file, tensor: String(name) });
    }
    if (seen.has(name)) throw tensorError('duplicate-tensor', file, name, 'tensor is listed twice');
    seen.add(name);
    if (!isDataType(dtype)) throw tensorError('invalid-tensor', file, name, `unknown dtype ${JSON.stringify(dtype)}`);
    for (const [axis, size] of shape.entries()) {
      if (!Number.isSafeInteger(size) || size < 0) {
        throw tensorError('invalid-tensor', file, name, `dimension ${axis} is ${String(size)}; dims must be non-negative integers`);
      }
    }
  }
}

function checkMetadata(file: string, metadata: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string' || /\p{Cs}/u.test(key) || /\p{Cs}/u.test(value)) {
      throw fileError('invalid-metadata', file, `metadata ${JSON.stringify(key)} must be a well-formed string`, { key });
    }
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const length = Math.min(bytes.length - done, MAX_WRITE_BYTES);
    const { bytesWritten } = await handle.write(bytes, done, length, position + done);
    done += bytesWritten;
  }
}
