import { mkdir, readFile, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TypedTensor, createTensor } from '@vasink/tensor';
import { tempDir } from './__fixtures__/raw-file.js';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME, openCheckpoint } from './checkpoint.js';
import { createShardedCheckpointWriter, planShards, shardFileName, writeShardedCheckpoint } from './checkpoint-writer.js';
import { SafetensorsError, type SafetensorsErrorReason } from './errors.js';
import { openSafetensors } from './reader.js';
import { writeSafetensors } from './writer.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir()));
afterAll(() => cleanup());

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `ckpt-${counter++}`);
  await mkdir(dir);
  return dir;
}

async function expectError(
  promise: Promise<unknown>,
  reason: SafetensorsErrorReason,
  file: string,
  tensor?: string,
): Promise<SafetensorsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SafetensorsError);
  const e = error as SafetensorsError;
  expect(e.reason).toBe(reason);
  expect(e.details.file).toBe(file);
  expect(e.message).toContain(file);
  if (tensor !== undefined) {
    expect(e.details.tensor).toBe(tensor);
    expect(e.message).toContain(`tensor ${JSON.stringify(tensor)}`);
  }
  return e;
}

/** Five float32 tensors of 4, 4, 4, 12 and 4 bytes. */
function tensors(): Array<[string, TypedTensor]> {
  return [
    ['embed', createTensor('float32', [1], [1])],
    ['layers.0.q', createTensor('float32', [1], [2])],
    ['layers.0.k', createTensor('float32', [1], [3])],
    ['lm_head', createTensor('float32', [3], [4, 5, 6])],
    ['norm', createTensor('float32', [1], [7])],
  ];
}

describe('planShards', () => {
  it('splits like huggingface_hub: new shard when full, oversized tensors alone', () => {
    const specs = tensors().map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims }));
    const plan = planShards(specs, 8).map((shard) => shard.map((s) => s.name));
    expect(plan).toEqual([['embed', 'layers.0.q'], ['lm_head'], ['layers.0.k', 'norm']]);
    expect(planShards(specs, 1000)).toHaveLength(1);
    expect(planShards([], 8)).toEqual([[]]);
    expect(() => planShards(specs, 0)).toThrow('maxShardBytes must be a positive integer');
    expect(shardFileName(1, 3)).toBe('model-00002-of-00003.safetensors');
  });
});

