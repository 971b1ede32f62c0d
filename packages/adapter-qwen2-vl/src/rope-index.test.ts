import { describe, expect, it } from 'vitest';
import { seededRandom } from '@vasink/test-utils';
import { mropePositionIds } from './rope-index.js';
import type { GridThw } from './vision-inputs.js';

const IMAGE = 151655;
const START = 151652;
const END = 151653;
const T = 9; // any text token

/**
 * An independent reading of get_rope_index: walk the tokens once, keep a
 * cursor; a run of image tokens is the next image, laid out frame by frame,
 * row by row; after it the cursor jumps past the largest position used.
 */
function walk(ids: readonly number[], grids: readonly GridThw[]): { t: number[]; h: number[]; w: number[]; next: number } {
  const t: number[] = [];
  const h: number[] = [];
  const w: number[] = [];
  let cursor = 0;
  let image = 0;
  let i = 0;
  while (i < ids.length) {
    if (ids[i] !== IMAGE || ids[i - 1] !== START) {
      t.push(cursor);
      h.push(cursor);
      w.push(cursor);
      cursor++;
      i++;
      continue;
    }
    const [frames, gh, gw] = grids[image++]!;
    let top = cursor;
    for (let f = 0; f < frames; f++) {
      for (let r = 0; r < gh / 2; r++) {
        for (let c = 0; c < gw / 2; c++) {
          t.push(cursor + f);
          h.push(cursor + r);
          w.push(cursor + c);
          top = Math.max(top, cursor + f, cursor + r, cursor + c);
          i++;
        }
      }
    }
    cursor = top + 1;
  }
  return { t, h, w, next: Math.max(...t, ...h, ...w) + 1 };
}

const rows = (ids: BigInt64Array, n: number) => [0, 1, 2].map((c) => Array.from(ids.subarray(c * n, (c + 1) * n), Number));

describe('mropePositionIds (get_rope_index)', () => {
  it('matches a hand-computed prompt with one image', () => {
    // text text <vision_start> 2x3 merged tokens (grid 4x6 patches) <vision_end> text
    const ids = [T, T, START, ...new Array(6).fill(IMAGE), END, T];
    const { positionIds, nextPosition } = mropePositionIds({ inputIds: ids, imageGrids: [[1, 4, 6]], imageTokenId: IMAGE, visionStartTokenId: START, spatialMergeSize: 2 });
    expect(rows(positionIds, ids.length)).toEqual([
      [0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7],
      [0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7],
      [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7],
    ]);
    expect(nextPosition).toBe(8);
  });

  it('matches a hand-computed prompt with two images and text between them', () => {
    // grids 2x2 merged (4 tokens) and 3x1 merged (3 tokens)
    const ids = [T, START, IMAGE, IMAGE, IMAGE, IMAGE, END, T, START, IMAGE, IMAGE, IMAGE, END];
    const { positionIds, nextPosition } = mropePositionIds({
      inputIds: ids,
      imageGrids: [
        [1, 4, 4],
        [1, 6, 2],
      ],
      imageTokenId: IMAGE,
      visionStartTokenId: START,
      spatialMergeSize: 2,
    });
    expect(rows(positionIds, ids.length)).toEqual([
      [0, 1, 2, 2, 2, 2, 4, 5, 6, 7, 7, 7, 10],
      [0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10],
      [0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 7, 7, 10],
    ]);
    expect(nextPosition).toBe(11);
  });

  it('equals an independent walk on random prompts (1–3 images, video-like frames, random grids)', () => {
    const random = seededRandom(17);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    for (let trial = 0; trial < 200; trial++) {
      const grids: GridThw[] = Array.from({ length: int(0, 3) }, () => [int(1, 2), 2 * int(1, 5), 2 * int(1, 5)] as GridThw);
      const ids: number[] = Array.from({ length: int(0, 6) }, () => T);
      for (const [f, gh, gw] of grids) ids.push(START, ...new Array(f * (gh / 2) * (gw / 2)).fill(IMAGE), END, ...Array.from({ length: int(0, 5) }, () => T));
      if (ids.length === 0) ids.push(T);
      const expected = walk(ids, grids);
      const { positionIds, nextPosition } = mropePositionIds({ inputIds: ids, imageGrids: grids, imageTokenId: IMAGE, visionStartTokenId: START, spatialMergeSize: 2 });
      expect(rows(positionIds, ids.length)).toEqual([expected.t, expected.h, expected.w]);
      expect(nextPosition).toBe(expected.next);
    }
  });

  it('gives a text-only prompt 0…n−1 and next position n', () => {
    const { positionIds, nextPosition } = mropePositionIds({ inputIds: [T, T, T], imageGrids: [], imageTokenId: IMAGE, visionStartTokenId: START, spatialMergeSize: 2 });
    expect(rows(positionIds, 3)).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(nextPosition).toBe(3);
  });

  it('names a prompt whose images and grids disagree', () => {
    expect(() => mropePositionIds({ inputIds: [START, IMAGE, END], imageGrids: [], imageTokenId: IMAGE, visionStartTokenId: START, spatialMergeSize: 2 })).toThrow(
      'the prompt holds 1 images but only 0 grids were given',
    );
    expect(() =>
      mropePositionIds({ inputIds: [START, IMAGE, END], imageGrids: [[1, 4, 4]], imageTokenId: IMAGE, visionStartTokenId: START, spatialMergeSize: 2 }),
    ).toThrow('image 0 needs 4 image tokens but the prompt ends before them');
  });
});
