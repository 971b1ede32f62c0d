import { type GridThw, VISION_ROPE_THETA, erf, visionPositionIds, visionSegmentIds } from '@vasink/adapter-qwen2-vl';
import { InvalidArgumentError, type TypedTensor, toFloat32 } from '@vasink/tensor';
import { inverseFrequencies, referenceLinear } from '@vasink/transformer-graph';
import type { Qwen25VlVisionConfig } from './config.js';
import { inversePermutation, windowIndex } from './window-index.js';

export interface ReferenceQwen25VlVisionOptions {
  config: Qwen25VlVisionConfig;
  /** Canonical name (relative to the tower) → tensor, any float dtype. */
  weights: ReadonlyMap<string, TypedTensor>;
  /** `[N × C·T·P·P]` flattened patches in the processor's order. */
  pixelValues: Float32Array;
  gridThw: readonly GridThw[];
}

/**
 * Plain TypeScript forward pass of Qwen2.5-VL's vision tower and merger, as
 * transformers' `Qwen2_5_VisionTransformerPretrainedModel.forward` runs it
 * (naive loops, float64 accumulation, float32 rotary angles): patches in the
 * processor's order, reordered into windows here, attention masked by window
 * or frame, merger, tokens put back. The reference of the ONNX graph.
 * Returns `[N / merge² × hidden]`.
 */
export function referenceQwen25VlVision(options: ReferenceQwen25VlVisionOptions): Float32Array {
  const { config, gridThw } = options;
  const { embedDim: e, numHeads: heads, intermediateSize: m, spatialMergeSize: s, outHiddenSize: d } = config;
  const hd = e / heads;
  const unit = s * s;
  const columns = config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize;
  const processorPositions = visionPositionIds(gridThw, s);
  const processorSegments = visionSegmentIds(gridThw, s);
  const n = processorSegments.length;
  if (options.pixelValues.length !== n * columns) {
    throw new InvalidArgumentError(`reference vision tower: ${options.pixelValues.length} pixel values for ${n} patches of ${columns}`);
  }
  const weight = (name: string): Float32Array => {
    const t = options.weights.get(name);
    if (!t) throw new InvalidArgumentError(`reference vision tower: missing weight ${name}`);
    return toFloat32(t).data;
  };
  const linear = (x: Float64Array, rows: number, inDim: number, outDim: number, name: string, bias = true) =>
    referenceLinear(x, rows, inDim, outDim, weight(`${name}.weight`), bias ? weight(`${name}.bias`) : undefined);
  const rmsNorm = (x: Float64Array, rows: number, name: string) => {
    const w = weight(`${name}.weight`);
    const out = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0; c < e; c++) sum += (x[r * e + c] as number) ** 2;
      const scale = 1 / Math.sqrt(sum / e + config.rmsNormEps);
      for (let c = 0; c < e; c++) out[r * e + c] = (x[r * e + c] as number) * scale * (w[c] as number);
    }
    return out;
  };

  // Window order: whole merge units move; patch p of the window sequence is processor patch source[p].
  const { index, cuWindowSeqlens } = windowIndex(gridThw, config);
  const source = index.flatMap((u) => Array.from({ length: unit }, (_, k) => u * unit + k));
  const windowOf = new Int32Array(n);
  for (let w = 0; w + 1 < cuWindowSeqlens.length; w++) windowOf.fill(w, cuWindowSeqlens[w] as number, cuWindowSeqlens[w + 1] as number);
  const frameOf = source.map((p) => Number(processorSegments[p]));

  const invFreq = inverseFrequencies(VISION_ROPE_THETA, hd / 2);
  const cos = new Float64Array(n * hd);
  const sin = new Float64Array(n * hd);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < hd; c++) {
      const half = c % (hd / 2);
      const axis = half < hd / 4 ? 0 : 1;
      const angle = Math.fround(Number(processorPositions[2 * (source[p] as number) + axis]) * (invFreq[half % (hd / 4)] as number));
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

  const pixels = new Float64Array(n * columns);
  source.forEach((from, p) => pixels.set(options.pixelValues.subarray(from * columns, (from + 1) * columns), p * columns));
  let hidden = linear(pixels, n, columns, e, 'patch_embed.proj', false);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const full = config.fullAttentionBlocks.includes(b);
    const together = (t: number, u: number) => (full ? frameOf[t] === frameOf[u] : windowOf[t] === windowOf[u]);
    const qkv = linear(rmsNorm(hidden, n, `${p}.norm1`), n, e, 3 * e, `${p}.attn.qkv`);
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
          if (!together(t, u)) continue;
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
    const mlpIn = rmsNorm(hidden, n, `${p}.norm2`);
    const gate = linear(mlpIn, n, e, m, `${p}.mlp.gate_proj`);
    const up = linear(mlpIn, n, e, m, `${p}.mlp.up_proj`);
    const down = linear(gate.map((x, i) => (x / (1 + Math.exp(-x))) * (up[i] as number)), n, m, e, `${p}.mlp.down_proj`);
    hidden = hidden.map((x, i) => x + (down[i] as number));
  }
  const tokens = n / unit;
  const grouped = rmsNorm(hidden, n, 'merger.ln_q');
  const upMerged = linear(grouped, tokens, e * unit, e * unit, 'merger.mlp.0');
  const merged = linear(upMerged.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))), tokens, e * unit, d, 'merger.mlp.2');
  const back = inversePermutation(index);
  const out = new Float32Array(tokens * d);
  for (let j = 0; j < tokens; j++) out.set(merged.subarray((back[j] as number) * d, ((back[j] as number) + 1) * d), j * d);
  return out;
}
