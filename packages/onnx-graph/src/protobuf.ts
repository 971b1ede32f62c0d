// Protobuf wire format, just what onnx.proto needs: varints (int32, int64,
// uint64, enums), fixed32 floats, fixed64 doubles and length-delimited
// fields. 64-bit varints travel as two uint32 halves so that no precision is
// lost and no BigInt is paid for on the common small values.
import type { Int64 } from './onnx-types.js';
import { ProtobufDecodeError } from './errors.js';

/** Protobuf wire types. */
export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, START_GROUP: 3, END_GROUP: 4, FIXED32: 5 } as const;

const TWO_32 = 4294967296;
const SAFE_HIGH = 0x200000; // 2^53 / 2^32: high halves below this keep a value safe
const MAX_CHUNK = 64 * 1024;
/** Byte arrays at least this long are referenced, not copied, until `finish`. */
const ZERO_COPY_BYTES = 4096;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Append-only protobuf encoder. Nested messages are encoded into their own
 * writer and spliced in by reference (`message`), and large byte fields are
 * referenced rather than copied, so a model's weight bytes are copied once,
 * into the final buffer.
 */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private partsLength = 0;
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.partsLength + this.pos;
  }

  /** Field key: field number and wire type. */
  tag(field: number, wireType: number): this {
    return this.uint32((field << 3) | wireType);
  }

  /** Unsigned varint of a value below 2^32. */
  uint32(value: number): this {
    this.ensure(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Varint of the 64-bit two's complement value held as uint32 halves. */
  varint64(low: number, high: number): this {
    this.ensure(10);
    let lo = low >>> 0;
    let hi = high >>> 0;
    while (hi > 0 || lo > 0x7f) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
    return this;
  }

  /** int64 / uint64 varint; negative values take ten bytes, as protobuf requires. */
  int64(value: Int64): this {
    if (typeof value === 'bigint') {
      const u = BigInt.asUintN(64, value);
      return this.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`int64 field needs a safe integer or a bigint, got ${String(value)}`);
    }
    if (value >= 0) return this.varint64(value % TWO_32, Math.floor(value / TWO_32));
    const magnitude = -value;
    const lo = magnitude % TWO_32;
    const hi = Math.floor(magnitude / TWO_32);
    // Two's complement negation of the 64-bit magnitude.
    const notLo = ~lo >>> 0;
    const carry = notLo === 0xffffffff ? 1 : 0;
    return this.varint64((notLo + 1) >>> 0, ((~hi >>> 0) + carry) >>> 0);
  }

  /** int32 varint: negative values are sign-extended to 64 bits (ten bytes). */
  int32(value: number): this {
    const v = value | 0;
    return v >= 0 ? this.uint32(v) : this.varint64(v >>> 0, 0xffffffff);
  }

  float(value: number): this {
    this.ensure(4);
    this.view.setFloat32(this.pos, value, true);
    this.pos += 4;
    return this;
  }

  double(value: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, value, true);
    this.pos += 8;
    return this;
  }

  /** Length-prefixed bytes; long arrays are kept by reference until `finish`. */
  bytes(data: Uint8Array): this {
    this.uint32(data.byteLength);
    if (data.byteLength >= ZERO_COPY_BYTES) {
      this.flush();
      this.parts.push(data);
      this.partsLength += data.byteLength;
    } else {
      this.ensure(data.byteLength);
      this.buf.set(data, this.pos);
      this.pos += data.byteLength;
    }
    return this;
  }

  string(value: string): this {
    return this.bytes(utf8Encoder.encode(value));
  }

  /** Length-prefixed nested message taken from another writer (which must not be used afterwards). */
  message(sub: ProtoWriter): this {
    this.uint32(sub.length);
    sub.flush();
    this.flush();
    for (const part of sub.parts) this.parts.push(part);
    this.partsLength += sub.partsLength;
    return this;
  }

  /** Concatenate everything written into one buffer. */
  finish(): Uint8Array {
    this.flush();
    if (this.parts.length === 1) return this.parts[0] as Uint8Array;
    const out = new Uint8Array(this.partsLength);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    return out;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    if (this.buf.length < MAX_CHUNK && this.pos + extra <= MAX_CHUNK) {
      let size = this.buf.length * 2;
      while (size < this.pos + extra) size *= 2;
      const grown = new Uint8Array(Math.min(size, MAX_CHUNK));
      grown.set(this.buf.subarray(0, this.pos));
      this.buf = grown;
    } else {
      this.flush();
      this.buf = new Uint8Array(Math.max(MAX_CHUNK, extra));
    }
    this.view = new DataView(this.buf.buffer);
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.parts.push(this.buf.subarray(0, this.pos));
    this.partsLength += this.pos;
    this.buf = this.buf.subarray(this.pos);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
  }
}

/**
 * Protobuf decoder over a byte range. Length-delimited fields come back as
 * views into the input (no copy); callers that keep them past the input's
 * life copy them.
 */
