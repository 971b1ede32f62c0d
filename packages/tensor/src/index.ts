export { concatTensors } from './concat.js';
export { DATA_TYPES, bytesPerElement, isDataType, typedArrayConstructor } from './dtype.js';
export type { DataType, DataTypeMap } from './dtype.js';
export { DTypeError, InvalidArgumentError, ShapeError, VasinkError, describeError, exposureOf } from './errors.js';
export type { ErrorExposure, VasinkErrorCode, VasinkErrorCodes, VasinkErrorOptions } from './errors.js';
export {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from './half.js';
export { fromOrtTensor, toOrtTensor } from './ort.js';
export type { OrtTensor } from './ort.js';
export { rowParamValue } from './row-param.js';
export { inverseNormal, seededNormal } from './seeded-normal.js';
export type { FloatDataType, NormalFillOptions, SeededNormal } from './seeded-normal.js';
export { seededUniform } from './seeded-uniform.js';
export type { RowParam } from './row-param.js';
export { assertDims, assertValidDims, offsetOf, sameDims, sizeOf, stridesOf } from './shape.js';
export type { Dims } from './shape.js';
export { assertDType, assertFinite, createTensor, fromFloat32, reshape, toFloat32, zeros } from './tensor.js';
export type {
  Bfloat16Tensor,
  BoolTensor,
  Float16Tensor,
  Float32Tensor,
  Int32Tensor,
  Int64Tensor,
  TypedTensor,
  Uint8Tensor,
} from './tensor.js';
