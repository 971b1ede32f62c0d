// Where an initializer's bytes live when they are not in the .onnx file.
// Pure bookkeeping, no file access: shared by the writer, reader and checker.
import { ExternalDataError } from './errors.js';
import { type StringStringEntryProto, type TensorProto, DataLocation } from './onnx-types.js';

/** A tensor's bytes inside an external data file. Offsets and lengths are plain numbers (safe past 2^31). */
export interface ExternalDataRef {
  /** File path relative to the directory of the model that references it (POSIX separators). */
  readonly location: string;
  /** Byte offset of the first element. */
  readonly offset: number;
  /** Byte length of the tensor data. */
  readonly length: number;
}

/** Parsed `external_data` entries of a TensorProto; `length` is absent when the file does not say. */
export interface ExternalDataInfo {
  readonly location: string;
  readonly offset: number;
  readonly length?: number;
  readonly checksum?: string;
}

const KNOWN_KEYS = new Set(['location', 'offset', 'length', 'checksum']);

/** Smallest multiple of `alignment` at or above `offset` (exact for offsets up to 2^53). */
export function alignOffset(offset: number, alignment: number): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative safe integer, got ${offset}`);
  if (!Number.isSafeInteger(alignment) || alignment < 1) throw new RangeError(`alignment must be a positive integer, got ${alignment}`);
  const rest = offset % alignment;
  return rest === 0 ? offset : offset + (alignment - rest);
}

/** The `external_data` entries that record a reference. */
export function externalDataEntries(ref: ExternalDataRef): StringStringEntryProto[] {
  return [
    { key: 'location', value: ref.location },
    { key: 'offset', value: String(ref.offset) },
    { key: 'length', value: String(ref.length) },
  ];
}

/** Why a location cannot be used, or undefined when it is a safe relative path. */
export function locationProblem(location: string): string | undefined {
  if (location === '') return 'location is empty';
  if (location.startsWith('/') || /^[A-Za-z]:[\\/]/.test(location) || location.startsWith('\\')) {
    return `location "${location}" is absolute; it must be relative to the model directory`;
  }
  if (location.split(/[\\/]/).includes('..')) return `location "${location}" leaves the model directory`;
  return undefined;
}

function parseCount(key: string, value: string, tensor: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new ExternalDataError(`tensor ${tensor}: external data ${key} "${value}" is not a non-negative integer`, { tensor, key, value });
  }
  return Number(value);
}

/** Parse and validate a tensor's external data entries; throws ExternalDataError naming the problem. */
export function parseExternalData(proto: TensorProto): ExternalDataInfo {
  const tensor = proto.name ?? '';
  if (proto.dataLocation !== DataLocation.EXTERNAL) {
    throw new ExternalDataError(`tensor ${tensor}: data_location is not EXTERNAL`, { tensor });
  }
  const seen = new Map<string, string>();
  for (const { key, value } of proto.externalData ?? []) {
    if (!KNOWN_KEYS.has(key)) throw new ExternalDataError(`tensor ${tensor}: unknown external data key "${key}"`, { tensor, key });
    if (seen.has(key)) throw new ExternalDataError(`tensor ${tensor}: external data key "${key}" appears twice`, { tensor, key });
    seen.set(key, value);
  }
  const location = seen.get('location');
  if (location === undefined) throw new ExternalDataError(`tensor ${tensor}: external data has no location`, { tensor });
  const problem = locationProblem(location);
  if (problem !== undefined) throw new ExternalDataError(`tensor ${tensor}: ${problem}`, { tensor, location });
  const offset = seen.has('offset') ? parseCount('offset', seen.get('offset') as string, tensor) : 0;
  const info: { location: string; offset: number; length?: number; checksum?: string } = { location, offset };
  if (seen.has('length')) info.length = parseCount('length', seen.get('length') as string, tensor);
  const checksum = seen.get('checksum');
  if (checksum !== undefined) info.checksum = checksum;
  return info;
}
