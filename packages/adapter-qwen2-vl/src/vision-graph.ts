import { GraphBuilder, type ModelProto, type Value } from '@vasink/onnx-graph';
import { type LinearWeight, type WeightStore, emitLinear } from '@vasink/transformer-graph';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';
import { emitGroupMask, emitVisionAttention, emitVisionRotaryTables } from './vision-attention.js';

/** Names of the vision graph's inputs and output. */
export const VISION_IO = {
  /** `[N, C·T·P·P]` float32: flattened patches as the processor emits them (`[N, 1176]`). */
  pixelValues: 'pixel_values',
  /** `[N, 2]` int64: row and column of each patch in its image (2-D rotary embedding). */
  positionIds: 'vision_position_ids',
  /** `[N]` int64: attention segment (image frame) of each patch; attention stays inside a segment. */
  segmentIds: 'vision_segment_ids',
  /** `[N / merge², hidden]` float32: one language-model token per merge window. */
  imageFeatures: 'image_features',
} as const;

export interface VisionGraphOptions {
  config: Qwen2VlVisionConfig;
  /** Canonical names relative to the tower (`patch_embed.proj.weight`, `blocks.0.attn.qkv.weight`, ...). */
  weights: WeightStore;
  producerName?: string;
}

/**
 * Build Qwen2-VL's vision tower and patch merger as one ONNX graph:
 * `pixel_values [N, 1176]` + `vision_position_ids [N, 2]` +
 * `vision_segment_ids [N]` → `image_features [N/4, hidden]`.
 *
 * - the 3-D patch convolution is a MatMul on the flattened patches (its
 *   weight `[embed, 3, 2, 14, 14]` reshaped to `[embed, 1176]`: the same
 *   channel-frame-y-x order as the patch columns);
 * - 2-D rotary embedding on q and k (head_dim / 4 frequencies of base 10000
 *   for the row, as many for the column; `rot_pos_emb`);
 * - blocks: LayerNorm → fused qkv → attention confined to each segment
 *   (`cu_seqlens`) → proj, LayerNorm → fc1 → QuickGELU → fc2, residuals;
 * - merger: LayerNorm, groups of merge² consecutive patches (the processor
 *   already emits each merge window contiguously), Linear → GELU → Linear.
 *
 * The residual stream, norms, rotary, softmax and activations are float32;
 * with float16 weights only the matrix products run in float16 (as MatMul:
 * onnxruntime's CPU float16 Gemm accumulates in float16).
 */
export async function buildVisionGraph(options: VisionGraphOptions): Promise<ModelProto> {
  const { config, weights } = options;
  const dtype = weights.dtype;
  const { embedDim: e, numHeads: heads } = config;
  const hd = e / heads;
  const columns = config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize;
  const merge = config.spatialMergeSize * config.spatialMergeSize;
  const g = new GraphBuilder({ name: 'qwen2_vl_vision' });

  const pixels = g.input(VISION_IO.pixelValues, 'float32', ['patches', columns]);
  const positions = g.input(VISION_IO.positionIds, 'int64', ['patches', 2]);
  const segments = g.input(VISION_IO.segmentIds, 'int64', ['patches']);

  const narrow = (x: Value) => (dtype === 'float32' ? x : g.cast(x, dtype));
  const wide = (x: Value) => (dtype === 'float32' ? x : g.cast(x, 'float32'));
  // The residual stream stays float32: each linear layer runs in the weights' dtype (see emitLinear).
  const product = (x: Value, w: LinearWeight, b?: Value) => wide(emitLinear(g, narrow(x), w, b, { dtype }));
  const linear = async (x: Value, name: string) => product(x, await weights.loadLinear(g, `${name}.weight`), await weights.load(g, `${name}.bias`));
  const layerNorm = async (x: Value, name: string) => {
    const w = await weights.load(g, `${name}.weight`, { dtype: 'float32' });
    const b = await weights.load(g, `${name}.bias`, { dtype: 'float32' });
    return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: config.layerNormEps } }, { dtype: 'float32' });
  };

  // Patch embedding: Conv3d with stride = kernel on each patch = one dot product per output channel.
  const patchWeight = await weights.load(g, 'patch_embed.proj.weight');
  let hidden = product(pixels, { kind: 'float', weight: g.reshape(patchWeight, [e, columns]) });

  // Shared by all blocks: rotary tables [N, 1, hd] and the segment mask [N, N].
  const tables = emitVisionRotaryTables(g, positions, hd);
  const mask = emitGroupMask(g, segments, 'segment_mask');

  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const qkv = await linear(await layerNorm(hidden, `${p}.norm1`), `${p}.attn.qkv`);
    const attended = g.scope(`${p}.attn`, () => emitVisionAttention(g, qkv, { heads, headDim: hd, tables, mask, narrow, wide }));
    hidden = g.add(hidden, await linear(attended, `${p}.attn.proj`));
    const fc1 = await linear(await layerNorm(hidden, `${p}.norm2`), `${p}.mlp.fc1`);
    const activated = g.scope(`${p}.quick_gelu`, () => g.mul(fc1, g.sigmoid(g.mul(fc1, 1.702))));
    hidden = g.add(hidden, await linear(activated, `${p}.mlp.fc2`));
  }

  const grouped = g.reshape(await layerNorm(hidden, 'merger.ln_q'), [-1, e * merge]);
  const up = await linear(grouped, 'merger.mlp.0');
  const gelu = g.scope('merger.gelu', () => g.mul(g.mul(up, 0.5), g.add(g.erf(g.mul(up, Math.SQRT1_2)), 1)));
  const features = await linear(gelu, 'merger.mlp.2');
  g.output(features, { name: VISION_IO.imageFeatures, dtype: 'float32', dims: ['image_tokens', config.outHiddenSize] });
  return g.build({ producerName: options.producerName ?? 'vasink', metadata: { 'vasink.graph': 'qwen2-vl-vision' } });
}
