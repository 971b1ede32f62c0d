import { Tensor as OrtTensor } from 'onnxruntime-common';
import { type DataType, isDataType } from './dtype.js';
import { DTypeError } from './errors.js';
import { type TypedTensor, createTensor } from './tensor.js';

/**
 * Wrap a vasink tensor as an onnxruntime tensor without copying its data.
 * bfloat16 has no onnxruntime-js representation: widen it with `toFloat32` first.
 */
export function toOrtTensor(tensor: TypedTensor): OrtTensor {
  if (tensor.dtype === 'bfloat16') {
    throw new DTypeError('onnxruntime-js cannot carry bfloat16 tensors; convert with toFloat32 first', { dtype: 'bfloat16' });
  }
  return new OrtTensor(tensor.dtype, tensor.data as never, tensor.dims);
}

/** View an onnxruntime CPU tensor as a vasink tensor without copying its data. */
export function fromOrtTensor(tensor: OrtTensor): TypedTensor {
  const dtype: string = tensor.type;
  if (!isDataType(dtype)) {
    throw new DTypeError(`onnxruntime tensor of type ${dtype} has no vasink dtype`, { dtype });
  }
  let data = tensor.data as unknown;
  // onnxruntime may hand float16 as a Float16Array where the runtime has one; keep raw bits.
  if (dtype === 'float16' && !(data instanceof Uint16Array) && ArrayBuffer.isView(data)) {
    const view = data as ArrayBufferView;
    data = new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
  }
  return createTensor(dtype as DataType, tensor.dims, data as never);
}

export type { OrtTensor };