describe('sharded checkpoints', () => {
  it('round trips through shards and an index in Hugging Face layout', async () => {
    const dir = await freshDir();
    const layout = await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 8 });
    expect(layout.files).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(layout.totalSize).toBe(28);
    expect((await readdir(dir)).sort()).toEqual([...layout.files, INDEX_FILE_NAME]);
    expect(await readFile(join(dir, INDEX_FILE_NAME), 'utf8')).toBe(
      [
        '{',
        '  "metadata": {',
        '    "total_size": 28',
        '  },',
        '  "weight_map": {',
        '    "embed": "model-00001-of-00003.safetensors",',
        '    "layers.0.k": "model-00003-of-00003.safetensors",',
        '    "layers.0.q": "model-00001-of-00003.safetensors",',
        '    "lm_head": "model-00002-of-00003.safetensors",',
        '    "norm": "model-00003-of-00003.safetensors"',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const shard = await openSafetensors(join(dir, 'model-00003-of-00003.safetensors'));
    expect(shard.header.metadata).toEqual({ format: 'pt' });
    await shard.close();

    const checkpoint = await openCheckpoint(dir);
    try {
      expect(checkpoint.indexFile).toBe(join(dir, INDEX_FILE_NAME));
      expect(checkpoint.metadata).toEqual({ total_size: 28 });
      expect(checkpoint.names().sort()).toEqual(tensors().map(([n]) => n).sort());
      expect(checkpoint.has('norm')).toBe(true);
      expect(checkpoint.has('nope')).toBe(false);
      expect(checkpoint.fileOf('lm_head')).toBe(join(dir, 'model-00002-of-00003.safetensors'));
      expect(await checkpoint.info('lm_head')).toMatchObject({ dtype: 'F32', shape: [3], file: join(dir, 'model-00002-of-00003.safetensors') });
      for (const [name, tensor] of tensors()) expect(await checkpoint.read(name)).toEqual(tensor);
      expect((await checkpoint.readAsFloat32('norm')).data).toEqual(new Float32Array([7]));
      await checkpoint.validate();
      await expectError(checkpoint.read('nope'), 'tensor-not-found', join(dir, INDEX_FILE_NAME), 'nope');
    } finally {
      await checkpoint.close();
    }
  });

  it('streams tensors in any order through the sharded writer', async () => {
    const dir = await freshDir();
    const list = tensors();
    const writer = await createShardedCheckpointWriter(
      dir,
      list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.dims })),
      { maxShardBytes: 8, metadata: { format: 'pt', producer: 'vasink' } },
    );
    for (const [name, tensor] of [...list].reverse()) await writer.write(name, tensor);
    await expectError(writer.write('ghost', createTensor('float32', [1])), 'tensor-not-found', dir, 'ghost');
    const layout = await writer.close();
    expect(layout.weightMap.norm).toBe('model-00003-of-00003.safetensors');
    const checkpoint = await openCheckpoint(dir);
    for (const [name, tensor] of list) expect(await checkpoint.read(name)).toEqual(tensor);
    await checkpoint.close();
  });

  it('writes model.safetensors alone when one shard suffices, and removes stale shards', async () => {
    const dir = await freshDir();
    await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 8 });
    const layout = await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 1 << 20 });
    expect(layout).toMatchObject({ files: [SINGLE_FILE_NAME], indexFile: undefined, totalSize: 28 });
    expect(await readdir(dir)).toEqual([SINGLE_FILE_NAME]);

    const checkpoint = await openCheckpoint(dir);
    expect(checkpoint.indexFile).toBeUndefined();
    expect(checkpoint.files).toEqual([join(dir, SINGLE_FILE_NAME)]);
    expect(checkpoint.metadata).toEqual({ format: 'pt' });
    expect(await checkpoint.read('lm_head')).toEqual(createTensor('float32', [3], [4, 5, 6]));
    await checkpoint.validate();
    await checkpoint.close();

    // Back to shards: the single file goes.
    await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 8 });
    expect((await readdir(dir)).includes(SINGLE_FILE_NAME)).toBe(false);
  });

  it('opens the index or the single file by path', async () => {
    const dir = await freshDir();
    await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 8 });
    const byIndex = await openCheckpoint(join(dir, INDEX_FILE_NAME));
    expect(await byIndex.read('embed')).toEqual(createTensor('float32', [1], [1]));
    await byIndex.close();
    const single = join(dir, 'single.safetensors');
    await writeSafetensors(single, { x: createTensor('uint8', [2], [1, 2]) });
    const byFile = await openCheckpoint(single);
    expect(byFile.names()).toEqual(['x']);
    await byFile.close();
  });
});

describe('Hugging Face cache snapshot layout', () => {
  it('follows relative symlinks from snapshots/<hash>/ into ../../blobs/', async () => {
    const repo = await freshDir();
    const staging = join(repo, 'staging');
    await writeShardedCheckpoint(staging, tensors(), { maxShardBytes: 8 });
    await mkdir(join(repo, 'blobs'));
    const snapshot = join(repo, 'snapshots', 'c0ffee');
    await mkdir(snapshot, { recursive: true });
    let blob = 0;
    for (const name of await readdir(staging)) {
      const sha = `${String(blob++).padStart(2, '0')}${'ab'.repeat(31)}`;
      await rename(join(staging, name), join(repo, 'blobs', sha));
      await symlink(join('..', '..', 'blobs', sha), join(snapshot, name));
    }
    const checkpoint = await openCheckpoint(snapshot);
    try {
      expect(checkpoint.files.every((f) => f.startsWith(snapshot))).toBe(true);
      for (const [name, tensor] of tensors()) expect(await checkpoint.read(name)).toEqual(tensor);
      await checkpoint.validate();
    } finally {
      await checkpoint.close();
    }
  });

  it('names the dangling symlink of a missing blob', async () => {
    const dir = await freshDir();
    await writeShardedCheckpoint(dir, tensors(), { maxShardBytes: 8 });
    const shard = join(dir, 'model-00002-of-00003.safetensors');
    await rename(shard, join(dir, 'elsewhere'));
    await symlink('../../blobs/missing', shard);
    const e = await expectError(openCheckpoint(dir), 'missing-shard', join(dir, INDEX_FILE_NAME), 'lm_head');
    expect(e.message).toContain('symlink to ../../blobs/missing');
  });
});

