import { type SafetensorsDType, dtypeRank, isSafetensorsDType, safetensorsDTypeBits } from './dtype.js';
import { type SafetensorsError, fileError, tensorError } from './errors.js';

/** Bytes of the little-endian u64 header length that opens every file. */
export const HEADER_LENGTH_BYTES = 8;

/** Largest JSON header accepted, in bytes: the reference's `MAX_HEADER_SIZE` (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor lives in a safetensors file. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  /** Stored element type, e.g. `"BF16"`. */
  readonly dtype: SafetensorsDType;
  /** Dims, outermost first (row-major); `[]` is a scalar. */
  readonly shape: readonly number[];
  /** `[begin, end)` in bytes, relative to the start of the data section, as in the header. */
  readonly dataOffsets: readonly [number, number];
  /** Absolute position of the tensor's first byte in the file. */
  readonly byteOffset: number;
  /** Bytes the tensor occupies (`end − begin`). */
  readonly byteLength: number;
}

/** The parsed, validated header of one safetensors file. */
export interface SafetensorsHeader {
  /** N: bytes of JSON header (padding included) after the 8-byte length. */
  readonly headerLength: number;
  /** Absolute position of the data section (`8 + N`). */
  readonly dataStart: number;
  /** Bytes of the data section; tensors cover it exactly. */
  readonly dataLength: number;
  /** The `__metadata__` strings; empty when the header has none. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in data order (increasing offsets). */
  readonly tensors: readonly SafetensorsTensorInfo[];
}

/** What `encodeHeader` needs of one tensor. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

/**
 * Read N from the first 8 bytes and check it against the file size and the
 * 100 MB limit. `fileSize` in bytes; `prefix` holds what could be read of the
 * first 8 bytes.
 */
