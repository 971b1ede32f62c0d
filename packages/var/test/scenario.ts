// Random but structured VAR inputs for property and parity tests: left padding,
// BOS, text, an image span per row, sinks planted in the hidden state, causal
// softmax attention biased toward sinks. Deterministic from a seed.
import { type Float32Tensor, type Uint8Tensor, createTensor } from '@vasink/tensor';
import { seededRandom } from '@vasink/test-utils';
import { eligibleQueries } from '../src/eligible-queries.js';

export const HIDDEN = 64;
export const SINK_DIMS = [5, 41];
/** φ of a planted token: 40 / RMS ≈ 7.95; an unplanted uniform(−1, 1) token stays near sqrt(3) ≈ 1.73 (its sample RMS varies: keep τ ≥ 3). */
export const PLANTED = 40;

export interface Scenario {
  batch: number;
  heads: number;
  past: number;
  queries: number;
  keys: number;
  hidden: Float32Tensor;
  attention: Float32Tensor;
  pastSinkFlags: Uint8Tensor;
  detect: boolean;
  attentionMask: Uint8Tensor;
  imageMask: Uint8Tensor;
  queryMask: Uint8Tensor;
  /** Tokens planted as sinks (over all keys), for checks. */
  planted: Uint8Array;
}

/**
 * A prefill (past = 0, detect) or decode (past > 0, queries = 1, flags carried)
 * step over `keys` tokens per row.
 */
export function makeScenario(options: { seed: number; batch: number; heads: number; keys: number; phase: 'prefill' | 'decode' }): Scenario {
  const { seed, batch, heads, keys, phase } = options;
  const random = seededRandom(seed);
  const queries = phase === 'prefill' ? keys : 1;
  const past = keys - queries;
  const attentionMask = new Uint8Array(batch * keys);
  const imageMask = new Uint8Array(batch * keys);
  const planted = new Uint8Array(batch * keys);
  for (let b = 0; b < batch; b++) {
    const padding = Math.floor(random() * 3);
    const imageStart = padding + 1 + Math.floor(random() * 3);
    const imageLength = 3 + Math.floor(random() * Math.max(1, keys - imageStart - 4));
    for (let t = 0; t < keys; t++) {
      const i = b * keys + t;
      if (t < padding) continue;
      attentionMask[i] = 1;
      const isImage = t >= imageStart && t < imageStart + imageLength && t < keys - 2;
      imageMask[i] = isImage ? 1 : 0;
      // BOS always a sink; about a quarter of the image tokens; never the generated tail.
      if (t === padding || (isImage && random() < 0.25)) planted[i] = t < keys - (phase === 'decode' ? 1 : 0) ? 1 : 0;
    }
  }

  const hidden = new Float32Array(batch * queries * HIDDEN);
  for (let b = 0; b < batch; b++) {
    for (let q = 0; q < queries; q++) {
      const base = (b * queries + q) * HIDDEN;
      for (let d = 0; d < HIDDEN; d++) hidden[base + d] = random() * 2 - 1;
      if (planted[b * keys + past + q]) hidden[base + (SINK_DIMS[Math.floor(random() * 2)] as number)] = random() < 0.5 ? PLANTED : -PLANTED;
    }
  }
  const pastSinkFlags = new Uint8Array(batch * past);
  for (let b = 0; b < batch; b++) for (let t = 0; t < past; t++) pastSinkFlags[b * past + t] = planted[b * keys + t] ?? 0;

  const attention = new Float32Array(batch * heads * queries * keys);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const sinkBias = random() * 5;
      const imageBias = random() * 3 - 1;
      for (let q = 0; q < queries; q++) {
        const base = ((b * heads + h) * queries + q) * keys;
        const logits = new Float64Array(keys).fill(-Infinity);
        let max = -Infinity;
        for (let k = 0; k <= past + q; k++) {
          if (!attentionMask[b * keys + k]) continue;
          const logit =
            random() * 3 + (planted[b * keys + k] ? sinkBias : 0) + (imageMask[b * keys + k] ? imageBias : 0);
          logits[k] = logit;
          max = Math.max(max, logit);
        }
        let sum = 0;
        for (let k = 0; k < keys; k++) sum += Number.isFinite(logits[k]) ? Math.exp((logits[k] as number) - max) : 0;
        for (let k = 0; k < keys; k++) {
          attention[base + k] = Number.isFinite(logits[k]) && sum > 0 ? Math.exp((logits[k] as number) - max) / sum : 0;
        }
      }
    }
  }
  const imageMaskTensor = createTensor('uint8', [batch, keys], imageMask);
  const attentionMaskTensor = createTensor('uint8', [batch, keys], attentionMask);
  return {
    batch,
    heads,
    past,
    queries,
    keys,
    hidden: createTensor('float32', [batch, queries, HIDDEN], hidden),
    attention: createTensor('float32', [batch, heads, queries, keys], attention),
    pastSinkFlags: createTensor('uint8', [batch, past], pastSinkFlags),
    detect: phase === 'prefill',
    attentionMask: attentionMaskTensor,
    imageMask: imageMaskTensor,
    queryMask: eligibleQueries({ imageMask: imageMaskTensor, attentionMask: attentionMaskTensor, newTokens: queries, phase }),
    planted,
  };
}

/** `[batch, 4]` per-row τ, ρ, p, m. */
export function paramsTensor(rows: readonly (readonly [number, number, number, number])[]): Float32Tensor {
  return createTensor('float32', [rows.length, 4], rows.flat());
}
