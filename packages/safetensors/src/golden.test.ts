// Golden bytes. No Python `safetensors` is reachable here, so the expected
// files are spelled out byte by byte from the format and from the reference
// writer's code (huggingface/safetensors, safetensors/src/tensor.rs):
//
// - `prepare` sorts tensors by dtype descending in enum order (U64, I64, F64,
//   C64, F32, U32, I32, BF16, F16, U16, I16, F8…, I8, U8, F6…, F4, BOOL), then by
//   name, and lays them out back to back from offset 0;
// - the header is serde_json's compact output of `Metadata`: `__metadata__`
//   first when present, then each tensor as {"dtype","shape","data_offsets"};
// - the header is padded with spaces (0x20) to a multiple of 8 bytes.
//
// Where we cannot be byte-equal to the reference, by construction: it writes
// `__metadata__` keys in HashMap order (random per process); we sort them.
//
// The reader is also checked on the reference's own test vectors (the byte
// strings in tensor.rs's tests), which are real reference-accepted files.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { latin1, tempDir, writeBytes } from './__fixtures__/raw-file.js';
import { openSafetensors } from './reader.js';
import { writeSafetensors } from './writer.js';
import { SafetensorsError } from './errors.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

// 329 bytes of JSON, padded with 7 spaces to 336 = 0x150.
const GOLDEN_HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
  '"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},' +
  '"b.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[24,28]},' +
  '"h":{"dtype":"BF16","shape":[],"data_offsets":[28,30]},' +
  '"masks":{"dtype":"BOOL","shape":[3],"data_offsets":[30,33]}}' +
  '       ';

const GOLDEN = Uint8Array.from([
  // N = 336, u64 little-endian
  0x50, 0x01, 0, 0, 0, 0, 0, 0,
  ...Buffer.from(GOLDEN_HEADER, 'utf8'),
  // ids: I64 [1, -2]
  0x01, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  // a.weight: F32 [1, -2]
  0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,
  // b.weight: F32 [[0.5]]
  0x00, 0x00, 0x00, 0x3f,
  // h: BF16 scalar 1.5 (bits 0x3fc0)
  0xc0, 0x3f,
  // masks: BOOL [true, false, true]
  0x01, 0x00, 0x01,
]);

describe('golden file', () => {
  it('has the layout the comments claim', () => {
    expect(Buffer.byteLength(GOLDEN_HEADER)).toBe(336);
    expect(GOLDEN.length).toBe(8 + 336 + 33);
  });

  it('the writer produces exactly the golden bytes, whatever the input order', async () => {
    const path = join(dir, 'written.safetensors');
    await writeSafetensors(
      path,
      [
        ['masks', createTensor('bool', [3], [1, 0, 1])],
        ['h', createTensor('bfloat16', [], [0x3fc0])],
        ['b.weight', createTensor('float32', [1, 1], [0.5])],
        ['ids', createTensor('int64', [2], [1n, -2n])],
        ['a.weight', createTensor('float32', [2], [1, -2])],
      ],
      { format: 'pt' },
    );
    expect(new Uint8Array(await readFile(path))).toEqual(GOLDEN);
  });

  it('the reader reads the golden bytes', async () => {
    const file = await openSafetensors(await writeBytes(dir, 'golden.safetensors', GOLDEN));
    try {
      expect(file.header.headerLength).toBe(336);
      expect(file.header.metadata).toEqual({ format: 'pt' });
      expect(file.names()).toEqual(['ids', 'a.weight', 'b.weight', 'h', 'masks']);
      expect((await file.read('ids')).data).toEqual(new BigInt64Array([1n, -2n]));
      expect(await file.read('a.weight')).toEqual({ dtype: 'float32', dims: [2], data: new Float32Array([1, -2]) });
      expect(await file.read('b.weight')).toEqual({ dtype: 'float32', dims: [1, 1], data: new Float32Array([0.5]) });
      expect(await file.read('h')).toEqual({ dtype: 'bfloat16', dims: [], data: new Uint16Array([0x3fc0]) });
      expect((await file.readAsFloat32('h')).data).toEqual(new Float32Array([1.5]));
      expect(await file.read('masks')).toEqual({ dtype: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) });
    } finally {
      await file.close();
    }
  });

  it('the writer pads the reference doc example header from 60 to 64 bytes with spaces', async () => {
    const path = join(dir, 'doc-example.safetensors');
    await writeSafetensors(path, { test: createTensor('int32', [2, 2]) });
    const expected = latin1(
      '@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ' + '\x00'.repeat(16),
    );
    expect(new Uint8Array(await readFile(path))).toEqual(expected);
  });
});

