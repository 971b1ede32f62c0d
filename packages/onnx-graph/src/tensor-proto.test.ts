import { createTensor, float32ToFloat16Bits } from '@vasink/tensor';
import { describe, expect, it } from 'vitest';
import { TensorDataType } from './onnx-types.js';
import { tensorFromBytes, tensorFromProto, tensorToProto } from './tensor-proto.js';

describe('tensor ↔ TensorProto', () => {
  it('round-trips every vasink dtype through raw_data', () => {
    const tensors = [
      createTensor('float32', [2, 2], [1, -2, 3.5, 0]),
      createTensor('float16', [3], [float32ToFloat16Bits(1), float32ToFloat16Bits(-0.5), 0]),
      createTensor('bfloat16', [1], [0x3f80]),
      createTensor('int64', [2], [-(2n ** 62n), 5n]),
      createTensor('int32', [2], [-7, 2 ** 31 - 1]),
      createTensor('uint8', [2], [0, 255]),
      createTensor('bool', [2], [1, 0]),
      createTensor('float32', []),
    ];
    for (const tensor of tensors) {
      const proto = tensorToProto(tensor, 'name');
      expect(proto.name).toBe('name');
      expect(tensorFromProto(proto)).toEqual(tensor);
    }
  });

  it('reads the typed *_data fields', () => {
    expect(tensorFromProto({ dims: [2], dataType: TensorDataType.FLOAT, floatData: [1, 2] })).toEqual(createTensor('float32', [2], [1, 2]));
    expect(tensorFromProto({ dims: [2], dataType: TensorDataType.INT64, int64Data: [-1, 2n ** 60n] })).toEqual(
      createTensor('int64', [2], [-1n, 2n ** 60n]),
    );
    expect(tensorFromProto({ dims: [1], dataType: TensorDataType.FLOAT16, int32Data: [0x3c00] })).toEqual(createTensor('float16', [1], [0x3c00]));
    expect(tensorFromProto({ dims: [2], dataType: TensorDataType.BOOL, int32Data: [1, 0] })).toEqual(createTensor('bool', [2], [1, 0]));
  });

  it('copies unaligned bytes and names size mismatches', () => {
    const bytes = new Uint8Array(9);
    new DataView(bytes.buffer).setFloat32(1, 2.5, true);
    expect(Array.from(tensorFromBytes('float32', [2], bytes.subarray(1)).data)).toEqual([2.5, 0]);
    expect(() => tensorFromBytes('float32', [3], bytes)).toThrow(/needs 12 bytes, got 9/);
    expect(() => tensorFromProto({ name: 't', dims: [3], dataType: TensorDataType.FLOAT, floatData: [1] })).toThrow(/hold 3 elements/);
    expect(() => tensorFromProto({ dims: [1], dataType: TensorDataType.DOUBLE, doubleData: [1] })).toThrow(/double/);
    expect(() => tensorFromProto({ name: 'w', dims: [1], dataType: 1, dataLocation: 1, externalData: [] })).toThrow(/readInitializer/);
  });
});
