import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTensor } from '@vasink/tensor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExternalDataError } from './errors.js';
import { ExternalDataFile } from './external-data.js';
import { alignOffset, parseExternalData } from './external-data-ref.js';
import { DataLocation, TensorDataType } from './onnx-types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vasink-external-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('alignOffset', () => {
  it('rounds up to the alignment, exactly, far above 2^31 and 2^32', () => {
    expect(alignOffset(0, 64)).toBe(0);
    expect(alignOffset(1, 64)).toBe(64);
    expect(alignOffset(64, 64)).toBe(64);
    expect(alignOffset(2 ** 31 - 1, 64)).toBe(2 ** 31);
    expect(alignOffset(2 ** 31 + 1, 64)).toBe(2 ** 31 + 64);
    expect(alignOffset(3 * 2 ** 30 + 5, 4096)).toBe(3 * 2 ** 30 + 4096);
    expect(alignOffset(2 ** 40 + 1, 64)).toBe(2 ** 40 + 64);
    expect(alignOffset(2 ** 52 + 3, 4)).toBe(2 ** 52 + 4);
    expect(() => alignOffset(-1, 64)).toThrow(RangeError);
  });
});

describe('ExternalDataFile', () => {
  it('writes tensors at aligned offsets and returns references to them', () => {
    const path = join(dir, 'weights.bin');
    const file = ExternalDataFile.create(path);
    const a = file.append(createTensor('float32', [3], [1, 2, 3]));
    const b = file.append({ dtype: 'uint8', dims: [5], bytes: Uint8Array.of(9, 8, 7, 6, 5) });
    const c = file.append(createTensor('int64', [2], [-1n, 2n ** 40n]));
    const empty = file.append(createTensor('float32', [0]));
    file.close();
    expect(a).toEqual({ location: 'weights.bin', offset: 0, length: 12 });
    expect(b).toEqual({ location: 'weights.bin', offset: 64, length: 5 });
    expect(c).toEqual({ location: 'weights.bin', offset: 128, length: 16 });
    expect(empty.length).toBe(0);
    expect(file.size).toBe(144);
    expect(file.tensorCount).toBe(4);
    const bytes = readFileSync(path);
    expect(bytes.byteLength).toBe(144);
    expect(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 12))).toEqual(Float32Array.of(1, 2, 3));
    expect(Array.from(bytes.subarray(64, 69))).toEqual([9, 8, 7, 6, 5]);
    expect(() => file.append(createTensor('float32', [1]))).toThrow(/closed/);
  });

  it('honours a custom alignment and checks raw byte counts', () => {
    const file = ExternalDataFile.create(join(dir, 'w.bin'), { alignment: 4096 });
    file.append(createTensor('uint8', [1], [1]));
    expect(file.nextOffset).toBe(4096);
    expect(() => file.append({ dtype: 'float32', dims: [2], bytes: new Uint8Array(7) })).toThrow(/needs 8 bytes, got 7/);
    file.close();
    expect(() => ExternalDataFile.create(join(dir, 'x.bin'), { location: '../x.bin' })).toThrow(/leaves the model directory/);
  });

  it('streams a tensor in chunks and checks the announced length', async () => {
    const path = join(dir, 'stream.bin');
    const file = ExternalDataFile.create(path);
    file.append(createTensor('uint8', [3], [1, 2, 3]));
    async function* pieces(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.of(10, 11);
      yield Uint8Array.of(12);
      yield Uint8Array.of(13, 14, 15);
    }
    const pending = file.appendChunks(pieces(), { length: 6 });
    expect(() => file.append(createTensor('uint8', [1]))).toThrow(/busy/);
    const ref = await pending;
    expect(ref).toEqual({ location: 'stream.bin', offset: 64, length: 6 });
    await expect(file.appendChunks([Uint8Array.of(1)], { length: 2 })).rejects.toThrow(ExternalDataError);
    file.close();
    expect(Array.from(readFileSync(path).subarray(64, 70))).toEqual([10, 11, 12, 13, 14, 15]);
  });

  it('appends past 3 GiB into a sparse file with exact offsets', () => {
    const path = join(dir, 'big.bin');
    writeFileSync(path, Uint8Array.of(42));
    const logical = 3 * 2 ** 30 + 17; // holes: no gigabytes are written
    truncateSync(path, logical);
    const file = ExternalDataFile.openForAppend(path);
    expect(file.size).toBe(logical);
    const ref = file.append(createTensor('float32', [4], [1.5, -2, 3, 4]));
    const next = file.append(createTensor('int32', [1], [7]));
    file.close();
    expect(ref.offset).toBe(3 * 2 ** 30 + 64);
    expect(ref.offset).toBeGreaterThan(2 ** 31);
    expect(next.offset).toBe(ref.offset + 64);
    expect(statSync(path).size).toBe(next.offset + 4);
    expect(file.size).toBe(next.offset + 4);
  });
});

describe('parseExternalData', () => {
  const tensor = (entries: [string, string][]) => ({
    name: 't',
    dims: [2],
    dataType: TensorDataType.FLOAT,
    dataLocation: DataLocation.EXTERNAL,
    externalData: entries.map(([key, value]) => ({ key, value })),
  });

  it('reads location, offset and length, defaulting offset to 0', () => {
    expect(parseExternalData(tensor([['location', 'w.bin'], ['offset', '4294967296'], ['length', '8']]))).toEqual({
      location: 'w.bin',
      offset: 2 ** 32,
      length: 8,
    });
    expect(parseExternalData(tensor([['location', 'sub/w.bin']]))).toEqual({ location: 'sub/w.bin', offset: 0 });
  });

  it('names what is wrong', () => {
    expect(() => parseExternalData(tensor([]))).toThrow(/no location/);
    expect(() => parseExternalData(tensor([['location', '/abs/w.bin']]))).toThrow(/absolute/);
    expect(() => parseExternalData(tensor([['location', 'a/../../w.bin']]))).toThrow(/leaves the model directory/);
    expect(() => parseExternalData(tensor([['location', 'w'], ['offset', '-4']]))).toThrow(/not a non-negative integer/);
    expect(() => parseExternalData(tensor([['location', 'w'], ['size', '4']]))).toThrow(/unknown external data key/);
    expect(() => parseExternalData(tensor([['location', 'w'], ['location', 'v']]))).toThrow(/twice/);
  });
});
