// Conversions between vasink tensors and ONNX TensorProto (inline data only;
// external data is read by model-io.ts, which knows about files).
import {
  type DataType,
  type TypedTensor,
  DTypeError,
  ShapeError,
  bytesPerElement,
  createTensor,
  sizeOf,
  typedArrayConstructor,
} from '@vasink/tensor';
import { ExternalDataError } from './errors.js';
import { type TensorProto, DataLocation, dataTypeFromOnnx, onnxDataType } from './onnx-types.js';

// TypedArray views are host-endian; ONNX raw_data is little-endian.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new DTypeError('ONNX raw tensor data needs a little-endian host');
}

/** Bytes a dense tensor of `dtype` and `dims` occupies. */
export function tensorByteLength(dtype: DataType, dims: readonly number[]): number {
  return sizeOf(dims) * bytesPerElement(dtype);
}

/** The tensor's element bytes (little-endian), as a view of its storage: no copy. */
export function tensorBytes(tensor: TypedTensor): Uint8Array {
  assertLittleEndian();
  const data = tensor.data;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * TensorProto holding the tensor inline as raw_data. The bytes are a view of
 * the tensor's storage (not copied): mutating the tensor changes the proto.
 */
export function tensorToProto(tensor: TypedTensor, name?: string): TensorProto {
  const proto: TensorProto = { dims: [...tensor.dims], dataType: onnxDataType(tensor.dtype), rawData: tensorBytes(tensor) };
  if (name !== undefined) proto.name = name;
  return proto;
}

/** True when the tensor's data lives in an external file. */
export function isExternalTensor(proto: TensorProto): boolean {
  return proto.dataLocation === DataLocation.EXTERNAL;
}

/** Copy little-endian element bytes into a fresh tensor of `dtype` and `dims`. */
export function tensorFromBytes<T extends DataType>(dtype: T, dims: readonly number[], bytes: Uint8Array): TypedTensor<T> {
  assertLittleEndian();
  const expected = tensorByteLength(dtype, dims);
  if (bytes.byteLength !== expected) {
    throw new ShapeError(
      `${dtype} tensor of dims [${dims.join(', ')}] needs ${expected} bytes, got ${bytes.byteLength}`,
      { dtype, dims: [...dims], expected, actual: bytes.byteLength },
    );
  }
  // Copy into a fresh buffer: the source may be unaligned or shared with a file buffer.
  const copy = new Uint8Array(expected);
  copy.set(bytes);
  const Ctor = typedArrayConstructor(dtype);
  return createTensor(dtype, dims, new Ctor(copy.buffer, 0, expected / bytesPerElement(dtype)));
}

/**
 * Tensor from an inline TensorProto (raw_data or the typed *_data fields).
 * External tensors need their file: use `readInitializer`.
 */
export function tensorFromProto(proto: TensorProto): TypedTensor {
  if (isExternalTensor(proto)) {
    throw new ExternalDataError(`tensor ${proto.name ?? ''} stores its data in an external file; use readInitializer with the model directory`, {
      name: proto.name,
    });
  }
  const dtype = dataTypeFromOnnx(proto.dataType);
  const dims = proto.dims;
  if (proto.rawData !== undefined) return tensorFromBytes(dtype, dims, proto.rawData);
  const size = sizeOf(dims);
  const values = typedValues(proto, dtype);
  if (values === undefined) {
    if (size === 0) return createTensor(dtype, dims);
    throw new ShapeError(`tensor ${proto.name ?? ''} has no data for its ${size} elements`, { name: proto.name, dims: [...dims] });
  }
  if (values.length !== size) {
    throw new ShapeError(`tensor ${proto.name ?? ''}: dims [${dims.join(', ')}] hold ${size} elements, data has ${values.length}`, {
      name: proto.name,
      dims: [...dims],
      length: values.length,
    });
  }
  return createTensor(dtype, dims, values as ArrayLike<number> | ArrayLike<bigint>);
}

function typedValues(proto: TensorProto, dtype: DataType): ArrayLike<number | bigint> | undefined {
  switch (dtype) {
    case 'float32':
      return proto.floatData;
    case 'int64':
      return proto.int64Data;
    case 'int32':
    case 'uint8':
    case 'bool':
      return proto.int32Data;
    case 'float16':
    case 'bfloat16':
      // Bit patterns travel in int32_data.
      return proto.int32Data?.map((bits) => bits & 0xffff);
  }
}
