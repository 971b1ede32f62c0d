import { type DataType, type DataTypeMap, isDataType, typedArrayConstructor } from './dtype.js';
import { DTypeError, InvalidArgumentError, ShapeError } from './errors.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float32ArrayToBfloat16, float32ArrayToFloat16 } from './half.js';
import { type Dims, assertValidDims, sizeOf } from './shape.js';

/** A dense row-major tensor whose storage type follows its dtype. */
export interface TypedTensor<T extends DataType = DataType> {
  readonly dtype: T;
  readonly dims: Dims;
  readonly data: DataTypeMap[T];
}

export type Float32Tensor = TypedTensor<'float32'>;
export type Float16Tensor = TypedTensor<'float16'>;
export type Bfloat16Tensor = TypedTensor<'bfloat16'>;
export type Int64Tensor = TypedTensor<'int64'>;
export type Int32Tensor = TypedTensor<'int32'>;
export type Uint8Tensor = TypedTensor<'uint8'>;
export type BoolTensor = TypedTensor<'bool'>;

/**
 * Create a tensor. `data` may be the exact TypedArray (kept, not copied), a
 * plain array (copied), or omitted (zeros). Lengths are checked against dims.
 */
export function createTensor<T extends DataType>(
  dtype: T,
  dims: Dims,
  data?: DataTypeMap[T] | ArrayLike<number> | ArrayLike<bigint>,
): TypedTensor<T> {
  if (!isDataType(dtype)) throw new DTypeError(`unknown dtype ${JSON.stringify(dtype)}`, { dtype });
  assertValidDims(dims);
  const size = sizeOf(dims);
  const Ctor = typedArrayConstructor(dtype);
  let storage: DataTypeMap[T];
  if (data === undefined) {
    storage = new Ctor(size);
  } else if (data instanceof Ctor) {
    storage = data as DataTypeMap[T];
  } else if (ArrayBuffer.isView(data)) {
    throw new DTypeError(`${dtype} tensor needs a ${Ctor.name}, got a ${data.constructor.name}`, { dtype });
  } else {
    storage = new Ctor(data.length);
    const target = storage as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number | bigint;
      target[i] = dtype === 'int64' ? BigInt(v) : Number(v);
    }
  }
  if (storage.length !== size) {
    throw new ShapeError(`dims [${dims.join(', ')}] hold ${size} elements, data has ${storage.length}`, {
      dims: [...dims],
      length: storage.length,
    });
  }
  return { dtype, dims: [...dims], data: storage };
}

/** A tensor of zeros. */
export function zeros<T extends DataType>(dtype: T, dims: Dims): TypedTensor<T> {
  return createTensor(dtype, dims);
}

/** Same storage, new dims (element count must match). */
export function reshape<T extends DataType>(tensor: TypedTensor<T>, dims: Dims): TypedTensor<T> {
  return createTensor(tensor.dtype, dims, tensor.data);
}

/** Float32 view of any floating tensor: float32 is returned as is, halves are widened. */
export function toFloat32(tensor: TypedTensor): Float32Tensor {
  switch (tensor.dtype) {
    case 'float32':
      return tensor as Float32Tensor;
    case 'float16':
      return createTensor('float32', tensor.dims, float16ArrayToFloat32(tensor.data as Uint16Array));
    case 'bfloat16':
      return createTensor('float32', tensor.dims, bfloat16ArrayToFloat32(tensor.data as Uint16Array));
    default:
      throw new DTypeError(`expected a floating tensor, got ${tensor.dtype}`, { dtype: tensor.dtype });
  }
}

/** Narrow a float32 tensor to float16 or bfloat16 (round to nearest even). */
export function fromFloat32(tensor: Float32Tensor, dtype: 'float16' | 'bfloat16'): TypedTensor<'float16' | 'bfloat16'> {
  const bits = dtype === 'float16' ? float32ArrayToFloat16(tensor.data) : float32ArrayToBfloat16(tensor.data);
  return createTensor(dtype, tensor.dims, bits);
}

/** Assert a tensor has the given dtype, with a message naming it. */
export function assertDType<T extends DataType>(name: string, tensor: TypedTensor, dtype: T): asserts tensor is TypedTensor<T> {
  if (tensor.dtype !== dtype) {
    throw new DTypeError(`${name}: expected ${dtype}, got ${tensor.dtype}`, { name, expected: dtype, actual: tensor.dtype });
  }
}

/** Assert a number is finite, with a message naming it. */
export function assertFinite(name: string, value: number): void {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`${name} must be a finite number, got ${String(value)}`, { name, value });
}
