import { InvalidArgumentError, type TypedTensor, toFloat32 } from '@vasink/tensor';
import { referenceLayerNorm, referenceLinear } from '@vasink/transformer-graph';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';
import { referenceVisionAttention } from './vision-attention.js';
import { type GridThw, visionPositionIds, visionSegmentIds } from './vision-inputs.js';

export interface ReferenceVisionOptions {
  config: Qwen2VlVisionConfig;
  /** Canonical name (relative to the tower) → tensor, any float dtype. */
  weights: ReadonlyMap<string, TypedTensor>;
  /** `[N × C·T·P·P]` flattened patches. */
  pixelValues: Float32Array;
  gridThw: readonly GridThw[];
}

/** erf(x): Taylor series below |x| = 3 (error < 1e-13), Abramowitz–Stegun 7.1.26 beyond (erfc(3) ≈ 2e-5). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (1 + 0.3275911 * ax);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return Math.sign(x) * (1 - poly * Math.exp(-ax * ax));
}

/**
 * Plain TypeScript forward pass of the vision tower and merger (naive loops,
 * float64 accumulation, float32 rotary angles as transformers computes them):
 * the reference the ONNX vision graph is tested against. Returns
 * `[N / merge² × hidden]` image features.
 */
export function referenceVisionTower(options: ReferenceVisionOptions): Float32Array {
  const { config, pixelValues, gridThw } = options;
  const { embedDim: e, numHeads: heads, mlpHiddenSize: m, spatialMergeSize: s, outHiddenSize: d } = config;
  const hd = e / heads;
  const columns = config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize;
  const positions = visionPositionIds(gridThw, s);
  const segments = visionSegmentIds(gridThw, s);
  const n = segments.length;
  if (pixelValues.length !== n * columns) {
    throw new InvalidArgumentError(`reference vision tower: ${pixelValues.length} pixel values for ${n} patches of ${columns}`);
  }
  const weight = (name: string): Float32Array => {
    const t = options.weights.get(name);
    if (!t) throw new InvalidArgumentError(`reference vision tower: missing weight ${name}`);
    return toFloat32(t).data;
  };
  const linear = (x: Float64Array, rows: number, inDim: number, outDim: number, name: string, bias = true) =>
    referenceLinear(x, rows, inDim, outDim, weight(`${name}.weight`), bias ? weight(`${name}.bias`) : undefined);
  const layerNorm = (x: Float64Array, rows: number, name: string) =>
    referenceLayerNorm(x, rows, e, weight(`${name}.weight`), weight(`${name}.bias`), config.layerNormEps);

  let hidden = linear(Float64Array.from(pixelValues), n, columns, e, 'patch_embed.proj', false);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const qkv = linear(layerNorm(hidden, n, `${p}.norm1`), n, e, 3 * e, `${p}.attn.qkv`);
    const context = referenceVisionAttention(qkv, {
      n,
      heads,
      headDim: hd,
      position: (q) => [Number(positions[2 * q]), Number(positions[2 * q + 1])],
      together: (t, u) => segments[t] === segments[u],
    });
    const attended = linear(context, n, e, e, `${p}.attn.proj`);
    hidden = hidden.map((x, i) => x + (attended[i] as number));
    const fc1 = linear(layerNorm(hidden, n, `${p}.norm2`), n, e, m, `${p}.mlp.fc1`);
    const activated = fc1.map((x) => x / (1 + Math.exp(-1.702 * x)));
    const fc2 = linear(activated, n, m, e, `${p}.mlp.fc2`);
    hidden = hidden.map((x, i) => x + (fc2[i] as number));
  }
  // Merge windows are contiguous rows: [N, e] read as [N / s², s² · e].
  const grouped = layerNorm(hidden, n, 'merger.ln_q');
  const tokens = n / (s * s);
  const up = linear(grouped, tokens, e * s * s, e * s * s, 'merger.mlp.0');
  const gelu = up.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
  return Float32Array.from(linear(gelu, tokens, e * s * s, d, 'merger.mlp.2'));
}