export class ProtoReader {
  private pos: number;
  private readonly end: number;
  private readonly view: DataView;
  /** Halves of the last 64-bit varint read. */
  private lo = 0;
  private hi = 0;

  constructor(
    private readonly input: Uint8Array,
    start = 0,
    end = input.byteLength,
  ) {
    this.pos = start;
    this.end = end;
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  /** True once the range is consumed. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Current position in the input, for error messages. */
  get offset(): number {
    return this.pos;
  }

  /** Read a field key; returns [field number, wire type]. */
  tag(): [field: number, wireType: number] {
    const key = this.uint32();
    const field = key >>> 3;
    if (field === 0) throw this.error('field number 0');
    return [field, key & 7];
  }

  /** Varint truncated to its low 32 bits, unsigned. */
  uint32(): number {
    this.varint();
    return this.lo;
  }

  /** Varint as a signed 32-bit integer (protobuf int32 / enum). */
  int32(): number {
    this.varint();
    return this.lo | 0;
  }

  /** Varint as a signed int64: a number when safe, else a bigint. */
  int64(): Int64 {
    this.varint();
    const { lo, hi } = this;
    if ((hi & 0x80000000) === 0) {
      return hi < SAFE_HIGH ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
    }
    const negHi = ~hi >>> 0;
    const negLo = ~lo >>> 0;
    if (negHi < SAFE_HIGH - 1 || (negHi === SAFE_HIGH - 1 && negLo < 0xffffffff)) {
      return -(negHi * TWO_32 + negLo + 1);
    }
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** Varint as an unsigned uint64: a number when safe, else a bigint. */
  uint64(): Int64 {
    this.varint();
    return this.hi < SAFE_HIGH ? this.hi * TWO_32 + this.lo : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Varint that must be a non-negative safe integer (lengths, dims, versions). */
  safeInt64(what: string): number {
    const value = this.int64();
    if (typeof value === 'bigint') throw this.error(`${what} ${value} is beyond 2^53`);
    return value;
  }

  float(): number {
    this.need(4);
    const value = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** Length-delimited bytes, as a view into the input. */
  bytes(): Uint8Array {
    const length = this.length();
    const start = this.pos;
    this.pos += length;
    return this.input.subarray(start, start + length);
  }

  string(): string {
    return utf8Decoder.decode(this.bytes());
  }

  /** Reader over a nested length-delimited message. */
  message(): ProtoReader {
    const length = this.length();
    const sub = new ProtoReader(this.input, this.pos, this.pos + length);
    this.pos += length;
    return sub;
  }

  /**
   * Read one repeated scalar field occurrence, packed (wire type 2) or not,
   * pushing every element into `target`.
   */
  repeated<T>(wireType: number, elementWireType: number, readOne: () => T, target: T[], field: number): void {
    if (wireType === WireType.LENGTH_DELIMITED) {
      const length = this.length();
      const stop = this.pos + length;
      while (this.pos < stop) target.push(readOne());
      if (this.pos !== stop) throw this.error(`packed field ${field} overruns its length`);
      return;
    }
    this.expectWireType(field, wireType, elementWireType);
    target.push(readOne());
  }

  /** Throw unless a field arrived with the wire type its schema gives it. */
  expectWireType(field: number, actual: number, expected: number): void {
    if (actual !== expected) throw this.error(`field ${field} has wire type ${actual}, expected ${expected}`);
  }

  /** Skip a field of an unknown number. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint();
        return;
      case WireType.FIXED64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.LENGTH_DELIMITED: {
        // Read the length before touching pos: `pos += length()` would add to the pre-varint position.
        const length = this.length();
        this.pos += length;
        return;
      }
      case WireType.FIXED32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw this.error(`unsupported wire type ${wireType}`);
    }
  }

  /** A decode error that names the byte offset. */
  error(problem: string): ProtobufDecodeError {
    return new ProtobufDecodeError(`malformed protobuf at byte ${this.pos}: ${problem}`, { offset: this.pos });
  }

  private length(): number {
    this.varint();
    const length = this.hi * TWO_32 + this.lo;
    if (length > this.end - this.pos) {
      throw this.error(`length ${length} runs past the end of its message (${this.end - this.pos} bytes left)`);
    }
    return length;
  }

  private need(count: number): void {
    if (this.pos + count > this.end) throw this.error(`needs ${count} bytes, ${this.end - this.pos} left`);
  }

  private varint(): void {
    const first = this.pos < this.end ? (this.input[this.pos] as number) : -1;
    if (first >= 0 && first < 0x80) {
      this.pos++;
      this.lo = first;
      this.hi = 0;
      return;
    }
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.error('truncated varint');
      const b = this.input[this.pos++] as number;
      const shift = i * 7;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw this.error('varint longer than 10 bytes');
  }
}
