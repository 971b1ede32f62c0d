import { inverseNormal } from '@vasink/tensor';
/** Deterministic draws for generated weights: xorshift32 uniforms, normals by table lookup. */
export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (inverse-CDF table of 2^16 quantiles: tails end near ±4.3σ). */
  normal(): number;
  /** Fill `out` with N(0, std²) draws. */
  fillNormal(out: Float32Array, std: number): Float32Array;
}

const QUANTILES = 1 << 16;
let quantileTable: Float32Array | undefined;

function quantiles(): Float32Array {
  if (!quantileTable) {
    quantileTable = new Float32Array(QUANTILES);
    for (let i = 0; i < QUANTILES; i++) quantileTable[i] = inverseNormal((i + 0.5) / QUANTILES);
  }
  return quantileTable;
}

/** A seeded generator; equal seeds give equal sequences. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const table = quantiles();
  return {
    uniform: () => next() / 2 ** 32,
    normal: () => table[next() >>> 16] as number,
    fillNormal(out, std) {
      for (let i = 0; i < out.length; i++) out[i] = std * (table[next() >>> 16] as number);
      return out;
    },
  };
}