describe('index errors', () => {
  async function indexed(weightMap: Record<string, string>): Promise<string> {
    const dir = await freshDir();
    await writeSafetensors(join(dir, 'a.safetensors'), { x: createTensor('float32', [1], [1]), w: createTensor('float32', [1], [2]) });
    await writeSafetensors(join(dir, 'b.safetensors'), { y: createTensor('float32', [1], [3]), w: createTensor('float32', [1], [4]) });
    await writeFile(join(dir, INDEX_FILE_NAME), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return dir;
  }

  it('an index naming a missing shard', async () => {
    const dir = await indexed({ x: 'a.safetensors', z: 'model-00009-of-00009.safetensors' });
    const e = await expectError(openCheckpoint(dir), 'missing-shard', join(dir, INDEX_FILE_NAME), 'z');
    expect(e.message).toContain('model-00009-of-00009.safetensors');
  });

  it('a tensor listed in the index but absent from its shard', async () => {
    const dir = await indexed({ x: 'a.safetensors', w: 'a.safetensors', ghost: 'a.safetensors' });
    const checkpoint = await openCheckpoint(dir);
    const e = await expectError(checkpoint.read('ghost'), 'tensor-missing-from-shard', join(dir, 'a.safetensors'), 'ghost');
    expect(e.details.index).toBe(join(dir, INDEX_FILE_NAME));
    // The shard is known bad: other reads from it fail the same way.
    await expectError(checkpoint.read('x'), 'tensor-missing-from-shard', join(dir, 'a.safetensors'), 'ghost');
    await checkpoint.close();
  });

  it('a tensor in two shards', async () => {
    const dir = await indexed({ x: 'a.safetensors', w: 'a.safetensors', y: 'b.safetensors' });
    const checkpoint = await openCheckpoint(dir);
    expect(await checkpoint.read('w')).toEqual(createTensor('float32', [1], [2]));
    const e = await expectError(checkpoint.read('y'), 'tensor-in-two-shards', join(dir, 'b.safetensors'), 'w');
    expect(e.message).toContain('a.safetensors');
    await checkpoint.close();

    // validate() finds it even when the index does not mention the duplicate.
    const unlisted = await indexed({ x: 'a.safetensors', y: 'b.safetensors' });
    const again = await openCheckpoint(unlisted);
    await expectError(again.validate(), 'tensor-in-two-shards', join(unlisted, INDEX_FILE_NAME), 'w');
    await again.close();
  });

  it('an index that is not JSON, has no weight_map, or points outside the directory', async () => {
    const dir = await freshDir();
    const index = join(dir, INDEX_FILE_NAME);
    await writeFile(index, '{"weight_map": ');
    await expectError(openCheckpoint(dir), 'invalid-index', index);
    await writeFile(index, '{"metadata": {}}');
    await expectError(openCheckpoint(dir), 'invalid-index', index);
    await writeFile(index, JSON.stringify({ weight_map: { w: '../outside.safetensors' } }));
    await expectError(openCheckpoint(dir), 'invalid-index', index, 'w');
  });

  it('a directory with no checkpoint in it, or no directory at all', async () => {
    const dir = await freshDir();
    await writeSafetensors(join(dir, 'adapter_model.safetensors'), {});
    const e = await expectError(openCheckpoint(dir), 'checkpoint-not-found', dir);
    expect(e.message).toContain('adapter_model.safetensors');
    await expectError(openCheckpoint(join(dir, 'nowhere')), 'checkpoint-not-found', join(dir, 'nowhere'));
  });
});
