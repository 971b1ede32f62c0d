import { InvalidArgumentError, ShapeError } from './errors.js';

/** Tensor dimensions, outermost first. */
export type Dims = readonly number[];

/** Validate dims: non-negative safe integers. Throws InvalidArgumentError. */
export function assertValidDims(dims: Dims, what = 'tensor'): void {
  for (const [axis, size] of dims.entries()) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`${what}: dimension ${axis} is ${String(size)}; dims must be non-negative integers`, {
        dims: [...dims],
      });
    }
  }
}

/** Number of elements of a tensor with these dims (1 for a scalar). */
export function sizeOf(dims: Dims): number {
  let size = 1;
  for (const d of dims) size *= d;
  return size;
}

/** Row-major (C order) element strides for these dims. */
export function stridesOf(dims: Dims): number[] {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= dims[axis] ?? 1;
  }
  return strides;
}

/** Flat offset of a multi-index under row-major strides; checks bounds. */
export function offsetOf(dims: Dims, index: readonly number[]): number {
  if (index.length !== dims.length) {
    throw new ShapeError(`index has ${index.length} axes, tensor has ${dims.length}`, { dims: [...dims], index: [...index] });
  }
  let offset = 0;
  for (let axis = 0; axis < dims.length; axis++) {
    const size = dims[axis] ?? 0;
    const i = index[axis] ?? 0;
    if (!Number.isInteger(i) || i < 0 || i >= size) {
      throw new ShapeError(`index ${i} out of range for axis ${axis} of size ${size}`, { dims: [...dims], index: [...index] });
    }
    offset = offset * size + i;
  }
  return offset;
}

/** True when two dims lists are equal. */
export function sameDims(a: Dims, b: Dims): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Check `dims` against an expected pattern; `null` entries match any size.
 * Throws a ShapeError naming the tensor, e.g. `attention: expected [batch, heads, query, key] ...`.
 */
export function assertDims(
  name: string,
  dims: Dims,
  expected: readonly (number | null)[],
  axisNames?: readonly string[],
): void {
  const ok = dims.length === expected.length && expected.every((e, i) => e === null || e === dims[i]);
  if (!ok) {
    const pattern = expected.map((e, i) => (e === null ? (axisNames?.[i] ?? '?') : String(e))).join(', ');
    throw new ShapeError(`${name}: expected dims [${pattern}], got [${dims.join(', ')}]`, {
      name,
      dims: [...dims],
      expected: [...expected],
    });
  }
}
