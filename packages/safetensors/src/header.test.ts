import { describe, expect, it } from 'vitest';
import { compareForWriting, decodeHeaderLength, encodeHeader, parseHeader } from './header.js';

describe('header layout', () => {
  it('orders tensors like the reference: dtype alignment descending, then name by UTF-8 bytes', () => {
    const entries = [
      { name: 'b', dtype: 'BOOL', shape: [1] },
      { name: 'z', dtype: 'F16', shape: [1] },
      { name: 'é', dtype: 'F32', shape: [1] },
      { name: 'a', dtype: 'BF16', shape: [1] },
      { name: '\u{1F600}', dtype: 'F32', shape: [1] },
      { name: '\uFFFD', dtype: 'F32', shape: [1] },
      { name: 'y', dtype: 'I64', shape: [1] },
      { name: 'x', dtype: 'U8', shape: [1] },
    ] as const;
    const order = [...entries].sort(compareForWriting).map((e) => e.name);
    // UTF-8 byte order puts U+FFFD (EF BF BD) before U+1F600 (F0 …), unlike UTF-16 order.
    expect(order).toEqual(['y', 'é', '\uFFFD', '\u{1F600}', 'a', 'z', 'x', 'b']);
  });

  it('pads with spaces to a multiple of 8 and writes metadata first, keys sorted', () => {
    const header = Buffer.from(encodeHeader([{ name: 'w', dtype: 'F32', shape: [2] }], { z: '1', a: '2' })).toString('utf8');
    expect(header).toBe('{"__metadata__":{"a":"2","z":"1"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'.padEnd(88, ' '));
    expect(header.length % 8).toBe(0);
    expect(Buffer.from(encodeHeader([])).toString()).toBe('{}      ');
  });
});

describe('parseHeader', () => {
  it('returns tensors in data order with absolute positions, whatever the JSON order', () => {
    const json = '{"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"__metadata__":{"k":"v"},"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}';
    const bytes = new Uint8Array(Buffer.from(json));
    const header = parseHeader('mem.safetensors', bytes, 8 + bytes.length + 6);
    expect(header.tensors).toEqual([
      { name: 'a', dtype: 'I32', shape: [], dataOffsets: [0, 4], byteOffset: 8 + bytes.length, byteLength: 4 },
      { name: 'b', dtype: 'U8', shape: [2], dataOffsets: [4, 6], byteOffset: 8 + bytes.length + 4, byteLength: 2 },
    ]);
    expect(header).toMatchObject({ headerLength: bytes.length, dataStart: 8 + bytes.length, dataLength: 6, metadata: { k: 'v' } });
  });

  it('keeps a "__proto__" metadata key as plain data', () => {
    const bytes = new Uint8Array(Buffer.from('{"__metadata__":{"__proto__":"x"}}'));
    const { metadata } = parseHeader('proto.safetensors', bytes, 8 + bytes.length);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.keys(metadata)).toEqual(['__proto__']);
  });

  it('accepts sub-byte dtypes only when they fill whole bytes', () => {
    const ok = new Uint8Array(Buffer.from('{"q":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}'));
    expect(parseHeader('f4.safetensors', ok, 8 + ok.length + 2).tensors[0]?.byteLength).toBe(2);
    const odd = new Uint8Array(Buffer.from('{"q":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}'));
    expect(() => parseHeader('f4.safetensors', odd, 8 + odd.length + 2)).toThrow('does not fill whole bytes');
  });

  it('decodes the length as u64 little-endian', () => {
    const prefix = new Uint8Array([0x10, 0x01, 0, 0, 0, 0, 0, 0]);
    expect(decodeHeaderLength('x', prefix, 8 + 0x110)).toBe(0x110);
    expect(() => decodeHeaderLength('x', new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x80]), 100)).toThrow('x: header length is 9223372036854775808 bytes');
  });
});
