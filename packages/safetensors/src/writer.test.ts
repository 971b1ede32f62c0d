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
});
