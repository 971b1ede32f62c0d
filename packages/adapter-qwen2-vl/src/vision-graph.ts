import { GraphBuilder, type ModelProto, type Value } from '@vasink/onnx-graph';
import { type LinearWeight, type WeightStore, emitApplyRotary, emitLinear, inverseFrequencies } from '@vasink/transformer-graph';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';

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

/** Rotary base of the vision tower (transformers' `VisionRotaryEmbedding`). */
export const VISION_ROPE_THETA = 10000;

/** Most negative float32: masked scores stay finite. */
const MASKED = -3.4028234663852886e38;

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
  const tables = g.scope('rotary', () => {
    const invFreq = g.constant({ dtype: 'float32', dims: [hd / 4], data: inverseFrequencies(VISION_ROPE_THETA, hd / 2) });
    const angles = g.reshape(g.mul(g.unsqueeze(g.cast(positions, 'float32'), [-1]), invFreq), [0, hd / 2]);
    const full = g.unsqueeze(g.concat([angles, angles], -1), [1]);
    return { cos: g.cos(full), sin: g.sin(full) };
  });
  const maskBias = g.scope('segment_mask', () => g.where(g.equal(g.unsqueeze(segments, [1]), g.unsqueeze(segments, [0])), 0, MASKED));

  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}`;
    const qkv = g.reshape(await linear(await layerNorm(hidden, `${p}.norm1`), `${p}.attn.qkv`), [0, 3, heads, hd]);
    const attended = g.scope(`${p}.attn`, () => {
      const [q, k, v] = g.split(qkv, [1, 1, 1], 1).map((x) => g.squeeze(x, [1])) as [Value, Value, Value];
      // [N, heads, hd] → [heads, N, hd]
      const qRot = g.transpose(emitApplyRotary(g, q, tables, hd), [1, 0, 2]);
      const kRot = g.transpose(emitApplyRotary(g, k, tables, hd), [1, 2, 0]);
      let scores = wide(g.matMul(narrow(g.mul(qRot, 1 / Math.sqrt(hd))), narrow(kRot)));
      scores = g.softmax(g.add(scores, maskBias), -1);
      const context = wide(g.matMul(narrow(scores), narrow(g.transpose(v, [1, 0, 2]))));
      return g.reshape(g.transpose(context, [1, 0, 2]), [0, e]);
    });
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
