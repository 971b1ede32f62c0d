import { VISION_IO as QWEN2_VL_VISION_IO, emitGroupMask, emitVisionAttention, emitVisionRotaryTables } from '@vasink/adapter-qwen2-vl';
import { GraphBuilder, type ModelProto, type Value } from '@vasink/onnx-graph';
import { type LinearWeight, type WeightStore, emitLinear } from '@vasink/transformer-graph';
import type { Qwen25VlVisionConfig } from './config.js';

/** Names of the vision graph's inputs and output. Every per-patch input is in window order (see `prepareQwen25VlImages`). */
export const VISION_IO = {
  ...QWEN2_VL_VISION_IO,
  /** `[N]` int64: attention window of each patch (blocks not in `fullAttentionBlocks` attend inside it). */
  windowIds: 'vision_window_ids',
  /** `[N / merge²]` int64: for each merged token in the processor's order, its row in the window-ordered merger output (`argsort(window_index)`). */
  tokenOrder: 'vision_token_order',
} as const;

export interface Qwen25VlVisionGraphOptions {
  config: Qwen25VlVisionConfig;
  /** Canonical names relative to the tower (`patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, …). */
  weights: WeightStore;
  producerName?: string;
}

/**
 * Qwen2.5-VL's vision tower and patch merger as one ONNX graph. Inputs, the
 * patches in window order: `pixel_values [N, 1176]`,
 * `vision_position_ids [N, 2]`, `vision_segment_ids [N]` (image frame),
 * `vision_window_ids [N]`, and `vision_token_order [N/4]`; output
 * `image_features [N/4, hidden]` in the processor's order.
 *
 * - patch embedding: the 3-D convolution as one MatMul on the flattened patches;
 * - 2-D rotary embedding on q and k (as Qwen2-VL's);
 * - blocks: RMSNorm → fused qkv (bias) → attention inside the patch's window
 *   (its frame in `fullAttentionBlocks`) → proj, RMSNorm → SwiGLU MLP
 *   `down(silu(gate(x)) · up(x))` (biases), residuals;
 * - merger: RMSNorm `ln_q`, merge² consecutive patches (one merge unit) per
 *   token, Linear → GELU → Linear, then the tokens put back in the processor's
 *   order (transformers' `hidden_states[argsort(window_index)]`) by a Gather.
 *
 * Residual stream, norms, rotary, softmax and activations in float32; with
 * float16 weights only the matrix products run in float16.
 */
export async function buildQwen25VlVisionGraph(options: Qwen25VlVisionGraphOptions): Promise<ModelProto> {
  const { config, weights } = options;
  const dtype = weights.dtype;
  const { embedDim: e, numHeads: heads } = config;
  const hd = e / heads;
  const columns = config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize;
  const merge = config.spatialMergeSize * config.spatialMergeSize;
  const g = new GraphBuilder({ name: 'qwen2_5_vl_vision' });

  const pixels = g.input(VISION_IO.pixelValues, 'float32', ['patches', columns]);
  const positions = g.input(VISION_IO.positionIds, 'int64', ['patches', 2]);
  const segments = g.input(VISION_IO.segmentIds, 'int64', ['patches']);
  const windows = g.input(VISION_IO.windowIds, 'int64', ['patches']);
  const order = g.input(VISION_IO.tokenOrder, 'int64', ['image_tokens']);

  const narrow = (x: Value) => (dtype === 'float32' ? x : g.cast(x, dtype));
  const wide = (x: Value) => (dtype === 'float32' ? x : g.cast(x, 'float32'));
  const product = (x: Value, w: LinearWeight, b?: Value) => wide(emitLinear(g, narrow(x), w, b, { dtype }));
  const linear = async (x: Value, name: string) => product(x, await weights.loadLinear(g, `${name}.weight`), await weights.load(g, `${name}.bias`));
  const rmsNorm = async (x: Value, name: string) => {
    const w = await weights.load(g, `${name}.weight`, { dtype: 'float32' });
    return g.scope(name, () => g.mul(g.mul(x, g.reciprocal(g.sqrt(g.add(g.reduceMean(g.mul(x, x), [-1], true), config.rmsNormEps)))), w));
  };

  const patchWeight = await weights.load(g, 'patch_embed.proj.weight');
  let hidden = product(pixels, { kind: 'float', weight: g.reshape(patchWeight, [e, columns]) });

  const tables = emitVisionRotaryTables(g, positions, hd);
  const fullMask = emitGroupMask(g, segments, 'frame_mask');
  const windowMask = emitGroupMask(g, windows, 'window_mask');

  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const mask = config.fullAttentionBlocks.includes(b) ? fullMask : windowMask;
    const qkv = await linear(await rmsNorm(hidden, `${p}.norm1`), `${p}.attn.qkv`);
    const attended = g.scope(`${p}.attn`, () => emitVisionAttention(g, qkv, { heads, headDim: hd, tables, mask, narrow, wide }));
    hidden = g.add(hidden, await linear(attended, `${p}.attn.proj`));
    const mlpIn = await rmsNorm(hidden, `${p}.norm2`);
    const gate = await linear(mlpIn, `${p}.mlp.gate_proj`);
    const up = await linear(mlpIn, `${p}.mlp.up_proj`);
    const swiglu = g.scope(`${p}.mlp.silu`, () => g.mul(g.mul(gate, g.sigmoid(gate)), up));
    hidden = g.add(hidden, await linear(swiglu, `${p}.mlp.down_proj`));
  }

  const grouped = g.reshape(await rmsNorm(hidden, 'merger.ln_q'), [-1, e * merge]);
  const up = await linear(grouped, 'merger.mlp.0');
  const gelu = g.scope('merger.gelu', () => g.mul(g.mul(up, 0.5), g.add(g.erf(g.mul(up, Math.SQRT1_2)), 1)));
  const merged = await linear(gelu, 'merger.mlp.2');
  const features = g.scope('token_order', () => g.gather(merged, order, 0));
  g.output(features, { name: VISION_IO.imageFeatures, dtype: 'float32', dims: ['image_tokens', config.outHiddenSize] });
  return g.build({ producerName: options.producerName ?? 'vasink', metadata: { 'vasink.graph': 'qwen2.5-vl-vision' } });
}
