import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import type { RopeConfig } from './decoder-config.js';

/** Inverse frequencies θ^(−2i/hd), i < hd/2, rounded to float32 as Hugging Face computes them. */
export function inverseFrequencies(theta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) out[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  return out;
}

/**
 * The channel → position-component map of M-RoPE: channel i of hd/2 takes
 * its angle from component 0 (t), 1 (h) or 2 (w) by `section`.
 */
export function mropeComponents(section: readonly number[]): Uint8Array {
  const total = section.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(total);
  let start = 0;
  section.forEach((size, component) => {
    out.fill(component, start, start + size);
    start += size;
  });
  return out;
}

/**
 * Emit cos and sin tables `[batch, 1, Q, hd]` from position ids (`[batch, Q]`,
 * or `[3, batch, Q]` for M-RoPE). Angles are float32 products, as in HF.
 */
export function emitRotaryTables(g: GraphBuilder, rope: RopeConfig, headDim: number, positionIds: Value): { cos: Value; sin: Value } {
  return g.scope('rope', () => {
    const invFreq = g.constant({ dtype: 'float32', dims: [headDim / 2], data: inverseFrequencies(rope.theta, headDim) });
    let angles = g.mul(g.unsqueeze(g.cast(positionIds, 'float32'), [-1]), invFreq);
    if (rope.type === 'mrope') {
      // [3, batch, Q, hd/2] → pick each channel's component with a one-hot mask (exact: ×1 and +0).
      const components = mropeComponents(rope.section);
      const oneHot = new Float32Array(3 * components.length);
      components.forEach((c, i) => (oneHot[c * components.length + i] = 1));
      const mask = g.constant({ dtype: 'float32', dims: [3, 1, 1, components.length], data: oneHot });
      angles = g.reduceSum(g.mul(angles, mask), [0], false);
    }
    const full = g.unsqueeze(g.concat([angles, angles], -1), [1]);
    return { cos: g.cos(full), sin: g.sin(full) };
  });
}

/** Apply rotary embedding to `[batch, heads, Q, hd]`: x·cos + rotate_half(x)·sin. */
export function emitApplyRotary(g: GraphBuilder, x: Value, tables: { cos: Value; sin: Value }, headDim: number): Value {
  const half = headDim / 2;
  const [first, second] = g.split(x, [half, half], -1) as [Value, Value];
  const rotated = g.concat([g.neg(second), first], -1);
  return g.add(g.mul(x, tables.cos), g.mul(rotated, tables.sin));
}
