import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-common';
import { createTensor, fromFloat32, reshape, toFloat32, zeros } from './tensor.js';
import { fromOrtTensor, toOrtTensor } from './ort.js';
import { assertDims, offsetOf, sizeOf, stridesOf } from './shape.js';
import { DTypeError, InvalidArgumentError, ShapeError, VasinkError } from './errors.js';

describe('shape helpers', () => {
  it('computes sizes, strides and offsets row-major', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 0, 3])).toBe(0);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(offsetOf([2, 3, 4], [1, 2, 3])).toBe(23);
    expect(() => offsetOf([2, 3], [2, 0])).toThrow(ShapeError);
  });

  it('names the tensor and the expected pattern on a mismatch', () => {
    expect(() => assertDims('attention', [1, 2, 3], [null, null, null, null], ['batch', 'heads', 'query', 'key'])).toThrow(
      'attention: expected dims [batch, heads, query, key], got [1, 2, 3]',
    );
    expect(() => assertDims('x', [2, 3], [2, null])).not.toThrow();
  });
});

describe('createTensor', () => {
  it('keeps a matching TypedArray without copying', () => {
    const data = new Float32Array(6);
    const t = createTensor('float32', [2, 3], data);
    expect(t.data).toBe(data);
  });

  it('copies plain arrays into the dtype storage', () => {
    const t = createTensor('int64', [3], [1, 2, 3]);
    expect(t.data).toEqual(new BigInt64Array([1n, 2n, 3n]));
    expect(zeros('bool', [2]).data).toEqual(new Uint8Array(2));
  });

  it('rejects bad input with clear errors', () => {
    expect(() => createTensor('float32', [2, 2], new Float32Array(3))).toThrow('dims [2, 2] hold 4 elements, data has 3');
    expect(() => createTensor('float32', [2], new Int32Array(2))).toThrow(DTypeError);
    expect(() => createTensor('float32', [-1])).toThrow(InvalidArgumentError);
    expect(() => createTensor('float64' as never, [1])).toThrow('unknown dtype "float64"');
    expect(() => reshape(zeros('float32', [6]), [4])).toThrow(ShapeError);
  });

  it('every vasink error is recognisable and carries details', () => {
    try {
      createTensor('float32', [2, 2], new Float32Array(3));
      expect.unreachable();
    } catch (error) {
      expect(VasinkError.is(error)).toBe(true);
      expect((error as VasinkError).code).toBe('SHAPE_MISMATCH');
      expect((error as VasinkError).details).toMatchObject({ dims: [2, 2], length: 3 });
    }
  });

  it('widens and narrows half precision', () => {
    const t = createTensor('float32', [3], [1, 0.5, -2.25]);
    expect(toFloat32(fromFloat32(t, 'float16')).data).toEqual(t.data);
    expect(toFloat32(fromFloat32(t, 'bfloat16')).data).toEqual(t.data);
    expect(() => toFloat32(zeros('int32', [1]))).toThrow(DTypeError);
  });
});

describe('onnxruntime interop', () => {
  it('shares storage both ways', () => {
    const t = createTensor('float32', [2, 2], [1, 2, 3, 4]);
    const o = toOrtTensor(t);
    expect(o).toBeInstanceOf(ort.Tensor);
    expect(o.data).toBe(t.data);
    expect(o.dims).toEqual([2, 2]);
    const back = fromOrtTensor(o);
    expect(back.data).toBe(t.data);
    expect(back.dtype).toBe('float32');
  });

  it('maps int64, bool and float16', () => {
    expect(toOrtTensor(createTensor('int64', [1], [5])).type).toBe('int64');
    expect(toOrtTensor(createTensor('bool', [1], [1])).type).toBe('bool');
    const half = fromOrtTensor(new ort.Tensor('float16', new Uint16Array([0x3c00]), [1]));
    expect(half.dtype).toBe('float16');
    expect(toFloat32(half).data[0]).toBe(1);
  });

  it('refuses bfloat16 and unknown types clearly', () => {
    expect(() => toOrtTensor(zeros('bfloat16', [1]))).toThrow(/bfloat16/);
    expect(() => fromOrtTensor(new ort.Tensor('float64', new Float64Array(1), [1]))).toThrow(/float64 has no vasink dtype/);
  });
});
