import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtobufDecodeError } from './errors.js';
import { ProtoReader, ProtoWriter, WireType } from './protobuf.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('protobuf wire format', () => {
  it('encodes varints as protobuf does', () => {
    expect(hex(new ProtoWriter().uint32(1).finish())).toBe('01');
    expect(hex(new ProtoWriter().uint32(300).finish())).toBe('ac 02');
    expect(hex(new ProtoWriter().int64(-1).finish())).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new ProtoWriter().int32(-1).finish())).toBe('ff ff ff ff ff ff ff ff ff 01');
    expect(hex(new ProtoWriter().int64(2 ** 32).finish())).toBe('80 80 80 80 10');
    expect(hex(new ProtoWriter().int64(-0x8000000000000000n).finish())).toBe('80 80 80 80 80 80 80 80 80 01');
    expect(hex(new ProtoWriter().tag(20, WireType.VARINT).finish())).toBe('a0 01');
  });

  it('round-trips every int64, as a number when safe and a bigint otherwise', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
        const bytes = new ProtoWriter().int64(safe ? Number(value) : value).finish();
        const decoded = new ProtoReader(bytes).int64();
        expect(decoded).toStrictEqual(safe ? Number(value) : value);
      }),
      { numRuns: 2000 },
    );
    for (const edge of [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 53 - 1, -(2 ** 53 - 1)]) {
      expect(new ProtoReader(new ProtoWriter().int64(edge).finish()).int64()).toBe(edge);
    }
    expect(new ProtoReader(new ProtoWriter().int64(2n ** 53n).finish()).int64()).toBe(2n ** 53n);
    expect(new ProtoReader(new ProtoWriter().int64(-(2n ** 53n)).finish()).int64()).toBe(-(2n ** 53n));
  });

  it('round-trips int32, uint64, floats and doubles', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.float(), fc.double(), (i, f, d) => {
        const bytes = new ProtoWriter().int32(i).float(f).double(d).finish();
        const r = new ProtoReader(bytes);
        expect(r.int32()).toBe(i);
        expect(r.float()).toStrictEqual(f);
        expect(r.double()).toStrictEqual(d);
        expect(r.done).toBe(true);
      }),
    );
    expect(new ProtoReader(new ProtoWriter().int64(-1n).finish()).uint64()).toBe(2n ** 64n - 1n);
  });

  it('splices nested messages and long byte fields across chunk boundaries', () => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const inner = new ProtoWriter();
    for (let i = 0; i < 30_000; i++) inner.tag(1, WireType.VARINT).uint32(i);
    inner.tag(2, WireType.LENGTH_DELIMITED).bytes(big);
    const outer = new ProtoWriter().tag(3, WireType.LENGTH_DELIMITED).message(inner).tag(4, WireType.VARINT).uint32(7);
    const bytes = outer.finish();
    expect(bytes.byteLength).toBe(outer.length);
    const r = new ProtoReader(bytes);
    expect(r.tag()).toEqual([3, WireType.LENGTH_DELIMITED]);
    const sub = r.message();
    let mismatches = 0;
    for (let i = 0; i < 30_000; i++) {
      const [field] = sub.tag();
      if (field !== 1 || sub.uint32() !== i) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(sub.tag()).toEqual([2, WireType.LENGTH_DELIMITED]);
    expect(Buffer.compare(sub.bytes(), big)).toBe(0); // toEqual on 200 kB is slow
    expect(sub.done).toBe(true);
    expect(r.tag()).toEqual([4, WireType.VARINT]);
    expect(r.uint32()).toBe(7);
  });

  it('reads repeated scalars packed and unpacked', () => {
    const w = new ProtoWriter();
    w.tag(1, WireType.VARINT).int64(5);
    const packed = new ProtoWriter().int64(-3).int64(2 ** 40);
    w.tag(1, WireType.LENGTH_DELIMITED).message(packed);
    w.tag(1, WireType.VARINT).int64(9);
    const r = new ProtoReader(w.finish());
    const values: (number | bigint)[] = [];
    while (!r.done) {
      const [field, wireType] = r.tag();
      r.repeated(wireType, WireType.VARINT, () => r.int64(), values, field);
    }
    expect(values).toEqual([5, -3, 2 ** 40, 9]);
  });

  it('rejects malformed input with the byte offset', () => {
    expect(() => new ProtoReader(Uint8Array.of(0x80)).uint32()).toThrow(ProtobufDecodeError);
    expect(() => new ProtoReader(Uint8Array.of(0x0a, 0x05, 0x01)).tag() && new ProtoReader(Uint8Array.of(0x05, 0x01)).bytes()).toThrow(
      /runs past the end/,
    );
    expect(() => new ProtoReader(new Uint8Array(11).fill(0xff)).uint32()).toThrow(/longer than 10 bytes/);
    expect(() => new ProtoReader(Uint8Array.of(0x0b)).skip(3)).toThrow(/wire type 3/);
    expect(() => new ProtoReader(Uint8Array.of(0x00)).tag()).toThrow(/field number 0/);
  });
});
