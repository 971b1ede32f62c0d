/**
 * Naive float64 building blocks of the TypeScript reference forward passes
 * (decoder, vision towers): plain loops that mirror the equations.
 */

/** `x [rows, inDim] · wᵀ (+ b)` with `w [outDim, inDim]` row-major (PyTorch's Linear layout). */
export function referenceLinear(
  x: ArrayLike<number>,
  rows: number,
  inDim: number,
  outDim: number,
  w: ArrayLike<number>,
  b?: ArrayLike<number>,
): Float64Array<ArrayBuffer> {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let sum = b ? (b[o] as number) : 0;
      for (let i = 0; i < inDim; i++) sum += (x[r * inDim + i] as number) * (w[o * inDim + i] as number);
      out[r * outDim + o] = sum;
    }
  }
  return out;
}

/** LayerNorm over the last axis of `x [rows, dim]`: (x − mean) / sqrt(var + eps) · w + b (biased variance). */
export function referenceLayerNorm(x: ArrayLike<number>, rows: number, dim: number, w: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i] as number;
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += ((x[r * dim + i] as number) - mean) ** 2;
    const scale = 1 / Math.sqrt(variance / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = ((x[r * dim + i] as number) - mean) * scale * (w[i] as number) + (b[i] as number);
  }
  return out;
}
