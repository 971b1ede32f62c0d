import { type Float32Tensor, type TypedTensor, createTensor, toFloat32 } from '@vasink/tensor';
import { type DecoderConfig, validateDecoderConfig } from './decoder-config.js';
import type { InterventionReference } from './intervention.js';
import { referenceLinear } from './reference-ops.js';
import { inverseFrequencies, mropeComponents } from './rope.js';

/** One step of the reference decoder. */
export interface ReferenceDecoderStepOptions {
  config: DecoderConfig;
  /** Canonical weight name → tensor (any float dtype; widened to float32). */
  weights: ReadonlyMap<string, TypedTensor>;
  /** `[batch, Q, hidden]`. */
  inputsEmbeds: Float32Tensor;
  /** `[batch, P+Q]` 1 real / 0 padding. */
  attentionMask: ArrayLike<number | bigint>;
  /** `[batch, Q]` or `[3, batch, Q]` (M-RoPE). */
  positionIds: ArrayLike<number | bigint>;
  /** Per layer, `[batch, kvHeads, P, hd]` keys and values. */
  past: readonly { key: Float32Tensor; value: Float32Tensor }[];
  /** The interventions' reference hooks for this step (see `interventionReferences`), applied in order. */
  interventions?: readonly InterventionReference[];
}

export interface ReferenceDecoderStep {
  /** `[batch, 1, vocab]` logits of the last position. */
  logits: Float32Tensor;
  present: { key: Float32Tensor; value: Float32Tensor }[];
  /** The interventions' outputs (carried state, diagnostics) by graph output name. */
  outputs: Record<string, TypedTensor>;
}

/**
 * Plain TypeScript forward pass of the decoder graph (naive loops): the
 * reference the ONNX graph is tested against. Mirrors the graph's float32
 * rotary angles; everything else accumulates in float64.
 */
