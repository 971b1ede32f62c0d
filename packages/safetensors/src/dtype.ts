import type { DataType } from '@vasink/tensor';

/**
 * Every dtype name the safetensors reference (huggingface/safetensors,
 * `safetensors/src/tensor.rs`, enum `Dtype`) knows, in the enum's order, which
 * is increasing alignment: the reference writer sorts tensors by this order,
 * descending, then by name.
 */
export const SAFETENSORS_DTYPES = [
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F8_E4M3FNUZ',
  'F8_E5M2FNUZ',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
] as const;

/** A dtype name as written in a safetensors header, e.g. `"BF16"`. */
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

const BITS: { [D in SafetensorsDType]: number } = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

/**
 * The vasink dtype a stored dtype is read as. Exact matches keep their bits;
 * the others are converted: F64 → float32 (rounded), I8/I16/U16 → int32 and
 * U32/U64 → int64 (exact; U64 values above 2^63 − 1 are an error). Dtypes
 * missing here (fp8, fp4, fp6, complex) can only be read as raw bytes.
 */
const READ_AS: { readonly [D in SafetensorsDType]?: DataType } = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
  F64: 'float32',
  I8: 'int32',
  I16: 'int32',
  U16: 'int32',
  U32: 'int64',
  U64: 'int64',
};

const STORED_AS: { readonly [T in DataType]: SafetensorsDType } = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

const RANK = new Map<string, number>(SAFETENSORS_DTYPES.map((name, rank) => [name, rank]));

/** Narrow an unknown value to a safetensors dtype name. */
export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && RANK.has(value);
}

/** Bits one element of a stored dtype occupies (4 for F4, 6 for F6_*). */
export function safetensorsDTypeBits(dtype: SafetensorsDType): number {
  return BITS[dtype];
}

/** The vasink dtype `read` returns for a stored dtype, or undefined when it has none. */
export function readDataType(dtype: SafetensorsDType): DataType | undefined {
  return READ_AS[dtype];
}

/** The stored dtype name of a vasink dtype, e.g. bfloat16 → `"BF16"`. */
export function toSafetensorsDType(dtype: DataType): SafetensorsDType {
  return STORED_AS[dtype];
}

/** Position in the reference enum: the writer puts higher ranks first. */
export function dtypeRank(dtype: SafetensorsDType): number {
  return RANK.get(dtype) ?? 0;
}

/** True on little-endian hosts; safetensors data is little-endian and read in place. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
