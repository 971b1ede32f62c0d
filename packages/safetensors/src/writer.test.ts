import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { tempDir } from './__fixtures__/raw-file.js';
import { SafetensorsError } from './errors.js';
import { openSafetensors } from './reader.js';
import { createSafetensorsWriter, writeSafetensors } from './writer.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function rejection(promise: Promise<unknown>): Promise<SafetensorsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SafetensorsError);
  return error as SafetensorsError;
}

describe('streaming writer', () => {
  it('takes tensors one at a time in any order and writes the same bytes as writeSafetensors', async () => {
    const a = createTensor('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const b = createTensor('int64', [2], [7n, 8n]);
    const streamed = join(dir, 'streamed.safetensors');
    const writer = await createSafetensorsWriter(
      streamed,
      [
        { name: 'a', dtype: 'float32', shape: [2, 3] },
        { name: 'b', dtype: 'int64', shape: [2] },
      ],
      { metadata: { format: 'pt' } },
    );
    expect(writer.header.tensors.map((t) => t.name)).toEqual(['b', 'a']);
    await writer.write('a', a);
    await writer.write('b', b);
    await writer.close();

    const direct = join(dir, 'direct.safetensors');
    await writeSafetensors(direct, { b, a }, { format: 'pt' });
    expect(await readFile(streamed)).toEqual(await readFile(direct));
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const file = await openSafetensors(streamed);
    expect((await file.read('a')).data).toEqual(a.data);
    await file.close();
  });

  it('refuses to finish with tensors missing, and leaves no file behind', async () => {
    const path = join(dir, 'partial.safetensors');
    const writer = await createSafetensorsWriter(path, [
      { name: 'a', dtype: 'float32', shape: [1] },
      { name: 'b', dtype: 'float32', shape: [1] },
    ]);
    await writer.write('a', createTensor('float32', [1], [1]));
    const e = await rejection(writer.close());
    expect(e.reason).toBe('incomplete-write');
    expect(e.message).toContain(path);
    expect(e.message).toContain('"b"');
    expect((await readdir(dir)).filter((f) => f.startsWith('partial'))).toEqual([]);
  });

  it('rejects writes that do not match the declared tensors', async () => {
    const path = join(dir, 'mismatch.safetensors');
    const writer = await createSafetensorsWriter(path, [{ name: 'a', dtype: 'float32', shape: [2] }]);
    expect((await rejection(writer.write('a', createTensor('float16', [2])))).reason).toBe('invalid-tensor');
    expect((await rejection(writer.write('a', createTensor('float32', [1, 2])))).message).toContain(
      'tensor "a": expected float32 [2], got float32 [1, 2]',
    );
    expect((await rejection(writer.write('zzz', createTensor('float32', [2])))).reason).toBe('tensor-not-found');
    await writer.write('a', createTensor('float32', [2]));
    expect((await rejection(writer.write('a', createTensor('float32', [2])))).reason).toBe('duplicate-tensor');
    await writer.abort();
    expect((await readdir(dir)).filter((f) => f.startsWith('mismatch'))).toEqual([]);
  });

  it('rejects duplicate, reserved and malformed names, and bad metadata', async () => {
    const t = createTensor('uint8', [1]);
    const path = join(dir, 'names.safetensors');
    expect(
      (
        await rejection(
          writeSafetensors(path, [
            ['x', t],
            ['x', t],
          ]),
        )
      ).reason,
    ).toBe('duplicate-tensor');
    expect((await rejection(writeSafetensors(path, { __metadata__: t }))).reason).toBe('invalid-tensor');
    expect((await rejection(writeSafetensors(path, { '\uD800': t }))).reason).toBe('invalid-tensor');
    const badMeta = { n: 3 } as unknown as Record<string, string>;
    expect((await rejection(writeSafetensors(path, { x: t }, badMeta))).reason).toBe('invalid-metadata');
  });

  it('replaces an existing file only once the new one is complete', async () => {
    const path = join(dir, 'replace.safetensors');
    await writeSafetensors(path, { old: createTensor('uint8', [1], [1]) });
    const writer = await createSafetensorsWriter(path, [{ name: 'new', dtype: 'uint8', shape: [1] }]);
    const before = await openSafetensors(path);
    expect(before.names()).toEqual(['old']);
    await writer.write('new', createTensor('uint8', [1], [2]));
    await writer.close();
    // The old handle still reads the old file.
    expect((await before.read('old')).data).toEqual(new Uint8Array([1]));
    await before.close();
    const after = await openSafetensors(path);
    expect(after.names()).toEqual(['new']);
    await after.close();
  });

  it('writes a tensor from chunks (sync or async, one buffer reused every other chunk) with the bytes of a whole write', async () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i * 0.5);
    const whole = join(dir, 'whole-chunks.safetensors');
    await writeSafetensors(whole, { a: createTensor('float32', [4, 3], values), b: createTensor('float32', [2], [1, 2]) });
    const specs = [
      { name: 'a', dtype: 'float32', shape: [4, 3] },
      { name: 'b', dtype: 'float32', shape: [2] },
    ] as const;
    const chunked = join(dir, 'chunked.safetensors');
    const writer = await createSafetensorsWriter(chunked, specs);
    const buffers = [new Float32Array(3), new Float32Array(3)];
    function* rows(): Generator<Uint8Array> {
      for (let r = 0; r < 4; r++) {
        const buffer = buffers[r % 2] as Float32Array;
        buffer.set(values.subarray(r * 3, r * 3 + 3));
        yield new Uint8Array(buffer.buffer);
      }
    }
    await writer.writeChunks('a', rows());
    async function* asyncPieces(): AsyncGenerator<Uint8Array> {
      const bytes = new Uint8Array(new Float32Array([1, 2]).buffer);
      yield bytes.subarray(0, 3);
      yield bytes.subarray(3);
    }
    await writer.writeChunks('b', asyncPieces());
    await writer.close();
    expect(await readFile(chunked)).toEqual(await readFile(whole));
  });

  it('refuses chunks that do not add up to the tensor, and a tensor written twice', async () => {
    const path = join(dir, 'bad-chunks.safetensors');
    const writer = await createSafetensorsWriter(path, [{ name: 'a', dtype: 'float16', shape: [4] }]);
    const short = await rejection(writer.writeChunks('a', [new Uint8Array(6)]));
    expect(short.reason).toBe('invalid-tensor');
    expect(short.message).toMatch(/chunks hold 6 bytes, its dtype and dims need 8/);
    const long = await rejection(writer.writeChunks('a', [new Uint8Array(6), new Uint8Array(4)]));
    expect(long.message).toMatch(/chunks hold more than the 8 bytes/);
    await writer.writeChunks('a', [new Uint8Array(8)]);
    expect((await rejection(writer.writeChunks('a', [new Uint8Array(8)]))).reason).toBe('duplicate-tensor');
    expect((await rejection(writer.writeChunks('nope', []))).reason).toBe('tensor-not-found');
    await writer.close();
    const file = await openSafetensors(path);
    expect(file.names()).toEqual(['a']);
    await file.close();
  });

  it('passes a failing producer through and keeps its tensor unwritten', async () => {
    const path = join(dir, 'failing-producer.safetensors');
    const writer = await createSafetensorsWriter(path, [{ name: 'a', dtype: 'uint8', shape: [4] }]);
    function* failing(): Generator<Uint8Array> {
      yield new Uint8Array(2);
      throw new Error('generator broke');
    }
    await expect(writer.writeChunks('a', failing())).rejects.toThrow('generator broke');
    expect((await rejection(writer.close())).reason).toBe('incomplete-write');
    expect(await readdir(dir)).not.toContain('failing-producer.safetensors');
  });
});
