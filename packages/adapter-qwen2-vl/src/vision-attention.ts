import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import { emitApplyRotary, inverseFrequencies } from '@vasink/transformer-graph';

/** Rotary base of the vision tower (transformers' `VisionRotaryEmbedding`). */
export const VISION_ROPE_THETA = 10000;

/** Most negative float32: masked scores stay finite. */
const MASKED = -3.4028234663852886e38;

/**
 * The 2-D rotary tables `[N, 1, hd]` of Qwen2-VL-style vision towers from
 * `positions [N, 2]` (row, column): head_dim / 4 frequencies of base 10000
 * for the row, as many for the column, the half repeated (`rot_pos_emb`).
 */
export function emitVisionRotaryTables(g: GraphBuilder, positions: Value, headDim: number): { cos: Value; sin: Value } {
  return g.scope('rotary', () => {
    const invFreq = g.constant({ dtype: 'float32', dims: [headDim / 4], data: inverseFrequencies(VISION_ROPE_THETA, headDim / 2) });
    const angles = g.reshape(g.mul(g.unsqueeze(g.cast(positions, 'float32'), [-1]), invFreq), [0, headDim / 2]);
    const full = g.unsqueeze(g.concat([angles, angles], -1), [1]);
    return { cos: g.cos(full), sin: g.sin(full) };
  });
}

/** An additive attention mask `[N, N]` from group ids `[N]`: 0 inside a group, the most negative float32 across (transformers' `cu_seqlens`). */
export function emitGroupMask(g: GraphBuilder, ids: Value, name: string): Value {
  return g.scope(name, () => g.where(g.equal(g.unsqueeze(ids, [1]), g.unsqueeze(ids, [0])), 0, MASKED));
}

/**
 * Vision self-attention on a fused qkv `[N, 3·e]` (float32): rotary on q and
 * k, scores scaled by head_dim^−½ plus `mask`, softmax, weighted values;
 * returns the context `[N, e]` (float32). `narrow`/`wide` cast to and from the
 * weights' dtype around the matrix products.
 */
export function emitVisionAttention(
  g: GraphBuilder,
  qkv: Value,
  options: { heads: number; headDim: number; tables: { cos: Value; sin: Value }; mask: Value; narrow: (x: Value) => Value; wide: (x: Value) => Value },
): Value {
  const { heads, headDim: hd, tables, mask, narrow, wide } = options;
  const [q, k, v] = g.split(g.reshape(qkv, [0, 3, heads, hd]), [1, 1, 1], 1).map((x) => g.squeeze(x, [1])) as [Value, Value, Value];
  // [N, heads, hd] → [heads, N, hd]
  const qRot = g.transpose(emitApplyRotary(g, q, tables, hd), [1, 0, 2]);
  const kRot = g.transpose(emitApplyRotary(g, k, tables, hd), [1, 2, 0]);
  const scores = g.softmax(g.add(wide(g.matMul(narrow(g.mul(qRot, 1 / Math.sqrt(hd))), narrow(kRot))), mask), -1);
  const context = wide(g.matMul(narrow(scores), narrow(g.transpose(v, [1, 0, 2]))));
  return g.reshape(g.transpose(context, [1, 0, 2]), [0, heads * hd]);
}

/**
 * Plain TypeScript of the same (float64 accumulation, float32 rotary angles
 * as transformers computes them): `qkv [n × 3e]` rows, patch p's rotary
 * position `position(p) = [row, col]`, `together(t, u)` whether t attends to u.
 */
export function referenceVisionAttention(
  qkv: Float64Array,
  options: { n: number; heads: number; headDim: number; position: (p: number) => readonly [number, number]; together: (t: number, u: number) => boolean },
): Float64Array {
  const { n, heads, headDim: hd, together } = options;
  const e = heads * hd;
  const invFreq = inverseFrequencies(VISION_ROPE_THETA, hd / 2);
  const cos = new Float64Array(n * hd);
  const sin = new Float64Array(n * hd);
  for (let p = 0; p < n; p++) {
    const position = options.position(p);
    for (let c = 0; c < hd; c++) {
      const half = c % (hd / 2);
      const axis = half < hd / 4 ? 0 : 1;
      const angle = Math.fround((position[axis] as number) * (invFreq[half % (hd / 4)] as number));
      cos[p * hd + c] = Math.fround(Math.cos(angle));
      sin[p * hd + c] = Math.fround(Math.sin(angle));
    }
  }
  const rotate = (p: number, offset: number) => {
    const out = new Float64Array(hd);
    for (let c = 0; c < hd; c++) {
      const rotated = c < hd / 2 ? -(qkv[offset + c + hd / 2] as number) : (qkv[offset + c - hd / 2] as number);
      out[c] = (qkv[offset + c] as number) * (cos[p * hd + c] as number) + rotated * (sin[p * hd + c] as number);
    }
    return out;
  };
  const q: Float64Array[] = [];
  const k: Float64Array[] = [];
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < heads; h++) {
      q.push(rotate(t, t * 3 * e + h * hd));
      k.push(rotate(t, t * 3 * e + e + h * hd));
    }
  }
  const context = new Float64Array(n * e);
  const scores = new Float64Array(n);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < n; t++) {
      const query = q[t * heads + h] as Float64Array;
      scores.fill(-Infinity);
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
  return context;
}
