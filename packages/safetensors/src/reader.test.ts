import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DataType, type TypedTensor, VasinkError, createTensor } from '@vasink/tensor';
import { bytesOf, rawSafetensors, tempDir, writeBytes } from './__fixtures__/raw-file.js';
import { SafetensorsError, type SafetensorsErrorReason } from './errors.js';
import { openSafetensors } from './reader.js';
import { writeSafetensors } from './writer.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** One tensor of a hand-built file: offsets follow in the order given. */
interface RawEntry {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

async function rawFile(name: string, entries: RawEntry[], metadata?: Record<string, string>): Promise<string> {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const data = new Uint8Array(offset);
  offset = 0;
  for (const e of entries) {
    data.set(e.bytes, offset);
    offset += e.bytes.length;
  }
  return writeBytes(dir, name, rawSafetensors(header, data));
}

/** Open `path`, expect a SafetensorsError with this reason whose message names the file (and tensor). */
async function expectOpenError(path: string, reason: SafetensorsErrorReason, tensor?: string): Promise<SafetensorsError> {
  const error = await openSafetensors(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  return checkError(error, path, reason, tensor);
}

function checkError(error: unknown, path: string, reason: SafetensorsErrorReason, tensor?: string): SafetensorsError {
  expect(error).toBeInstanceOf(SafetensorsError);
  expect(VasinkError.is(error)).toBe(true);
  const e = error as SafetensorsError;
  expect(e.reason).toBe(reason);
  expect(e.code).toBe(`SAFETENSORS_${reason.toUpperCase().replaceAll('-', '_')}`);
  expect(e.details.file).toBe(path);
  expect(e.message).toContain(path);
  if (tensor !== undefined) {
    expect(e.details.tensor).toBe(tensor);
    expect(e.message).toContain(`tensor ${JSON.stringify(tensor)}`);
  }
  return e;
}

const ALL: Record<DataType, TypedTensor> = {
  float32: createTensor('float32', [2, 4], new Float32Array([0, -0, 1.5, -Infinity, Number.NaN, 3.4e38, 1e-45, -7.25])),
  float16: createTensor('float16', [8], new Uint16Array([0x0000, 0x8000, 0x0001, 0x3c00, 0x7c00, 0xfc00, 0x7e01, 0xffff])),
  bfloat16: createTensor('bfloat16', [5, 1], new Uint16Array([0x3f80, 0x7fc1, 0x8000, 0x0001, 0xff80])),
  int64: createTensor('int64', [4], new BigInt64Array([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)])),
  int32: createTensor('int32', [2, 2], new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31)])),
  uint8: createTensor('uint8', [3], new Uint8Array([0, 255, 128])),
  bool: createTensor('bool', [1, 4], new Uint8Array([1, 0, 1, 1])),
};

describe('round trip', () => {
  it('keeps every dtype bit for bit, with metadata', async () => {
    const path = join(dir, 'all.safetensors');
    await writeSafetensors(path, ALL, { format: 'pt', note: 'ünïcode "quoted"' });
    const file = await openSafetensors(path);
    try {
      expect(file.header.metadata).toEqual({ format: 'pt', note: 'ünïcode "quoted"' });
      expect(file.names().sort()).toEqual(Object.keys(ALL).sort());
      for (const [name, expected] of Object.entries(ALL)) {
        const actual = await file.read(name);
        expect(actual.dtype).toBe(expected.dtype);
        expect(actual.dims).toEqual(expected.dims);
        expect(actual.data.constructor).toBe(expected.data.constructor);
        expect(bytesOf(actual.data)).toEqual(bytesOf(expected.data));
      }
      expect(file.info('bfloat16')).toMatchObject({ dtype: 'BF16', shape: [5, 1], byteLength: 10 });
    } finally {
      await file.close();
    }
  });

  it('keeps empty tensors and scalars; no metadata reads back as {}', async () => {
    const path = join(dir, 'edge.safetensors');
    await writeSafetensors(path, {
      empty: createTensor('float32', [3, 0, 2]),
      alsoEmpty: createTensor('int64', [0]),
      scalar: createTensor('float32', [], [42]),
    });
    const file = await openSafetensors(path);
    try {
      expect(file.header.metadata).toEqual({});
      expect(await file.read('empty')).toEqual({ dtype: 'float32', dims: [3, 0, 2], data: new Float32Array(0) });
      expect(await file.read('alsoEmpty')).toEqual({ dtype: 'int64', dims: [0], data: new BigInt64Array(0) });
      expect(await file.read('scalar')).toEqual({ dtype: 'float32', dims: [], data: new Float32Array([42]) });
    } finally {
      await file.close();
    }
  });

  it('reads many tensors concurrently and float32 views of halves', async () => {
    const path = join(dir, 'halves.safetensors');
    await writeSafetensors(path, {
      h: createTensor('float16', [2], new Uint16Array([0x3c00, 0xc000])),
      b: createTensor('bfloat16', [2], new Uint16Array([0x3f80, 0x4040])),
      f: createTensor('float32', [2], [0.25, 8]),
    });
    const file = await openSafetensors(path);
    const [h, b, f] = await Promise.all(['h', 'b', 'f'].map((n) => file.readAsFloat32(n)));
    expect(h?.data).toEqual(new Float32Array([1, -2]));
    expect(b?.data).toEqual(new Float32Array([1, 3]));
    expect(f?.data).toEqual(new Float32Array([0.25, 8]));
    await file.close();
  });
});

