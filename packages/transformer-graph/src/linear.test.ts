import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '@vasink/onnx-graph';
import { type TypedTensor, createTensor } from '@vasink/tensor';
import { maxRelativeError, normRelativeError, runModel, seededRandom } from '@vasink/test-utils';
import { emitEmbeddingLookup, emitLinear } from './linear.js';
import { dequantizeBlockwise, quantizeBlockwise } from './quantize.js';
import { referenceLinear } from './reference-ops.js';
import { WeightStore } from './weight-store.js';
import { memoryWeightSource } from './weights.js';

function uniform(length: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length }, () => (random() * 2 - 1) * scale);
}


/** A graph `y = x · Wᵀ + b` through emitLinear over a WeightStore, and the store's quantized names. */
async function runLinear(options: { rows: number; cols: number; out: number; bits?: 4 | 8; blockSize?: number; accuracyLevel?: 0 | 4; bias: boolean; x: Float32Array; seed: number }) {
  const { rows, cols, out } = options;
  const weights = new Map<string, TypedTensor>([['proj.weight', createTensor('float32', [out, cols], uniform(out * cols, options.seed, 0.1))]]);
  if (options.bias) weights.set('proj.bias', createTensor('float32', [out], uniform(out, options.seed + 1, 0.1)));
  const store = new WeightStore({
    source: memoryWeightSource(weights),
    dtype: 'float32',
    ...(options.bits ? { quant: { bits: options.bits, blockSize: options.blockSize ?? 32, accuracyLevel: options.accuracyLevel ?? 0 } } : {}),
  });
  const g = new GraphBuilder({ name: 'linear' });
  const x = g.input('x', 'float32', ['rows', cols]);
  const w = await store.loadLinear(g, 'proj.weight');
  const b = options.bias ? await store.load(g, 'proj.bias') : undefined;
  g.output(emitLinear(g, x, w, b, { dtype: 'float32' }), { name: 'y', dtype: 'float32', dims: ['rows', out] });
  const result = await runModel(g.build(), { x: createTensor('float32', [rows, cols], options.x) });
  return { y: result.y!.data as Float32Array, weights, store, kind: w.kind };
}

describe('emitLinear', () => {
  for (const bits of [4, 8] as const) {
    for (const blockSize of [16, 32, 128]) {
      it(`int${bits} block ${blockSize}, accuracy level 0: MatMulNBits equals the reference on the dequantized weights (≤ 1e-5)`, async () => {
        const [rows, cols, out] = [5, 256, 48];
        const x = uniform(rows * cols, 3);
        const { y, weights, kind } = await runLinear({ rows, cols, out, bits, blockSize, bias: true, x, seed: bits + blockSize });
        expect(kind).toBe('quantized');
        const w = weights.get('proj.weight')!.data as Float32Array;
        const dequantized = dequantizeBlockwise(quantizeBlockwise(w, [out, cols], { bits, blockSize }));
        const expected = referenceLinear(x, rows, cols, out, dequantized, weights.get('proj.bias')!.data as Float32Array);
        expect(normRelativeError(y, expected)).toBeLessThanOrEqual(1e-5);
        // …and the quantization error against the float weights is what the bits allow.
        const exact = referenceLinear(x, rows, cols, out, w, weights.get('proj.bias')!.data as Float32Array);
        expect(normRelativeError(y, exact)).toBeLessThan(bits === 8 ? 0.01 : 0.15);
        expect(normRelativeError(y, exact)).toBeGreaterThan(0);
      });
    }
  }

  it('accuracy level 4 (int8 activations per block) stays within 2 % of level 0 (int4) and 1 % (int8)', async () => {
    const [rows, cols, out] = [7, 1024, 64];
    const x = uniform(rows * cols, 9);
    for (const bits of [4, 8] as const) {
      const level0 = await runLinear({ rows, cols, out, bits, accuracyLevel: 0, bias: false, x, seed: 21 });
      const level4 = await runLinear({ rows, cols, out, bits, accuracyLevel: 4, bias: false, x, seed: 21 });
      const error = normRelativeError(level4.y, level0.y);
      // Measured on this input: the error is the int8 rounding of x per block (≈ 0.3 %): bounded, and not zero (the fast path is really taken).
      expect(error).toBeLessThan(bits === 4 ? 0.02 : 0.01);
      expect(error).toBeGreaterThan(0);
    }
  });

  it('float weights when not quantizing, or when the input size is not a multiple of the block (recorded)', async () => {
    const x = uniform(2 * 40, 5);
    const plain = await runLinear({ rows: 2, cols: 40, out: 8, bias: true, x, seed: 1 });
    expect(plain.kind).toBe('float');
    const kept = await runLinear({ rows: 2, cols: 40, out: 8, bits: 4, bias: true, x, seed: 1 });
    expect(kept.kind).toBe('float');
    expect(kept.store.floatLinearNames).toEqual(['proj.weight']);
    expect([...kept.y]).toEqual([...plain.y]);
    const w = plain.weights.get('proj.weight')!.data as Float32Array;
    expect(maxRelativeError(plain.y, referenceLinear(x, 2, 40, 8, w, plain.weights.get('proj.bias')!.data as Float32Array), 1e-3)).toBeLessThanOrEqual(1e-5);
  });
});

describe('emitEmbeddingLookup', () => {
  for (const bits of [4, 8] as const) {
    it(`int${bits}: GatherBlockQuantized gives exactly the dequantized rows, and shares codes with the tied LM head`, async () => {
      const [vocab, hidden] = [40, 64];
      const table = uniform(vocab * hidden, 13, 0.05);
      const weights = new Map<string, TypedTensor>([['embed_tokens.weight', createTensor('float32', [vocab, hidden], table)]]);
      const store = new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32', quant: { bits, blockSize: 32, accuracyLevel: 0 } });
      const g = new GraphBuilder({ name: 'embed' });
      const ids = g.input('ids', 'int64', ['batch', 'tokens']);
      const lookup = await store.loadEmbedding(g, 'embed_tokens.weight');
      g.output(emitEmbeddingLookup(g, lookup, ids, { dtype: 'float32' }), { name: 'e', dtype: 'float32', dims: ['batch', 'tokens', hidden] });
      const x = g.input('x', 'float32', ['rows', hidden]);
      g.output(emitLinear(g, x, await store.loadLinear(g, 'embed_tokens.weight'), undefined, { dtype: 'float32' }), { name: 'logits', dtype: 'float32', dims: ['rows', vocab] });
      expect(store.quantizedNames).toEqual(['embed_tokens.weight']);
      const picked = [3, 0, 39, 3, 17, 5];
      const xs = uniform(2 * hidden, 4);
      const out = await runModel(g.build(), { ids: createTensor('int64', [2, 3], picked), x: createTensor('float32', [2, hidden], xs) });
      const dequantized = dequantizeBlockwise(quantizeBlockwise(table, [vocab, hidden], { bits, blockSize: 32 }));
      const expected = picked.flatMap((id) => [...dequantized.subarray(id * hidden, (id + 1) * hidden)]);
      expect(out.e!.dims).toEqual([2, 3, hidden]);
      expect([...(out.e!.data as Float32Array)]).toEqual(expected);
      expect(normRelativeError(out.logits!.data as Float32Array, referenceLinear(xs, 2, hidden, vocab, dequantized))).toBeLessThanOrEqual(1e-5);
    });
  }
});
