import { type FileHandle, open } from 'node:fs/promises';
import { type DataType, type DataTypeMap, type Float32Tensor, type TypedTensor, createTensor, toFloat32 } from '@vasink/tensor';
import { LITTLE_ENDIAN_HOST, type SafetensorsDType, readDataType } from './dtype.js';
import { fileError, tensorError } from './errors.js';
import {
  HEADER_LENGTH_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  decodeHeaderLength,
  parseHeader,
} from './header.js';

/** An open safetensors file: its validated header, and tensors read on demand. */
export interface SafetensorsFile {
  /** The path as given to `openSafetensors`. */
  readonly path: string;
  readonly header: SafetensorsHeader;
  /** Tensor names in data order. */
  names(): string[];
  has(name: string): boolean;
  /** Dtype, shape and byte range of one tensor; throws `tensor-not-found`. */
  info(name: string): SafetensorsTensorInfo;
  /**
   * Read one tensor from disk (only its own bytes) into a fresh buffer.
   * F32, F16, BF16, I64, I32, U8 and BOOL keep their bits; F64 is rounded to
   * float32, I8/I16/U16 widen to int32, U32/U64 to int64. Other dtypes throw
   * `unsupported-dtype` (use `readBytes`).
   */
  read(name: string): Promise<TypedTensor>;
  /** Read a floating tensor (F32, F16, BF16, F64) as float32. */
  readAsFloat32(name: string): Promise<Float32Tensor>;
  /** The tensor's raw little-endian bytes, whatever its dtype. */
  readBytes(name: string): Promise<Uint8Array>;
  /** Close the file; later reads throw `closed`. Safe to call twice. */
  close(): Promise<void>;
}

/** Largest single read: Node caps one read at 2 GiB − 1. */
const MAX_READ_BYTES = 1 << 30;

/**
 * Open a safetensors file and validate its header (see `SafetensorsErrorReason`
 * for every check). Only the 8-byte length and the header are read here;
 * tensors are read one at a time, by position, so files and offsets beyond
 * 4 GiB work (positions are exact up to 2^53 bytes).
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const prefix = new Uint8Array(HEADER_LENGTH_BYTES);
    const prefixRead = size < HEADER_LENGTH_BYTES ? 0 : await readFully(handle, prefix, 0, path);
    const headerLength = decodeHeaderLength(path, prefix.subarray(0, prefixRead), size);
    const headerBytes = new Uint8Array(headerLength);
    await readFully(handle, headerBytes, HEADER_LENGTH_BYTES, path);
    return new OpenSafetensorsFile(path, handle, parseHeader(path, headerBytes, size));
  } catch (error) {
    await handle.close();
    throw error;
  }
}

class OpenSafetensorsFile implements SafetensorsFile {
  readonly path: string;
  readonly header: SafetensorsHeader;
  #handle: FileHandle | undefined;
  readonly #byName: Map<string, SafetensorsTensorInfo>;

  constructor(path: string, handle: FileHandle, header: SafetensorsHeader) {
    this.path = path;
    this.header = header;
    this.#handle = handle;
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.#byName.get(name);
    if (!info) {
      throw tensorError('tensor-not-found', this.path, name, `no such tensor in this file (it holds ${this.#byName.size})`);
    }
    return info;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const handle = this.#handle;
    if (!handle) throw tensorError('closed', this.path, name, 'file is closed');
    const bytes = new Uint8Array(info.byteLength);
    await readFully(handle, bytes, info.byteOffset, this.path, name);
    return bytes;
  }

  async read(name: string): Promise<TypedTensor> {
    const { dtype, shape } = this.info(name);
    const target = readDataType(dtype);
    if (target === undefined) {
      throw tensorError('unsupported-dtype', this.path, name, `dtype ${dtype} has no vasink equivalent; read its raw bytes with readBytes`, {
        dtype,
      });
    }
    if (!LITTLE_ENDIAN_HOST) {
      throw tensorError('unsupported-dtype', this.path, name, 'safetensors data is little-endian; this host is big-endian', { dtype });
    }
    const bytes = await this.readBytes(name);
    return createTensor(target, shape, this.#decode(name, dtype, bytes));
  }

  async readAsFloat32(name: string): Promise<Float32Tensor> {
    const { dtype } = this.info(name);
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'F64') {
      throw tensorError('unsupported-dtype', this.path, name, `dtype ${dtype} is not a floating type; use read`, { dtype });
    }
    return toFloat32(await this.read(name));
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  #decode(name: string, dtype: SafetensorsDType, bytes: Uint8Array): DataTypeMap[DataType] {
    const { buffer } = bytes;
    switch (dtype) {
      case 'F32':
        return new Float32Array(buffer);
      case 'F16':
      case 'BF16':
        return new Uint16Array(buffer);
      case 'I64':
        return new BigInt64Array(buffer);
      case 'I32':
        return new Int32Array(buffer);
      case 'U8':
      case 'BOOL':
        return bytes;
      // Converting constructors round (F64 → F32) or widen exactly (→ Int32).
      case 'F64':
        return new Float32Array(new Float64Array(buffer));
      case 'I8':
        return new Int32Array(new Int8Array(buffer));
      case 'I16':
        return new Int32Array(new Int16Array(buffer));
      case 'U16':
        return new Int32Array(new Uint16Array(buffer));
      case 'U32': {
        const source = new Uint32Array(buffer);
        const out = new BigInt64Array(source.length);
        for (let i = 0; i < source.length; i++) out[i] = BigInt(source[i] ?? 0);
        return out;
      }
      case 'U64': {
        const out = new BigInt64Array(buffer);
        const index = out.findIndex((v) => v < 0n);
        if (index >= 0) {
          throw tensorError('value-out-of-range', this.path, name, `U64 element ${index} is above 2^63 − 1 and does not fit int64`, {
            index,
          });
        }
        return out;
      }
      default:
        throw tensorError('unsupported-dtype', this.path, name, `dtype ${dtype} cannot be decoded`, { dtype });
    }
  }
}

/**
 * Fill `target` from `position` on, in reads of at most 1 GiB. A short read
 * means the file shrank since its header was checked.
 */
async function readFully(handle: FileHandle, target: Uint8Array, position: number, file: string, tensor?: string): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(target.length - done, MAX_READ_BYTES);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      const message = `file ended at byte ${position + done} while reading ${target.length} bytes from ${position} (truncated)`;
      throw tensor === undefined
        ? fileError('truncated', file, message, { position })
        : tensorError('truncated', file, tensor, message, { position });
    }
    done += bytesRead;
  }
  return done;
}
