import { describe, expect, it } from 'vitest';
import { createTensor } from '@vasink/tensor';
import { eligibleQueries } from './eligible-queries.js';

describe('eligibleQueries', () => {
  it('at prefill: real non-image tokens after the first image token, per row, with left padding', () => {
    // Row 0: [pad, pad, BOS, txt, img, img, txt, txt]; row 1: [BOS, img, img, txt, img, txt, txt, txt] (two images).
    const imageMask = createTensor('uint8', [2, 8], [0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0]);
    const attentionMask = createTensor('uint8', [2, 8], [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const eligible = eligibleQueries({ imageMask, attentionMask, newTokens: 8, phase: 'prefill' });
    expect([...eligible.data]).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1]);
  });

  it('no image: nothing eligible at prefill', () => {
    const eligible = eligibleQueries({
      imageMask: createTensor('uint8', [1, 3]),
      attentionMask: createTensor('uint8', [1, 3], [1, 1, 1]),
      newTokens: 3,
      phase: 'prefill',
    });
    expect([...eligible.data]).toEqual([0, 0, 0]);
  });

  it('at decode: every real new token', () => {
    const eligible = eligibleQueries({
      imageMask: createTensor('uint8', [2, 4], [0, 1, 0, 0, 0, 1, 0, 0]),
      attentionMask: createTensor('uint8', [2, 4], [1, 1, 1, 1, 1, 1, 1, 0]),
      newTokens: 1,
      phase: 'decode',
    });
    expect([...eligible.data]).toEqual([1, 0]);
  });
});
