/**
 * Element types vasink tensors can hold. Names follow onnxruntime's
 * `Tensor.Type`, plus `bfloat16` (checkpoints store it; onnxruntime-node's JS
 * API cannot carry it).
 */
export type DataType = 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';

/** dtype → the TypedArray holding its elements. Half types hold raw bits. */
export interface DataTypeMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/** Every dtype, in a stable order. */
export const DATA_TYPES: readonly DataType[] = ['float32', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'];

type TypedArrayConstructor<T extends DataType> = {
  new (length: number): DataTypeMap[T];
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): DataTypeMap[T];
  readonly BYTES_PER_ELEMENT: number;
};

const CONSTRUCTORS: { [T in DataType]: TypedArrayConstructor<T> } = {
  float32: Float32Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The TypedArray constructor storing `dtype`. */
export function typedArrayConstructor<T extends DataType>(dtype: T): TypedArrayConstructor<T> {
  return CONSTRUCTORS[dtype];
}

/** Bytes one element of `dtype` occupies. */
export function bytesPerElement(dtype: DataType): number {
  return CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

/** Narrow an unknown string to a DataType. */
export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && (DATA_TYPES as readonly string[]).includes(value);
}
