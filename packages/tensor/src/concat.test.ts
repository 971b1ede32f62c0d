import { describe, expect, it } from 'vitest';
import { concatTensors } from './concat.js';
import { createTensor } from './tensor.js';

describe('concatTensors', () => {
  it('joins KV-cache blocks on the token axis, row by row and head by head', () => {
    // [batch 2, heads 1, tokens, 2]
    const a = createTensor('float32', [2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const b = createTensor('float32', [2, 1, 1, 2], [9, 10, 11, 12]);
    const joined = concatTensors([a, b], 2);
    expect(joined.dims).toEqual([2, 1, 3, 2]);
    expect([...joined.data]).toEqual([1, 2, 3, 4, 9, 10, 5, 6, 7, 8, 11, 12]);
  });

  it('takes empty blocks and returns a single tensor as is', () => {
    const empty = createTensor('float16', [1, 2, 0, 3]);
    const x = createTensor('float16', [1, 2, 1, 3], [1, 2, 3, 4, 5, 6]);
    expect([...concatTensors([empty, x], 2).data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(concatTensors([x], 2)).toBe(x);
  });

  it('refuses mismatched dims or dtypes with a message naming them', () => {
    expect(() => concatTensors([createTensor('float32', [1, 2]), createTensor('float32', [2, 2])], 1)).toThrow(/cannot concatenate \[2, 2\] with \[1, 2\] on axis 1/);
    expect(() => concatTensors([createTensor('float32', [1]), createTensor('uint8', [1])], 0)).toThrow(/uint8 with float32/);
    expect(() => concatTensors([createTensor('float32', [1])], 0)).not.toThrow();
    expect(() => concatTensors([createTensor('float32', [1]), createTensor('float32', [1])], 1)).toThrow(/axis 1 is outside rank 1/);
  });
});
