import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '@vasink/tensor';
import { tempDir } from './__fixtures__/raw-file.js';
import { openCheckpoint } from './checkpoint.js';
import { writeGeneratedCheckpoint } from './generated-checkpoint.js';
import { randomTensor } from './random-tensor.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('randomTensor', () => {
  it('plants zero rows, zero columns and entries over seeded draws, whatever the block size', async () => {
    const spec = { name: 'w', dtype: 'float16', shape: [6, 2, 3] } as const;
    const options = { seed: 3, std: 0.5, zeroRows: [4], zeroColumns: [1, 5], entries: [[2, 0, 100] as const, [5, 5, 7] as const] };
    const small = join(root, 'small');
    const large = join(root, 'large');
    await writeGeneratedCheckpoint(small, [randomTensor(spec, options)], { maxShardBytes: 1e9, blockBytes: 12 });
    await writeGeneratedCheckpoint(large, [randomTensor(spec, options)], { maxShardBytes: 1e9 });
    const read = async (dir: string) => {
      const checkpoint = await openCheckpoint(dir);
      const tensor = await checkpoint.read('w');
      await checkpoint.close();
      return Array.from(tensor.data as Uint16Array, float16BitsToFloat32);
    };
    const values = await read(small);
    expect(values).toEqual(await read(large));
    const at = (row: number, column: number) => values[row * 6 + column] as number;
    expect([0, 1, 2, 3, 4, 5].map((c) => at(4, c))).toEqual([0, 0, 0, 0, 0, 0]);
    expect([0, 1, 2, 3, 5].map((r) => at(r, 1))).toEqual([0, 0, 0, 0, 0]);
    expect(at(2, 0)).toBe(100);
    expect(at(5, 5)).toBe(7);
    expect(values.filter((v) => v !== 0 && v !== 100 && v !== 7).length).toBe(36 - 6 - 5 - 5 - 2 + 1);
    expect(values.every((v) => Math.abs(v) <= 100)).toBe(true);
  });

  it('writes constants (norm weights) and vectors in bfloat16', async () => {
    const dir = join(root, 'constant');
    await writeGeneratedCheckpoint(
      dir,
      [randomTensor({ name: 'norm.weight', dtype: 'bfloat16', shape: [5] }, { seed: 1, std: 0, mean: 1, zeroRows: [3], entries: [[0, 0, -2]] })],
      { maxShardBytes: 1e9 },
    );
    const checkpoint = await openCheckpoint(dir);
    expect(Array.from((await checkpoint.read('norm.weight')).data as Uint16Array, bfloat16BitsToFloat32)).toEqual([-2, 1, 1, 0, 1]);
    await checkpoint.close();
  });

  it('refuses planted indices outside the tensor', () => {
    expect(() => randomTensor({ name: 'w', dtype: 'float32', shape: [2, 3] }, { seed: 1, std: 1, zeroRows: [2] })).toThrow('w: row 2 is outside [0, 2)');
    expect(() => randomTensor({ name: 'w', dtype: 'float32', shape: [2, 3] }, { seed: 1, std: 1, zeroColumns: [3] })).toThrow('w: column 3 is outside [0, 3)');
    expect(() => randomTensor({ name: 'w', dtype: 'float32', shape: [2, 3] }, { seed: 1, std: 1, entries: [[0, 0, Number.NaN]] })).toThrow('must be finite');
  });
});
