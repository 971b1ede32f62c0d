import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { tempDir } from './__fixtures__/raw-file.js';
import { openCheckpoint } from './checkpoint.js';
import { writeShardedCheckpoint } from './checkpoint-writer.js';
import { type CheckpointWriteProgress, type GeneratedTensor, writeGeneratedCheckpoint } from './generated-checkpoint.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** Element i of a tensor is `offset + i` (as float32, or float16 bits for a half tensor). */
function counting(name: string, shape: number[], offset: number, dtype: 'float32' | 'float16' = 'float32'): GeneratedTensor {
  return {
    name,
    dtype,
    shape,
    fill({ rowStart, rowLength, data }) {
      for (let i = 0; i < data.length; i++) data[i] = offset + rowStart * rowLength + i;
    },
  };
}

const values = (count: number, offset: number) => Array.from({ length: count }, (_, i) => offset + i);

describe('writeGeneratedCheckpoint', () => {
  it('writes block by block the same files as a whole write: shards, index, every dtype and rank', async () => {
    const tensors = [
      counting('embed', [10, 3], 0),
      counting('layers.0.w', [7, 2, 2], 100),
      counting('norm', [5], 200, 'float16'),
      counting('scalar', [], 300),
      counting('empty', [0, 4], 0),
    ];
    const generated = join(root, 'generated');
    const progress: CheckpointWriteProgress[] = [];
    // 20-byte blocks: rows of 12 and 16 bytes go one per block, the float16 vector four elements at a time.
    const layout = await writeGeneratedCheckpoint(generated, tensors, { maxShardBytes: 128, blockBytes: 20, onProgress: (p) => progress.push(p) });
    const whole = join(root, 'whole');
    await writeShardedCheckpoint(
      whole,
      [
        ['embed', createTensor('float32', [10, 3], values(30, 0))],
        ['layers.0.w', createTensor('float32', [7, 2, 2], values(28, 100))],
        ['norm', createTensor('float16', [5], values(5, 200))],
        ['scalar', createTensor('float32', [], [300])],
        ['empty', createTensor('float32', [0, 4])],
      ],
      { maxShardBytes: 128 },
    );
    expect(layout.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect((await readdir(generated)).sort()).toEqual((await readdir(whole)).sort());
    for (const file of [...layout.files, 'model.safetensors.index.json']) {
      expect(await readFile(join(generated, file)), file).toEqual(await readFile(join(whole, file)));
    }
    const checkpoint = await openCheckpoint(generated);
    expect(Array.from((await checkpoint.readAsFloat32('layers.0.w')).data)).toEqual(values(28, 100));
    await checkpoint.close();

    expect(progress.at(-1)).toEqual({ tensor: 'empty', file: 'model-00002-of-00002.safetensors', tensorsWritten: 5, tensorCount: 5, bytesWritten: 246, totalBytes: 246 });
    const embed = progress.filter((p) => p.tensor === 'embed');
    expect(embed.map((p) => p.bytesWritten)).toEqual([...values(10, 1).map((r) => r * 12), 120]);
    expect(embed.map((p) => p.tensorsWritten)).toEqual([...Array(10).fill(0), 1]);
    expect(new Set(progress.map((p) => p.file))).toEqual(new Set(layout.files));
    expect(progress.every((p, i) => i === 0 || p.bytesWritten >= (progress[i - 1] as CheckpointWriteProgress).bytesWritten)).toBe(true);
  });

  it('leaves nothing behind when a generator fails, and refuses a silly block size', async () => {
    const dir = join(root, 'failing');
    const broken: GeneratedTensor = {
      name: 'b',
      dtype: 'float32',
      shape: [4, 4],
      fill({ rowStart }) {
        if (rowStart >= 2) throw new Error('out of ideas');
      },
    };
    await expect(writeGeneratedCheckpoint(dir, [counting('a', [4], 0), broken], { maxShardBytes: 1000, blockBytes: 32 })).rejects.toThrow('out of ideas');
    expect(await readdir(dir)).toEqual([]);
    await expect(writeGeneratedCheckpoint(dir, [], { maxShardBytes: 1000, blockBytes: 0 })).rejects.toThrow('blockBytes must be an integer ≥ 8');
  });
});
