import { InvalidArgumentError, ShapeError } from './errors.js';
import type { DataType } from './dtype.js';
import { sizeOf } from './shape.js';
import { type TypedTensor, createTensor } from './tensor.js';

/**
 * Join tensors of one dtype along `axis` (all other dims equal), in one pass
 * over the output: e.g. KV-cache blocks `[batch, heads, tokens, headDim]` on
 * axis 2. One tensor is returned as is (no copy).
 */
export function concatTensors<T extends DataType>(tensors: readonly TypedTensor<T>[], axis: number): TypedTensor<T> {
  const first = tensors[0];
  if (!first) throw new InvalidArgumentError('concatTensors needs at least one tensor');
  if (tensors.length === 1) return first;
  const rank = first.dims.length;
  if (!Number.isInteger(axis) || axis < 0 || axis >= rank) throw new InvalidArgumentError(`axis ${axis} is outside rank ${rank}`, { axis, rank });
  for (const t of tensors) {
    if (t.dtype !== first.dtype) throw new InvalidArgumentError(`cannot concatenate ${t.dtype} with ${first.dtype}`);
    if (t.dims.length !== rank || t.dims.some((d, i) => i !== axis && d !== first.dims[i])) {
      throw new ShapeError(`cannot concatenate [${t.dims.join(', ')}] with [${first.dims.join(', ')}] on axis ${axis}`, { axis });
    }
  }
  const outer = sizeOf(first.dims.slice(0, axis));
  const inner = sizeOf(first.dims.slice(axis + 1));
  const along = tensors.reduce((sum, t) => sum + (t.dims[axis] as number), 0);
  const dims = first.dims.map((d, i) => (i === axis ? along : d));
  const out = createTensor(first.dtype, dims);
  const target = out.data as unknown as { set(source: ArrayLike<unknown>, offset: number): void };
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of tensors) {
      const block = (t.dims[axis] as number) * inner;
      const data = t.data as unknown as { subarray(start: number, end: number): ArrayLike<unknown> };
      target.set(data.subarray(o * block, (o + 1) * block), offset);
      offset += block;
    }
  }
  return out;
}
