import { type GridThw, erf, referenceVisionAttention, visionPositionIds, visionSegmentIds } from '@vasink/adapter-qwen2-vl';
import { InvalidArgumentError, type TypedTensor, toFloat32 } from '@vasink/tensor';
import { referenceLinear } from '@vasink/transformer-graph';
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

  const pixels = new Float64Array(n * columns);
  source.forEach((from, p) => pixels.set(options.pixelValues.subarray(from * columns, (from + 1) * columns), p * columns));
  let hidden = linear(pixels, n, columns, e, 'patch_embed.proj', false);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const full = config.fullAttentionBlocks.includes(b);
    const together = (t: number, u: number) => (full ? frameOf[t] === frameOf[u] : windowOf[t] === windowOf[u]);
    const qkv = linear(rmsNorm(hidden, n, `${p}.norm1`), n, e, 3 * e, `${p}.attn.qkv`);
    const context = referenceVisionAttention(qkv, {
      n,
      heads,
      headDim: hd,
      position: (q) => {
        const from = source[q] as number;
        return [Number(processorPositions[2 * from]), Number(processorPositions[2 * from + 1])];
      },
      together,
    });
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
