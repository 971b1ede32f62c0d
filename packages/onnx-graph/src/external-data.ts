import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { type DataType, type TypedTensor, InvalidArgumentError } from '@vasink/tensor';
import { ExternalDataError } from './errors.js';
import { type ExternalDataRef, alignOffset, locationProblem } from './external-data-ref.js';
import { tensorByteLength, tensorBytes } from './tensor-proto.js';

export type { ExternalDataRef } from './external-data-ref.js';

/** Element bytes of a tensor that is not held as a TypedTensor (e.g. straight from a safetensors file). */
export interface RawTensorBytes {
  readonly dtype: DataType;
  readonly dims: readonly number[];
  /** Little-endian element bytes; the length must equal dims × element size. */
  readonly bytes: Uint8Array;
}

export interface ExternalDataFileOptions {
  /** Offset alignment of each tensor in bytes (default 64; 4096 lets runtimes mmap tensors). */
  alignment?: number;
  /** Location recorded in models (relative to their directory); default: the file's base name. */
  location?: string;
}

/** Largest single write handed to the OS; larger tensors are written in pieces. */
const MAX_WRITE = 1 << 30;

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(MAX_WRITE, bytes.byteLength - done);
    const written = writeSync(fd, bytes, done, length, position + done);
    if (written <= 0) throw new ExternalDataError(`write returned ${written} at position ${position + done}`, { position: position + done });
    done += written;
  }
}

function isTypedTensor(data: TypedTensor | RawTensorBytes): data is TypedTensor {
  return 'data' in data;
}

/**
 * A weight file shared by one or more models (ONNX external data). Tensors
 * are written one at a time at explicit positions, each at an aligned offset,
 * so the file may grow far past 2 GiB while no more than one tensor is in
 * memory. Models refer to it by `location`, which must resolve from the model
 * directory to this file (write the models next to it).
 */
export class ExternalDataFile {
  /** Absolute path of the data file. */
  readonly path: string;
  /** Location models record for this file. */
  readonly location: string;
  readonly alignment: number;
  private fd: number | undefined;
  private end: number;
  private count = 0;
  private streaming = false;

  private constructor(path: string, fd: number, end: number, options: ExternalDataFileOptions) {
    this.path = path;
    this.fd = fd;
    this.end = end;
    this.alignment = options.alignment ?? 64;
    this.location = options.location ?? basename(path);
    const problem = locationProblem(this.location);
    if (problem !== undefined) throw new InvalidArgumentError(`external data file: ${problem}`, { location: this.location });
    if (!Number.isSafeInteger(this.alignment) || this.alignment < 1) {
      throw new InvalidArgumentError(`external data alignment must be a positive integer, got ${String(this.alignment)}`);
    }
  }

  /** Create (or truncate) a data file at `path`. */
  static create(path: string, options: ExternalDataFileOptions = {}): ExternalDataFile {
    const absolute = resolve(path);
    let fd: number;
    try {
      fd = openSync(absolute, 'w');
    } catch (cause) {
      throw new ExternalDataError(`cannot create external data file ${absolute}`, { path: absolute }, cause);
    }
    return new ExternalDataFile(absolute, fd, 0, options);
  }

  /**
   * Open an existing data file to add tensors after its current end, e.g. to
   * convert one more model that shares it. Existing bytes are left untouched.
   */
  static openForAppend(path: string, options: ExternalDataFileOptions = {}): ExternalDataFile {
    const absolute = resolve(path);
    let fd: number;
    try {
      fd = openSync(absolute, 'r+');
    } catch (cause) {
      throw new ExternalDataError(`cannot open external data file ${absolute}`, { path: absolute }, cause);
    }
    return new ExternalDataFile(absolute, fd, fstatSync(fd).size, options);
  }

  /** End of the last tensor written: the file's size in bytes. */
  get size(): number {
    return this.end;
  }

  /** Tensors appended through this handle. */
  get tensorCount(): number {
    return this.count;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Offset the next tensor will get. */
  get nextOffset(): number {
    return alignOffset(this.end, this.alignment);
  }

  /** Write one tensor's bytes at the next aligned offset (synchronously) and return where they went. */
  append(data: TypedTensor | RawTensorBytes): ExternalDataRef {
    const fd = this.writable();
    let bytes: Uint8Array;
    if (isTypedTensor(data)) {
      bytes = tensorBytes(data);
    } else {
      const expected = tensorByteLength(data.dtype, data.dims);
      if (data.bytes.byteLength !== expected) {
        throw new InvalidArgumentError(
          `${data.dtype} [${data.dims.join(', ')}] needs ${expected} bytes, got ${data.bytes.byteLength}`,
          { expected, actual: data.bytes.byteLength },
        );
      }
      bytes = data.bytes;
    }
    const offset = this.nextOffset;
    try {
      writeFully(fd, bytes, offset);
    } catch (cause) {
      if (cause instanceof ExternalDataError) throw cause;
      throw new ExternalDataError(`writing ${bytes.byteLength} bytes to ${this.path} at offset ${offset} failed`, { path: this.path, offset }, cause);
    }
    return this.record(offset, bytes.byteLength);
  }

  /**
   * Write one tensor's bytes from a stream of chunks (a Node Readable, an
   * async generator, an array of pieces) at the next aligned offset. When
   * `length` is given the total must match it. No other append may run meanwhile.
   */
  async appendChunks(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: { length?: number } = {},
  ): Promise<ExternalDataRef> {
    const fd = this.writable();
    const offset = this.nextOffset;
    this.streaming = true;
    let written = 0;
    try {
      for await (const chunk of chunks) {
        writeFully(fd, chunk, offset + written);
        written += chunk.byteLength;
      }
    } catch (cause) {
      if (cause instanceof ExternalDataError) throw cause;
      throw new ExternalDataError(`streaming into ${this.path} at offset ${offset + written} failed`, { path: this.path, offset }, cause);
    } finally {
      this.streaming = false;
    }
    if (options.length !== undefined && written !== options.length) {
      throw new ExternalDataError(`stream gave ${written} bytes, expected ${options.length}`, { expected: options.length, actual: written });
    }
    return this.record(offset, written);
  }

  /** Close the file. Further appends throw. */
  close(): void {
    if (this.fd === undefined) return;
    if (this.streaming) throw new ExternalDataError(`cannot close ${this.path} while a stream is being appended`, { path: this.path });
    closeSync(this.fd);
    this.fd = undefined;
  }

  private writable(): number {
    if (this.fd === undefined) throw new ExternalDataError(`external data file ${this.path} is closed`, { path: this.path });
    if (this.streaming) throw new ExternalDataError(`external data file ${this.path} is busy with a streamed append`, { path: this.path });
    return this.fd;
  }

  private record(offset: number, length: number): ExternalDataRef {
    if (length > 0) this.end = Math.max(this.end, offset + length);
    this.count++;
    return Object.freeze({ location: this.location, offset, length });
  }
}