export function decodeHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < HEADER_LENGTH_BYTES || prefix.length < HEADER_LENGTH_BYTES) {
    throw fileError(
      'file-too-small',
      file,
      `file is ${fileSize} bytes, shorter than the 8-byte header length that starts every safetensors file`,
      { fileSize },
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw fileError(
      'header-too-large',
      file,
      `header length is ${length} bytes, above the ${MAX_HEADER_BYTES}-byte limit of the format (not a safetensors file, or corrupt)`,
      { headerLength: length.toString(), limit: MAX_HEADER_BYTES },
    );
  }
  const headerLength = Number(length);
  if (HEADER_LENGTH_BYTES + headerLength > fileSize) {
    throw fileError(
      'header-beyond-file',
      file,
      `header length is ${headerLength} bytes but the file has only ${fileSize - HEADER_LENGTH_BYTES} bytes after the length field (truncated?)`,
      { headerLength, fileSize },
    );
  }
  return headerLength;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse and validate a header the way the reference does (`Metadata::validate`
 * and `read_metadata`): every entry well formed, byte lengths equal to
 * shape × dtype size, tensors covering the data section exactly — from 0, no
 * overlap, no gap, nothing after the last tensor. `bytes` are the N header
 * bytes; `fileSize` is the whole file in bytes.
 */
export function parseHeader(file: string, bytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = bytes.length;
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  const dataLength = fileSize - dataStart;
  const json = parseJson(file, bytes);

  let metadata: Record<string, string> = {};
  const tensors: Omit<SafetensorsTensorInfo, 'byteOffset'>[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(file, value);
    else tensors.push(parseEntry(file, name, value));
  }

  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous: (typeof tensors)[number] | undefined;
  for (const tensor of tensors) {
    const [begin] = tensor.dataOffsets;
    if (begin < cursor && previous) throw overlapError(file, tensor, previous);
    if (begin > cursor) throw gapError(file, tensor, previous, cursor);
    cursor = tensor.dataOffsets[1];
    previous = tensor;
  }
  if (cursor > dataLength && previous) {
    throw tensorError(
      'truncated',
      file,
      previous.name,
      `ends at byte ${cursor} of the data section, but the file holds only ${Math.max(dataLength, 0)} data bytes ` +
        `(file truncated, or data_offsets out of range)`,
      { end: cursor, dataLength, fileSize },
    );
  }
  if (cursor < dataLength) {
    const last = previous ? `after the last tensor ${JSON.stringify(previous.name)} ` : '';
    throw fileError(
      'trailing-bytes',
      file,
      `${dataLength - cursor} bytes ${last}belong to no tensor; the format forbids unindexed bytes`,
      { end: cursor, dataLength, fileSize, ...(previous ? { tensor: previous.name } : {}) },
    );
  }

  return {
    headerLength,
    dataStart,
    dataLength,
    metadata,
    tensors: tensors.map((t) => ({ ...t, byteOffset: dataStart + t.dataOffsets[0] })),
  };
}

function parseJson(file: string, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw fileError('header-not-utf8', file, 'header is not valid UTF-8', {}, cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw fileError('header-not-json', file, `header is not valid JSON: ${reason}`, {}, cause);
  }
  if (!isObject(json)) {
    throw fileError('header-not-object', file, `header must be a JSON object, got ${describe(json)}`);
  }
  return json;
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isObject(value)) {
    throw fileError('invalid-metadata', file, `__metadata__ must be an object of strings, got ${describe(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw fileError('invalid-metadata', file, `__metadata__.${key} must be a string, got ${describe(v)}`, { key });
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(file: string, name: string, value: unknown): Omit<SafetensorsTensorInfo, 'byteOffset'> {
  if (!isObject(value)) {
    throw tensorError('invalid-entry', file, name, `entry must be an object with dtype, shape and data_offsets, got ${describe(value)}`);
  }
  const missing = ['dtype', 'shape', 'data_offsets'].filter((key) => !Object.hasOwn(value, key));
  if (missing.length > 0) {
    throw tensorError('invalid-entry', file, name, `entry has no ${missing.join(', ')}`, { missing });
  }
  const { dtype, shape, data_offsets: offsets } = value as { dtype: unknown; shape: unknown; data_offsets: unknown };

  if (typeof dtype !== 'string') {
    throw tensorError('invalid-entry', file, name, `dtype must be a string, got ${describe(dtype)}`);
  }
  if (!isSafetensorsDType(dtype)) {
    throw tensorError('unknown-dtype', file, name, `unknown dtype ${JSON.stringify(dtype)}`, { dtype });
  }
  if (!Array.isArray(shape)) {
    throw tensorError('invalid-entry', file, name, `shape must be an array of dims, got ${describe(shape)}`);
  }
  for (const [axis, size] of shape.entries()) {
    if (!isSize(size)) {
      throw tensorError('invalid-shape', file, name, `dimension ${axis} is ${describe(size)}; dims must be non-negative integers`, {
        shape,
      });
    }
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw tensorError('invalid-entry', file, name, `data_offsets must be [begin, end], got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [unknown, unknown];
  if (!isSize(begin) || !isSize(end)) {
    throw tensorError(
      'invalid-offsets',
      file,
      name,
      `data_offsets [${describe(begin)}, ${describe(end)}] must be non-negative integers below 2^53`,
    );
  }
  if (begin > end) {
    throw tensorError('invalid-offsets', file, name, `data_offsets [${begin}, ${end}] begin after they end`, { dataOffsets: [begin, end] });
  }

  const dims = shape as number[];
  const bytes = byteLengthOf(dtype, dims);
  if (bytes === undefined) {
    throw tensorError('invalid-shape', file, name, `shape [${dims.join(', ')}] of ${dtype} is too large to address (over 2^53 bits)`, {
      shape: dims,
    });
  }
  if (!Number.isInteger(bytes)) {
    throw tensorError('size-mismatch', file, name, `shape [${dims.join(', ')}] of ${dtype} does not fill whole bytes`, { shape: dims });
  }
  if (bytes !== end - begin) {
    throw tensorError(
      'size-mismatch',
      file,
      name,
      `shape [${dims.join(', ')}] of ${dtype} needs ${bytes} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      { shape: dims, dtype, dataOffsets: [begin, end], expectedBytes: bytes },
    );
  }
  return { name, dtype, shape: dims, dataOffsets: [begin, end], byteLength: end - begin };
}

/** Bytes of a dense tensor (fractional for sub-byte dtypes), undefined past 2^53 bits. */
export function byteLengthOf(dtype: SafetensorsDType, shape: readonly number[]): number | undefined {
  let bits = safetensorsDTypeBits(dtype);
  for (const d of shape) {
    bits *= d;
    if (!Number.isSafeInteger(bits)) return undefined;
  }
  return bits / 8;
}

function overlapError(
  file: string,
  tensor: Omit<SafetensorsTensorInfo, 'byteOffset'>,
  previous: Omit<SafetensorsTensorInfo, 'byteOffset'>,
): SafetensorsError {
  return tensorError(
    'overlapping-tensors',
    file,
    tensor.name,
    `data_offsets [${tensor.dataOffsets.join(', ')}] overlap tensor ${JSON.stringify(previous.name)} at [${previous.dataOffsets.join(', ')}]`,
    { other: previous.name },
  );
}

function gapError(
  file: string,
  tensor: Omit<SafetensorsTensorInfo, 'byteOffset'>,
  previous: Omit<SafetensorsTensorInfo, 'byteOffset'> | undefined,
  cursor: number,
): SafetensorsError {
  const before = previous ? `tensor ${JSON.stringify(previous.name)} ends at ${cursor}` : 'the data section starts at 0';
  return tensorError(
    'gap-between-tensors',
    file,
    tensor.name,
    `data_offsets [${tensor.dataOffsets.join(', ')}] leave a gap of ${tensor.dataOffsets[0] - cursor} bytes (${before}); ` +
      'the format forbids holes in the data section',
    previous ? { other: previous.name } : {},
  );
}

/**
 * The tensor order of the reference writer (`prepare` in tensor.rs): dtype
 * alignment descending (enum order, U64 first, BOOL last), then name by UTF-8
 * bytes.
 */
export function compareForWriting(a: HeaderEntry, b: HeaderEntry): number {
  return dtypeRank(b.dtype) - dtypeRank(a.dtype) || Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8'));
}

/**
 * Encode a header as the reference does: compact JSON (serde_json), the
 * `__metadata__` object first when given, entries in the order passed with
 * `dtype`, `shape`, `data_offsets`, then spaces up to a multiple of 8 bytes.
 * The reference writes metadata keys in HashMap order (random); we sort them.
 * Offsets are assigned back to back from 0 in the order given.
 */
export function encodeHeader(entries: readonly HeaderEntry[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    const bytes = byteLengthOf(dtype, shape) ?? Number.NaN;
    const info = `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + bytes}]}`;
    parts.push(`${JSON.stringify(name)}:${info}`);
    offset += bytes;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Buffer.alloc(Math.ceil(json.length / HEADER_LENGTH_BYTES) * HEADER_LENGTH_BYTES, 0x20);
  json.copy(padded);
  return new Uint8Array(padded.buffer, padded.byteOffset, padded.length);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(describe);
    return `[${value.length > 8 ? [...shown, '…'].join(', ') : shown.join(', ')}]`;
  }
  if (typeof value === 'object' && value !== null) return 'an object';
  return JSON.stringify(value) ?? String(value);
}
