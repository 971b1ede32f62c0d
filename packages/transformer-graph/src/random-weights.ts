import { type TypedTensor, createTensor, seededUniform } from '@vasink/tensor';
import { type DecoderConfig, decoderWeightShapes } from './decoder-config.js';

/**
 * Random float32 decoder weights under canonical names (for tests, demos and
 * benchmarks): norms ≈ 1, embeddings ~ N(0, 1), projections ~ N(0, scale²).
 * Deterministic for a seed.
 */
export function randomDecoderWeights(config: DecoderConfig, options: { seed?: number; scale?: number } = {}): Map<string, TypedTensor> {
  const random = seededUniform(options.seed ?? 1);
  const scale = options.scale ?? 0.08;
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const weights = new Map<string, TypedTensor>();
  for (const [name, shape] of decoderWeightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith('layernorm.weight') || name === 'norm.weight';
    for (let i = 0; i < data.length; i++) data[i] = isNorm ? 1 + 0.1 * gaussian() : name.startsWith('embed') ? gaussian() : scale * gaussian();
    weights.set(name, createTensor('float32', shape, data));
  }
  return weights;
}
