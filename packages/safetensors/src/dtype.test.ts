import { describe, expect, it } from 'vitest';
import { DATA_TYPES } from '@vasink/tensor';
import { SAFETENSORS_DTYPES, dtypeRank, isSafetensorsDType, readDataType, safetensorsDTypeBits, toSafetensorsDType } from './dtype.js';

describe('safetensors dtypes', () => {
  it('follows the reference enum order (increasing alignment)', () => {
    expect(SAFETENSORS_DTYPES[0]).toBe('BOOL');
    expect(SAFETENSORS_DTYPES.at(-1)).toBe('U64');
    expect(dtypeRank('F32')).toBeGreaterThan(dtypeRank('BF16'));
    expect(dtypeRank('BF16')).toBeGreaterThan(dtypeRank('F16'));
    expect(dtypeRank('I64')).toBeGreaterThan(dtypeRank('F64'));
  });

  it('maps every vasink dtype both ways', () => {
    for (const dtype of DATA_TYPES) expect(readDataType(toSafetensorsDType(dtype))).toBe(dtype);
    expect(toSafetensorsDType('bfloat16')).toBe('BF16');
    expect(readDataType('F64')).toBe('float32');
    expect(readDataType('U32')).toBe('int64');
    expect(readDataType('F8_E4M3')).toBeUndefined();
  });

  it('knows element sizes in bits and rejects unknown names', () => {
    expect(safetensorsDTypeBits('F4')).toBe(4);
    expect(safetensorsDTypeBits('BF16')).toBe(16);
    expect(safetensorsDTypeBits('C64')).toBe(64);
    expect(isSafetensorsDType('F32')).toBe(true);
    expect(isSafetensorsDType('f32')).toBe(false);
    expect(isSafetensorsDType('toString')).toBe(false);
  });
});
