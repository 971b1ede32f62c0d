import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import type { LinearWeight } from './weight-store.js';

/**
 * `x [rows, in] · Wᵀ (+ b)` → `[rows, out]` in the graph's dtype, the one
 * linear-layer emitter of every vasink graph (decoders, vision towers,
 * projectors, LM head):
 * - float32: `Gemm` with `transB`;
 * - float16: `MatMul` on the transposed weight (onnxruntime folds the
 *   transpose at load) — its CPU float16 Gemm accumulates in float16 (7 % off
 *   on a 1176-term dot product), MatMul does not;
 * - quantized: `com.microsoft.MatMulNBits` (CPU and CUDA kernels) with the
 *   bias as its own input.
 */
export function emitLinear(g: GraphBuilder, x: Value, weight: LinearWeight, bias?: Value, options: { dtype: 'float32' | 'float16' } = { dtype: 'float32' }): Value {
  const { dtype } = options;
  if (weight.kind === 'quantized') {
    return g.op(
      'MatMulNBits',
      [x, weight.codes, weight.scales, undefined, undefined, bias],
      { K: weight.cols, N: weight.rows, bits: weight.bits, block_size: weight.blockSize, accuracy_level: weight.accuracyLevel },
      { domain: 'com.microsoft', dtype },
    );
  }
  if (dtype === 'float32') return g.op('Gemm', [x, weight.weight, bias], { transB: 1 }, { dtype });
  const product = g.matMul(x, g.transpose(weight.weight, [1, 0]));
  return bias ? g.add(product, bias) : product;
}

/** Rows `ids [...]` of an embedding table `[vocab, hidden]` → `[..., hidden]` (quantized tables through `GatherBlockQuantized`). */
export function emitEmbeddingLookup(g: GraphBuilder, table: LinearWeight, ids: Value, options: { dtype: 'float32' | 'float16' }): Value {
  if (table.kind === 'float') return g.gather(table.weight, ids, 0);
  return g.op(
    'GatherBlockQuantized',
    [table.codes, ids, table.scales],
    { gather_axis: 0, quantize_axis: 1, block_size: table.blockSize, bits: table.bits },
    { domain: 'com.microsoft', dtype: options.dtype },
  );
}
