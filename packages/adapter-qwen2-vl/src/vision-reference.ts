import { InvalidArgumentError, type TypedTensor, toFloat32 } from '@vasink/tensor';
import { inverseFrequencies, referenceLayerNorm, referenceLinear } from '@vasink/transformer-graph';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';
import { VISION_ROPE_THETA } from './vision-graph.js';
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

  // Rotary: [N, hd] cos and sin; channel c < hd/2 takes the row (c < hd/4) or the column frequency, repeated for the second half.
  const invFreq = inverseFrequencies(VISION_ROPE_THETA, hd / 2);
  const cos = new Float64Array(n * hd);
  const sin = new Float64Array(n * hd);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < hd; c++) {
      const half = c % (hd / 2);
      const axis = half < hd / 4 ? 0 : 1;
      const angle = Math.fround(Number(positions[2 * p + axis]) * (invFreq[half % (hd / 4)] as number));
      cos[p * hd + c] = Math.fround(Math.cos(angle));
      sin[p * hd + c] = Math.fround(Math.sin(angle));
    }
  }
  const rotate = (x: Float64Array, p: number, offset: number) => {
    const out = new Float64Array(hd);
    for (let c = 0; c < hd; c++) {
      const rotated = c < hd / 2 ? -(x[offset + c + hd / 2] as number) : (x[offset + c - hd / 2] as number);
      out[c] = (x[offset + c] as number) * (cos[p * hd + c] as number) + rotated * (sin[p * hd + c] as number);
    }
    return out;
  };

  let hidden = linear(Float64Array.from(pixelValues), n, columns, e, 'patch_embed.proj', false);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const qkv = linear(layerNorm(hidden, n, `${p}.norm1`), n, e, 3 * e, `${p}.attn.qkv`);
    const q: Float64Array[] = [];
    const k: Float64Array[] = [];
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < heads; h++) {
        q.push(rotate(qkv, t, t * 3 * e + h * hd));
        k.push(rotate(qkv, t, t * 3 * e + e + h * hd));
      }
    }
    const context = new Float64Array(n * e);
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < n; t++) {
        const query = q[t * heads + h] as Float64Array;
        const scores = new Float64Array(n).fill(-Infinity);
        let max = -Infinity;
        for (let u = 0; u < n; u++) {
          if (segments[u] !== segments[t]) continue;
          const key = k[u * heads + h] as Float64Array;
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += (query[c] as number) * (key[c] as number);
          scores[u] = dot / Math.sqrt(hd);
          max = Math.max(max, scores[u] as number);
        }
        let sum = 0;
        for (let u = 0; u < n; u++) sum += (scores[u] = Math.exp((scores[u] as number) - max));
        for (let u = 0; u < n; u++) {
          const a = (scores[u] as number) / sum;
          if (a === 0) continue;
          for (let c = 0; c < hd; c++) context[t * e + h * hd + c] = (context[t * e + h * hd + c] as number) + a * (qkv[u * 3 * e + 2 * e + h * hd + c] as number);
        }
      }
    }
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