describe('reference test vectors (tensor.rs tests)', () => {
  async function open(name: string, bytes: string) {
    return openSafetensors(await writeBytes(dir, name, latin1(bytes)));
  }
  async function reason(name: string, bytes: string): Promise<string> {
    const error = await open(name, bytes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SafetensorsError);
    return (error as SafetensorsError).reason;
  }

  const I32_2X2 = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';

  it('accepts an unpadded header (the deserialize doc example)', async () => {
    const file = await open('doc.safetensors', `<\x00\x00\x00\x00\x00\x00\x00${I32_2X2}${'\x00'.repeat(16)}`);
    expect(await file.read('test')).toEqual({ dtype: 'int32', dims: [2, 2], data: new Int32Array(4) });
    await file.close();
  });

  it('accepts JSON whitespace around the header (test_whitespace_padded_header, ..._leading_padded_header)', async () => {
    for (const [name, bytes] of [
      ['trailing.safetensors', '\x06\x00\x00\x00\x00\x00\x00\x00{}\x0D\x20\x09\x0A'],
      ['leading.safetensors', '\x06\x00\x00\x00\x00\x00\x00\x00\x09\x0A{}\x0D\x20'],
    ] as const) {
      const file = await open(name, bytes);
      expect(file.names()).toEqual([]);
      await file.close();
    }
  });

  it('accepts a zero-sized tensor (test_zero_sized_tensor)', async () => {
    const file = await open('zero.safetensors', '<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}');
    expect(await file.read('test')).toEqual({ dtype: 'int32', dims: [2, 0], data: new Int32Array(0) });
    await file.close();
  });

  it('rejects what the reference rejects', async () => {
    const tail16 = '\x00'.repeat(16);
    expect(await reason('polyglot.st', `<\x00\x00\x00\x00\x00\x00\x00${I32_2X2}${tail16}extra_bogus_data_for_polyglot_file`)).toBe('trailing-bytes');
    expect(await reason('short.st', `<\x00\x00\x00\x00\x00\x00\x00${I32_2X2}${'\x00'.repeat(14)}`)).toBe('truncated');
    expect(await reason('large.st', `<\x00\x00\x00\x00\xff\xff\xff${I32_2X2}${tail16}`)).toBe('header-too-large');
    expect(await reason('empty.st', '')).toBe('file-too-small');
    expect(await reason('length-only.st', '<\x00\x00\x00\x00\x00\x00\x00')).toBe('header-beyond-file');
    expect(await reason('non-utf8.st', '\x01\x00\x00\x00\x00\x00\x00\x00\xff')).toBe('header-not-utf8');
    expect(await reason('not-json.st', '\x01\x00\x00\x00\x00\x00\x00\x00{')).toBe('header-not-json');
    expect(await reason('info.st', '<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}')).toBe(
      'size-mismatch',
    );
    // The reference fails these with ValidationOverflow; dims past 2^53 are invalid here.
    expect(
      await reason(
        'overflow1.st',
        `O\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}${tail16}`,
      ),
    ).toBe('invalid-shape');
    expect(
      await reason(
        'overflow2.st',
        `N\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}${tail16}`,
      ),
    ).toBe('invalid-shape');
  });
});