export function referenceDecoderStep(options: ReferenceDecoderStepOptions): ReferenceDecoderStep {
  const config = validateDecoderConfig(options.config);
  const { hiddenSize: d, numHeads: heads, numKvHeads: kvHeads, headDim: hd, numLayers, vocabSize } = config;
  const weight = (name: string): Float32Array => {
    const t = options.weights.get(name);
    if (!t) throw new Error(`reference decoder: missing weight ${name}`);
    return toFloat32(t).data;
  };
  const [batch, queries] = options.inputsEmbeds.dims as [number, number, number];
  const total = options.attentionMask.length / batch;
  const pastLength = total - queries;
  const mask = (b: number, t: number) => Number(options.attentionMask[b * total + t]) !== 0;
  const groups = heads / kvHeads;

  // Rotary angles [batch, Q, hd/2], float32 like the graph.
  const invFreq = inverseFrequencies(config.rope.theta, hd);
  const components = config.rope.type === 'mrope' ? mropeComponents(config.rope.section) : undefined;
  const angle = (b: number, q: number, i: number) => {
    const component = components ? (components[i] as number) : 0;
    const position = Number(options.positionIds[(component * batch + b) * queries + q]);
    return Math.fround(Math.fround(position) * (invFreq[i] as number));
  };
  const rotate = (vec: Float64Array, b: number, q: number) => {
    const half = hd / 2;
    const out = new Float64Array(hd);
    for (let i = 0; i < hd; i++) {
      const a = angle(b, q, i % half);
      const rotated = i < half ? -(vec[i + half] as number) : (vec[i - half] as number);
      out[i] = (vec[i] as number) * Math.fround(Math.cos(a)) + rotated * Math.fround(Math.sin(a));
    }
    return out;
  };
  const linear = (x: Float64Array, rows: number, name: string, inDim: number, outDim: number, bias?: string) =>
    referenceLinear(x, rows, inDim, outDim, weight(name), bias ? weight(bias) : undefined);
  const rmsNorm = (x: Float64Array, rows: number, name: string) => {
    const w = weight(name);
    const out = new Float64Array(rows * d);
    for (let r = 0; r < rows; r++) {
      let sumSquares = 0;
      for (let i = 0; i < d; i++) sumSquares += (x[r * d + i] as number) ** 2;
      const scale = 1 / Math.sqrt(sumSquares / d + config.rmsNormEps);
      for (let i = 0; i < d; i++) out[r * d + i] = (x[r * d + i] as number) * scale * (w[i] as number);
    }
    return out;
  };

  let hidden = Float64Array.from(options.inputsEmbeds.data);
  const present: { key: Float32Tensor; value: Float32Tensor }[] = [];
  const hooks = options.interventions ?? [];
  const rows = batch * queries;

  for (let l = 0; l < numLayers; l++) {
    const p = `layers.${l}.`;
    const normed = rmsNorm(hidden, rows, `${p}input_layernorm.weight`);
    const bias = (n: string) => (config.attentionBias ? `${p}self_attn.${n}.bias` : undefined);
    const q = linear(normed, rows, `${p}self_attn.q_proj.weight`, d, heads * hd, bias('q_proj'));
    const k = linear(normed, rows, `${p}self_attn.k_proj.weight`, d, kvHeads * hd, bias('k_proj'));
    const v = linear(normed, rows, `${p}self_attn.v_proj.weight`, d, kvHeads * hd, bias('v_proj'));

    // Present keys/values [batch, kv, total, hd]: past then the new (rotated) keys.
    const pastKV = options.past[l];
    if (!pastKV) throw new Error(`reference decoder: no past for layer ${l}`);
    const keys = new Float32Array(batch * kvHeads * total * hd);
    const values = new Float32Array(batch * kvHeads * total * hd);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < kvHeads; h++) {
        const dst = (b * kvHeads + h) * total * hd;
        const src = (b * kvHeads + h) * pastLength * hd;
        keys.set(pastKV.key.data.subarray(src, src + pastLength * hd), dst);
        values.set(pastKV.value.data.subarray(src, src + pastLength * hd), dst);
        for (let t = 0; t < queries; t++) {
          const row = (b * queries + t) * kvHeads * hd + h * hd;
          const rotated = rotate(k.subarray(row, row + hd), b, t);
          for (let i = 0; i < hd; i++) {
            keys[dst + (pastLength + t) * hd + i] = rotated[i] as number;
            values[dst + (pastLength + t) * hd + i] = v[row + i] as number;
          }
        }
      }
    }
    present.push({
      key: createTensor('float32', [batch, kvHeads, total, hd], keys),
      value: createTensor('float32', [batch, kvHeads, total, hd], values),
    });

    // Scaled scores [batch, heads, Q, total] (entries the mask hides stay 0 and are ignored).
    const scoreData = new Float32Array(batch * heads * queries * total);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kvBase = (b * kvHeads + Math.floor(h / groups)) * total * hd;
        for (let t = 0; t < queries; t++) {
          const row = (b * queries + t) * heads * hd + h * hd;
          const query = rotate(q.subarray(row, row + hd), b, t);
          const base = ((b * heads + h) * queries + t) * total;
          for (let s = 0; s < total; s++) {
            if (s > pastLength + t || !mask(b, s)) continue;
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += (query[i] as number) * (keys[kvBase + s * hd + i] as number);
            scoreData[base + s] = dot / Math.sqrt(hd);
          }
        }
      }
    }
    const layerValues = { layer: l, hidden: createTensor('float32', [batch, queries, d], Float32Array.from(hidden)) };
    let scores = createTensor('float32', [batch, heads, queries, total], scoreData);
    for (const hook of hooks) if (hook.beforeSoftmax) scores = hook.beforeSoftmax(scores, layerValues);

    // Attention probabilities [batch, heads, Q, total].
    const probs = new Float32Array(batch * heads * queries * total);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let t = 0; t < queries; t++) {
          const base = ((b * heads + h) * queries + t) * total;
          let max = -Infinity;
          let allowedAny = false;
          for (let s = 0; s < total; s++) {
            if (s > pastLength + t || !mask(b, s)) continue;
            max = Math.max(max, scores.data[base + s] as number);
            allowedAny = true;
          }
          let sum = 0;
          for (let s = 0; s < total; s++) {
            const allowed = s <= pastLength + t && mask(b, s);
            // A fully masked row (a padding query) is uniform, as softmax of equal masked logits is.
            const e = allowedAny ? (allowed ? Math.exp((scores.data[base + s] as number) - max) : 0) : 1;
            probs[base + s] = e;
            sum += e;
          }
          for (let s = 0; s < total; s++) probs[base + s] = (probs[base + s] as number) / sum;
        }
      }
    }

    let attention = createTensor('float32', [batch, heads, queries, total], probs);
    for (const hook of hooks) if (hook.afterSoftmax) attention = hook.afterSoftmax(attention, layerValues);

    // Context [rows, heads·hd] and output projection.
    const context = new Float64Array(rows * heads * hd);
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        const kvBase = (b * kvHeads + Math.floor(h / groups)) * total * hd;
        for (let t = 0; t < queries; t++) {
          const base = ((b * heads + h) * queries + t) * total;
          const dst = (b * queries + t) * heads * hd + h * hd;
          for (let s = 0; s < total; s++) {
            const a = attention.data[base + s] as number;
            if (a === 0) continue;
            for (let i = 0; i < hd; i++) context[dst + i] = (context[dst + i] as number) + a * (values[kvBase + s * hd + i] as number);
          }
        }
      }
    }
    const attended = linear(context, rows, `${p}self_attn.o_proj.weight`, heads * hd, d);
    for (let i = 0; i < hidden.length; i++) hidden[i] = (hidden[i] as number) + (attended[i] as number);
    const mlpIn = rmsNorm(hidden, rows, `${p}post_attention_layernorm.weight`);
    const gate = linear(mlpIn, rows, `${p}mlp.gate_proj.weight`, d, config.intermediateSize);
    const up = linear(mlpIn, rows, `${p}mlp.up_proj.weight`, d, config.intermediateSize);
    for (let i = 0; i < gate.length; i++) {
      const x = gate[i] as number;
      gate[i] = (x / (1 + Math.exp(-x))) * (up[i] as number);
    }
    const down = linear(gate, rows, `${p}mlp.down_proj.weight`, config.intermediateSize, d);
    hidden = hidden.map((x, i) => x + (down[i] as number));
  }

  const last = new Float64Array(batch * d);
  for (let b = 0; b < batch; b++) last.set(hidden.subarray((b * queries + queries - 1) * d, (b * queries + queries) * d), b * d);
  const finalNormed = rmsNorm(last, batch, 'norm.weight');
  const logits = linear(finalNormed, batch, config.tieWordEmbeddings ? 'embed_tokens.weight' : 'lm_head.weight', d, vocabSize);
  const outputs: Record<string, TypedTensor> = {};
  for (const hook of hooks) Object.assign(outputs, hook.outputs?.() ?? {});
  return { logits: createTensor('float32', [batch, 1, vocabSize], Float32Array.from(logits)), present, outputs };
}
