import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExternalDataFile, GraphBuilder, writeModel } from '@vasink/onnx-graph';
import { createTensor } from '@vasink/tensor';
import { InsufficientMemoryError, RUNTIME_OVERHEAD_BYTES, assertMemoryFits, availableMemoryBytes, estimateModelMemory, fitBatchRows } from './memory-preflight.js';
import type { ModelManifest } from './model-manifest.js';

const GiB = 1024 ** 3;

/** LLaVA-1.5-7B's decoder shape (the estimate reads weights from the graphs, the rest from this). */
const manifest: ModelManifest = {
  format: 'vasink-model',
  formatVersion: 1,
  family: 'llava',
  architecture: 'LlavaForConditionalGeneration',
  dtype: 'float16',
  decoder: {
    hiddenSize: 4096,
    numLayers: 32,
    numHeads: 32,
    numKvHeads: 32,
    headDim: 128,
    intermediateSize: 11008,
    vocabSize: 32064,
    rmsNormEps: 1e-5,
    rope: { type: 'default', theta: 10000 },
    attentionBias: false,
    tieWordEmbeddings: false,
  },
  graphs: { vision: 'vision.onnx', embed: 'embed.onnx', decoder: 'decoder.onnx', decoderDiagnostics: 'decoder-diagnostics.onnx' },
  weights: ['weights.bin'],
  sink: { dims: [1415, 2533], startLayer: 2, backbone: 'llama-2-7b', source: 'profile' },
  tokens: { imageTokenId: 32000, eosTokenIds: [2], bosTokenId: 1 },
  adapter: {},
  source: { path: '/tmp/x', convertedAt: '2026-12-03T00:00:00Z', producer: 'test' },
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vasink-preflight-'));
  const data = ExternalDataFile.create(join(dir, 'weights.bin'));
  // decoder: 1000 float16 + 400 uint8 codes + 100 float32 scales, all external; vision: 256 float32 inline.
  const decoder = new GraphBuilder({ name: 'decoder' });
  const x = decoder.input('x', 'float32', [4]);
  const half = decoder.externalInitializer('half', 'float16', [1000], data.append(createTensor('float16', [1000])));
  const codes = decoder.externalInitializer('codes', 'uint8', [400], data.append(createTensor('uint8', [400])));
  const scales = decoder.externalInitializer('scales', 'float32', [100], data.append(createTensor('float32', [100])));
  decoder.output(decoder.add(x, decoder.reduceSum(decoder.cast(decoder.concat([decoder.cast(half, 'float32'), decoder.cast(codes, 'float32'), scales], 0), 'float32'), [0], true)), { name: 'y' });
  writeModel(decoder.build(), join(dir, 'decoder.onnx'), { externalData: data });
  const vision = new GraphBuilder({ name: 'vision' });
  const v = vision.input('v', 'float32', [256]);
  vision.output(vision.add(v, vision.initializer('w', createTensor('float32', [256]))), { name: 'out' });
  writeModel(vision.build(), join(dir, 'vision.onnx'), { externalData: data });
  data.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('estimateModelMemory', () => {
  const options = { graphs: ['decoder.onnx', 'vision.onnx'], contextTokens: 1000, rows: 2 } as const;

  it('reads the weights each graph holds from its initializers; float16 counts twice on the CPU (widened), once on CUDA', () => {
    const cpu = estimateModelMemory({ dir, manifest, device: 'cpu', ...options });
    // decoder: float16 2000 B, codes 400 B, scales 400 B, ReduceSum's axes 8 B; vision: 1024 B.
    const stored = 2000 + 400 + 400 + 8 + 1024;
    expect(cpu.storedWeights).toBe(stored);
    expect(cpu.weights).toBe(stored + 2000);
    expect(cpu.widened).toBe(true);
    const cuda = estimateModelMemory({ dir, manifest, device: 'cuda', ...options });
    // On CUDA the host holds the largest graph's weights while onnxruntime copies them over.
    expect(cuda.weights).toBe(2000 + 400 + 400 + 8);
    expect(cuda.widened).toBe(false);
  });

  it('adds the block sums MatMulNBits keeps beside each block when it repacks int4 weights at accuracy level 4 (CPU)', () => {
    const quantization = { scheme: 'int4', bits: 4, blockSize: 32, accuracyLevel: 4, quantizedTensors: 1, floatTensors: [] } as const;
    const plain = estimateModelMemory({ dir, manifest, device: 'cpu', ...options });
    const level4 = estimateModelMemory({ dir, manifest: { ...manifest, quantization }, device: 'cpu', ...options });
    // 400 B of codes = 25 blocks of 32 int4 weights → 25 float32 sums.
    expect(level4.weights - plain.weights).toBe(100);
    const level0 = estimateModelMemory({ dir, manifest: { ...manifest, quantization: { ...quantization, accuracyLevel: 0 } }, device: 'cpu', ...options });
    expect(level0.weights).toBe(plain.weights);
  });

  it('counts the KV cache twice (past in, present out) for every row, and the prefill attention for the whole context', () => {
    const e = estimateModelMemory({ dir, manifest, device: 'cpu', ...options });
    // 2 copies × (key + value) × 32 layers × 32 heads × 128 × 1000 tokens × 2 rows × 2 bytes (float16 cache)
    expect(e.kvCache).toBe(2 * 2 * 32 * 32 * 128 * 1000 * 2 * 2);
    expect(e.activations).toBe(3 * 2 * 32 * 1000 * 1000 * 4 + 3 * 2 * 1000 * 11008 * 4);
    expect(e.total).toBe(e.weights + e.kvCache + e.activations + RUNTIME_OVERHEAD_BYTES);
  });
});

describe('assertMemoryFits', () => {
  const estimate = { weights: 27 * GiB, storedWeights: 13.5 * GiB, kvCache: GiB, activations: 0.5 * GiB, overhead: 0.5 * GiB, total: 29 * GiB, contextTokens: 2048, rows: 2, device: 'cpu', widened: true } as const;

  it('passes a load that fits', () => {
    expect(() => assertMemoryFits(estimate, manifest, 30 * GiB)).not.toThrow();
  });

  it('refuses one that does not, in one line naming the numbers and the fix', () => {
    let error: unknown;
    try {
      assertMemoryFits(estimate, manifest, 22.5 * GiB);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InsufficientMemoryError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('needs about 29.0 GiB');
    expect(message).toContain('weights 27.0 GiB (13.5 GiB stored; onnxruntime\'s CPU provider widens float16 to float32)');
    expect(message).toContain('but 22.5 GiB is available');
    expect(message).toContain('--quant int4');
    expect(message).toContain('--device cuda');
    expect((error as InsufficientMemoryError).code).toBe('INSUFFICIENT_MEMORY');
  });

  it('points a quantized model with a huge context at the context, not at quantization', () => {
    const quantized = { ...manifest, dtype: 'float32' as const, quantization: { scheme: 'int4' as const, bits: 4 as const, blockSize: 32, accuracyLevel: 4 as const, quantizedTensors: 1, floatTensors: [] } };
    const big = { ...estimate, weights: 4 * GiB, widened: false, kvCache: 30 * GiB, total: 35 * GiB, contextTokens: 32768 };
    expect(() => assertMemoryFits(big, quantized, 20 * GiB)).toThrow(/float32 \+ int4\) on CPU: .* lower the context \(now 32768 tokens\)$/);
    expect(() => assertMemoryFits(big, quantized, 20 * GiB)).not.toThrow(/--quant/);
  });
});

describe('fitBatchRows', () => {
  it('keeps the most rows whose KV cache fits, down to the minimum; none when the minimum does not fit', () => {
    const estimate = (rows: number) => estimateModelMemory({ dir, manifest, device: 'cpu', graphs: ['decoder.onnx'], contextTokens: 1000, rows });
    const one = estimate(1).total;
    const perRow = estimate(2).total - one;
    expect(perRow).toBeGreaterThan(0);
    expect(fitBatchRows({ estimate, min: 1, max: 16, available: one + 4.5 * perRow })).toBe(5);
    expect(fitBatchRows({ estimate, min: 2, max: 3, available: one + 100 * perRow })).toBe(3);
    expect(fitBatchRows({ estimate, min: 2, max: 16, available: one + 0.5 * perRow })).toBeUndefined();
  });
});

describe('availableMemoryBytes', () => {
  it('is a positive byte count no larger than the machine', async () => {
    const { totalmem } = await import('node:os');
    const available = availableMemoryBytes();
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(totalmem());
  });
});