describe('other stored dtypes', () => {
  it('converts F64, I8, I16, U16, U32 and U64 exactly or to the nearest float32', async () => {
    const path = await rawFile('extra.safetensors', [
      { name: 'f64', dtype: 'F64', shape: [3], bytes: bytesOf(new Float64Array([1.5, 1e300, 0.1])) },
      { name: 'i8', dtype: 'I8', shape: [2], bytes: bytesOf(new Int8Array([-128, 127])) },
      { name: 'i16', dtype: 'I16', shape: [2], bytes: bytesOf(new Int16Array([-32768, 7])) },
      { name: 'u16', dtype: 'U16', shape: [2], bytes: bytesOf(new Uint16Array([65535, 1])) },
      { name: 'u32', dtype: 'U32', shape: [2], bytes: bytesOf(new Uint32Array([4294967295, 3])) },
      { name: 'u64', dtype: 'U64', shape: [1], bytes: bytesOf(new BigUint64Array([2n ** 63n - 1n])) },
      { name: 'u64big', dtype: 'U64', shape: [2], bytes: bytesOf(new BigUint64Array([1n, 2n ** 63n])) },
      { name: 'fp8', dtype: 'F8_E4M3', shape: [2], bytes: new Uint8Array([0x38, 0xb8]) },
    ]);
    const file = await openSafetensors(path);
    try {
      expect(await file.read('f64')).toEqual({ dtype: 'float32', dims: [3], data: new Float32Array([1.5, Infinity, 0.1]) });
      expect((await file.readAsFloat32('f64')).data[2]).toBe(Math.fround(0.1));
      expect((await file.read('i8')).data).toEqual(new Int32Array([-128, 127]));
      expect((await file.read('i16')).data).toEqual(new Int32Array([-32768, 7]));
      expect((await file.read('u16')).data).toEqual(new Int32Array([65535, 1]));
      expect((await file.read('u32')).data).toEqual(new BigInt64Array([4294967295n, 3n]));
      expect((await file.read('u64')).data).toEqual(new BigInt64Array([2n ** 63n - 1n]));
      checkError(await file.read('u64big').catch((e: unknown) => e), path, 'value-out-of-range', 'u64big');
      checkError(await file.read('fp8').catch((e: unknown) => e), path, 'unsupported-dtype', 'fp8');
      expect(await file.readBytes('fp8')).toEqual(new Uint8Array([0x38, 0xb8]));
      checkError(await file.readAsFloat32('i8').catch((e: unknown) => e), path, 'unsupported-dtype', 'i8');
    } finally {
      await file.close();
    }
  });
});

