import { describe, expect, it } from 'vitest';
import { type Float32Tensor, createTensor } from '@vasink/tensor';
import { findSinkDims } from './sink-dim-finder.js';

function randomHidden(seed: number, tokens: number, dim: number, planted: Record<number, number>): Float32Tensor {
  let state = seed;
  const next = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const data = new Float32Array(tokens * dim);
  for (let i = 0; i < data.length; i++) data[i] = next();
  for (const [d, value] of Object.entries(planted)) data[Number(d)] = value; // first token only
  return createTensor('float32', [1, tokens, dim], data);
}

describe('findSinkDims', () => {
  it('proposes the dims massive on the first token in every layer ≥ start and input', () => {
    const dim = 512;
    const inputs = [1, 2, 3].map((seed) =>
      Array.from({ length: 6 }, (_, layer) =>
        // dim 100 massive from layer 2 on; dim 200 massive in only one layer (inconsistent); layers 0–1 carry nothing.
        randomHidden(seed * 10 + layer, 5, dim, layer < 2 ? {} : layer === 3 ? { 100: 400, 300: -350, 200: 500 } : { 100: 400, 300: -350 }),
      ),
    );
    const proposal = findSinkDims({ hiddenStates: inputs });
    expect(proposal.sinkDims).toEqual([100, 300]);
    expect(proposal.layers).toEqual([2, 3, 4, 5]);
    expect(proposal.inputs).toBe(3);
    const top = proposal.evidence[0]!;
    expect(top.dim).toBe(100);
    expect(top.minScore).toBeGreaterThan(proposal.threshold);
    expect(Number.isNaN(top.scoreByLayer[0])).toBe(true);
    expect(top.scoreByLayer[2]).toBeGreaterThan(proposal.threshold);
    const inconsistent = proposal.evidence.find((e) => e.dim === 200);
    expect(inconsistent === undefined || inconsistent.minScore < proposal.threshold).toBe(true);
    expect(proposal.threshold).toBeCloseTo(Math.sqrt(512) / 4, 6);
  });

  it('proposes nothing when no dim is massive', () => {
    const inputs = [Array.from({ length: 4 }, (_, l) => randomHidden(l + 1, 3, 64, {}))];
    expect(findSinkDims({ hiddenStates: inputs }).sinkDims).toEqual([]);
  });

  it('rejects unusable input clearly', () => {
    expect(() => findSinkDims({ hiddenStates: [] })).toThrow(/at least one input/);
    expect(() => findSinkDims({ hiddenStates: [[randomHidden(1, 2, 8, {})]] })).toThrow(/layers beyond startLayer 2/);
  });
});
