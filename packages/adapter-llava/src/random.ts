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

/** Φ⁻¹(p) by Acklam's rational approximation (relative error below 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (k: readonly number[], x: number) => k.reduce((acc, v) => acc * x + v, 0);
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

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