describe('reading only what is asked', () => {
  it('reads the header, then only the requested tensor bytes', async () => {
    const path = join(dir, 'isolated.safetensors');
    await writeSafetensors(path, {
      a: createTensor('float32', [1024], new Float32Array(1024).fill(1)),
      b: createTensor('float32', [16], new Float32Array(16).fill(2)),
      c: createTensor('float32', [1024], new Float32Array(1024).fill(3)),
    });
    const probe = await open(path, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    const spy = vi.spyOn(proto, 'read');
    try {
      const file = await openSafetensors(path);
      const headerReads = spy.mock.calls.length;
      const headerEnd = file.header.dataStart;
      for (const call of spy.mock.calls) expect((call[3] as number) + (call[2] as number)).toBeLessThanOrEqual(headerEnd);
      spy.mockClear();

      const b = file.info('b');
      expect((await file.read('b')).data).toEqual(new Float32Array(16).fill(2));
      expect(spy.mock.calls.length).toBeGreaterThan(0);
      let total = 0;
      for (const [, , length, position] of spy.mock.calls as unknown as [unknown, number, number, number][]) {
        expect(position).toBeGreaterThanOrEqual(b.byteOffset);
        expect(position + length).toBeLessThanOrEqual(b.byteOffset + b.byteLength);
        total += length;
      }
      expect(total).toBe(64);
      expect(headerReads).toBe(2);
      await file.close();
    } finally {
      spy.mockRestore();
    }
  });

  it('reads a tensor past 4 GiB of a sparse 4 GiB+ file', async () => {
    const padBytes = 2 ** 32 + 8;
    const header = JSON.stringify({
      pad: { dtype: 'U8', shape: [padBytes], data_offsets: [0, padBytes] },
      tail: { dtype: 'F32', shape: [2], data_offsets: [padBytes, padBytes + 8] },
    });
    const path = await writeBytes(dir, 'sparse.safetensors', rawSafetensors(header));
    const dataStart = 8 + Buffer.byteLength(header);
    const handle = await open(path, 'r+');
    await handle.truncate(dataStart + padBytes + 8);
    await handle.write(bytesOf(new Float32Array([1.25, -3])), 0, 8, dataStart + padBytes);
    await handle.close();

    const file = await openSafetensors(path);
    try {
      expect(file.info('tail').byteOffset).toBe(dataStart + padBytes);
      expect(file.info('tail').byteOffset).toBeGreaterThan(2 ** 32);
      expect(file.header.dataLength).toBe(padBytes + 8);
      expect((await file.read('tail')).data).toEqual(new Float32Array([1.25, -3]));
    } finally {
      await file.close();
    }
  });
});

describe('defensive reading', () => {
  const i32 = (n: number) => ({ dtype: 'I32', shape: [n], data_offsets: [0, 4 * n] });

  it('file shorter than 8 bytes', async () => {
    await expectOpenError(await writeBytes(dir, 'tiny.safetensors', new Uint8Array(5)), 'file-too-small');
  });

  it('header length beyond the file', async () => {
    const path = await writeBytes(dir, 'beyond.safetensors', rawSafetensors({ x: i32(1) }, 4, { headerLength: 1000n }));
    await expectOpenError(path, 'header-beyond-file');
  });

  it('header length above the 100 MB limit', async () => {
    const path = await writeBytes(dir, 'huge.safetensors', rawSafetensors({}, 0, { headerLength: 100_000_001n }));
    const e = await expectOpenError(path, 'header-too-large');
    expect(e.message).toContain('100000000');
  });

  it('header not JSON, not an object', async () => {
    await expectOpenError(await writeBytes(dir, 'notjson.safetensors', rawSafetensors('{"x": ')), 'header-not-json');
    await expectOpenError(await writeBytes(dir, 'array.safetensors', rawSafetensors('[1, 2]')), 'header-not-object');
  });

  it('metadata that is not an object of strings', async () => {
    const path = await writeBytes(dir, 'meta.safetensors', rawSafetensors({ __metadata__: { n: 3 } }));
    await expectOpenError(path, 'invalid-metadata');
  });

  it('entries missing dtype, shape or data_offsets, or of the wrong types', async () => {
    const cases: [string, unknown][] = [
      ['no-dtype', { shape: [1], data_offsets: [0, 4] }],
      ['no-shape', { dtype: 'I32', data_offsets: [0, 4] }],
      ['no-offsets', { dtype: 'I32', shape: [1] }],
      ['not-object', [1, 2]],
      ['dtype-number', { dtype: 3, shape: [1], data_offsets: [0, 4] }],
      ['shape-string', { dtype: 'I32', shape: '1', data_offsets: [0, 4] }],
      ['offsets-one', { dtype: 'I32', shape: [1], data_offsets: [4] }],
    ];
    for (const [name, entry] of cases) {
      const path = await writeBytes(dir, `${name}.safetensors`, rawSafetensors({ [name]: entry }, 4));
      const e = await expectOpenError(path, 'invalid-entry', name);
      if (name.startsWith('no-')) expect(e.message).toMatch(/has no (dtype|shape|data_offsets)/);
    }
  });

  it('unknown dtype', async () => {
    const path = await writeBytes(dir, 'f128.safetensors', rawSafetensors({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16));
    const e = await expectOpenError(path, 'unknown-dtype', 'w');
    expect(e.message).toContain('"F128"');
  });

  it('negative or non-integer dims', async () => {
    for (const [name, shape] of [
      ['negative', [2, -2]],
      ['fraction', [1.5]],
      ['string-dim', ['2']],
    ] as const) {
      const path = await writeBytes(dir, `${name}.safetensors`, rawSafetensors({ [name]: { dtype: 'U8', shape, data_offsets: [0, 4] } }, 4));
      await expectOpenError(path, 'invalid-shape', name);
    }
  });

  it('shape × dtype size different from the byte range', async () => {
    const path = await writeBytes(dir, 'size.safetensors', rawSafetensors({ w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, 20));
    const e = await expectOpenError(path, 'size-mismatch', 'w');
    expect(e.message).toContain('needs 24 bytes');
  });

  it('offsets that begin after they end, or are negative', async () => {
    const reversed = await writeBytes(dir, 'reversed.safetensors', rawSafetensors({ w: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4));
    await expectOpenError(reversed, 'invalid-offsets', 'w');
    const negative = await writeBytes(dir, 'negoff.safetensors', rawSafetensors({ w: { dtype: 'U8', shape: [4], data_offsets: [-4, 0] } }, 4));
    await expectOpenError(negative, 'invalid-offsets', 'w');
  });

  it('offsets out of range: a tensor ending past the data section', async () => {
    const header = { a: i32(1), far: { dtype: 'U8', shape: [1_000_000], data_offsets: [4, 1_000_004] } };
    const path = await writeBytes(dir, 'far.safetensors', rawSafetensors(header, 8));
    const e = await expectOpenError(path, 'truncated', 'far');
    expect(e.message).toContain('ends at byte 1000004');
  });

  it('overlapping tensors', async () => {
    const header = { a: i32(2), b: { dtype: 'I32', shape: [2], data_offsets: [4, 12] } };
    const e = await expectOpenError(await writeBytes(dir, 'overlap.safetensors', rawSafetensors(header, 12)), 'overlapping-tensors', 'b');
    expect(e.message).toContain('"a"');
  });

  it('holes between tensors, and before the first', async () => {
    const gap = { a: i32(1), b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] } };
    const e = await expectOpenError(await writeBytes(dir, 'gap.safetensors', rawSafetensors(gap, 12)), 'gap-between-tensors', 'b');
    expect(e.message).toContain('gap of 4 bytes');
    const lead = { a: { dtype: 'I32', shape: [1], data_offsets: [4, 8] } };
    await expectOpenError(await writeBytes(dir, 'lead.safetensors', rawSafetensors(lead, 8)), 'gap-between-tensors', 'a');
  });

  it('truncated data section, and bytes after the last tensor', async () => {
    const header = { a: i32(1), b: { dtype: 'I32', shape: [2], data_offsets: [4, 12] } };
    const short = await writeBytes(dir, 'short.safetensors', rawSafetensors(header, 10));
    await expectOpenError(short, 'truncated', 'b');
    const long = await writeBytes(dir, 'long.safetensors', rawSafetensors(header, 13));
    const e = await expectOpenError(long, 'trailing-bytes');
    expect(e.details.tensor).toBe('b');
  });

  it('a file that shrinks after opening', async () => {
    const path = join(dir, 'shrink.safetensors');
    await writeSafetensors(path, { a: createTensor('float32', [4]) });
    const file = await openSafetensors(path);
    const handle = await open(path, 'r+');
    await handle.truncate(file.header.dataStart + 2);
    await handle.close();
    checkError(await file.read('a').catch((e: unknown) => e), path, 'truncated', 'a');
    await file.close();
  });

  it('unknown tensor names and closed files', async () => {
    const path = join(dir, 'closed.safetensors');
    await writeSafetensors(path, { a: createTensor('float32', [1]) });
    const file = await openSafetensors(path);
    checkError(await file.read('nope').catch((e: unknown) => e), path, 'tensor-not-found', 'nope');
    await file.close();
    await file.close();
    checkError(await file.read('a').catch((e: unknown) => e), path, 'closed', 'a');
  });
});
