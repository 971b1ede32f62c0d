import {
  type TinyQwen2VlCheckpoint,
  type TinyQwen2VlCheckpointOptions,
  type TinyQwenTower,
  TinyWeight,
  craftTinyMerger,
  whiteMergeUnit,
  writeTinyQwen2VlCheckpoint,
} from '@vasink/adapter-qwen2-vl';
import { QWEN2_5_VL_ARCHITECTURE, type Qwen25VlVisionConfig, visionWeightShapes } from './config.js';
import { referenceQwen25VlVision } from './vision-reference.js';

const tower = (overrides: Partial<Qwen25VlVisionConfig> & Pick<Qwen25VlVisionConfig, 'outHiddenSize'>): Qwen25VlVisionConfig => ({
  depth: 4,
  embedDim: 64,
  numHeads: 4,
  intermediateSize: 128,
  patchSize: 14,
  temporalPatchSize: 2,
  spatialMergeSize: 2,
  inChannels: 3,
  // 2 × 2 merged tokens a window: the tiny test images span several windows.
  windowSize: 56,
  fullAttentionBlocks: [1, 3],
  rmsNormEps: 1e-6,
  ...overrides,
});

/**
 * Qwen2.5-VL's tower for the tiny checkpoints: RMSNorm blocks with SwiGLU
 * MLPs, windowed attention (full attention in `fullAttentionBlocks`), the
 * RMSNorm merger. The planted structure is Qwen2-VL's: patch-embedding dim 0
 * carries the patch's brightness (block 0's proj bias subtracts the bright
 * level), no block writes it, and merger unit 0 fires only when all four
 * patches of a merge unit are bright, writing the visual sink dim.
 */
export const QWEN2_5_VL_TINY_TOWER: TinyQwenTower<Qwen25VlVisionConfig> = {
  architecture: QWEN2_5_VL_ARCHITECTURE,
  modelType: 'qwen2_5_vl',
  sizes: {
    tiny: tower({ outHiddenSize: 512 }),
    bench: tower({ depth: 8, embedDim: 640, numHeads: 10, intermediateSize: 1280, windowSize: 112, fullAttentionBlocks: [3, 7], outHiddenSize: 1536 }),
  },
  geometry: (v) => v,
  visionConfigJson: (v) => ({
    depth: v.depth,
    hidden_act: 'silu',
    hidden_size: v.embedDim,
    intermediate_size: v.intermediateSize,
    num_heads: v.numHeads,
    in_chans: v.inChannels,
    out_hidden_size: v.outHiddenSize,
    patch_size: v.patchSize,
    spatial_merge_size: v.spatialMergeSize,
    spatial_patch_size: v.patchSize,
    window_size: v.windowSize,
    fullatt_block_indexes: [...v.fullAttentionBlocks],
    tokens_per_second: 2,
    temporal_patch_size: v.temporalPatchSize,
  }),
  visionShapes: visionWeightShapes,
  craftVision(v, ctx) {
    const vision = new Map<string, TinyWeight>();
    const e = v.embedDim;
    const m = v.intermediateSize;
    const columns = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize;
    const brightnessScale = 1.5;
    const vs = Math.sqrt(64 / e);
    const depthScale = Math.sqrt(2 / v.depth);
    const patch = new TinyWeight([e, v.inChannels, v.temporalPatchSize, v.patchSize, v.patchSize], ctx.rnd(0.01));
    patch.data.fill(brightnessScale / columns, 0, columns);
    vision.set('patch_embed.proj.weight', patch);
    for (let b = 0; b < v.depth; b++) {
      const p = `blocks.${b}.`;
      vision.set(`${p}norm1.weight`, TinyWeight.filled([e], 1));
      vision.set(`${p}norm2.weight`, TinyWeight.filled([e], 1));
      vision.set(`${p}attn.qkv.weight`, new TinyWeight([3 * e, e], ctx.rnd(0.05 * vs)));
      vision.set(`${p}attn.qkv.bias`, new TinyWeight([3 * e]));
      vision.set(`${p}attn.proj.weight`, new TinyWeight([e, e], ctx.rnd(0.02 * vs * depthScale)).zeroRows([0]));
      const projBias = new TinyWeight([e]);
      if (b === 0) projBias.data[0] = -brightnessScale * ctx.brightLevel;
      vision.set(`${p}attn.proj.bias`, projBias);
      vision.set(`${p}mlp.gate_proj.weight`, new TinyWeight([m, e], ctx.rnd(0.05 * vs)));
      vision.set(`${p}mlp.gate_proj.bias`, new TinyWeight([m]));
      vision.set(`${p}mlp.up_proj.weight`, new TinyWeight([m, e], ctx.rnd(0.05 * vs)));
      vision.set(`${p}mlp.up_proj.bias`, new TinyWeight([m]));
      vision.set(`${p}mlp.down_proj.weight`, new TinyWeight([e, m], ctx.rnd(0.2 * vs * depthScale)).zeroRows([0]));
      vision.set(`${p}mlp.down_proj.bias`, new TinyWeight([e]));
    }
    craftTinyMerger(v, ctx, vision, {
      vs,
      layerNormBias: false,
      white: (weights) => whiteMergeUnit((pixelValues, gridThw, rounded) => referenceQwen25VlVision({ config: v, weights: rounded, pixelValues, gridThw }), v, weights, ctx.imageSinkDim),
    });
    return vision;
  },
};

/**
 * Write a tiny Qwen2.5-VL checkpoint in the released layout: the crafted
 * language model, tokenizer and processor of `writeTinyQwen2VlCheckpoint`
 * (the first token a sink, heads of three kinds) with Qwen2.5-VL's tower
 * ({@link QWEN2_5_VL_TINY_TOWER}): merge units of four white 14-px patches
 * become visual sinks (see `tinyQwen2VlTestImage`).
 */
export function writeTinyQwen25VlCheckpoint(
  dir: string,
  options: Omit<TinyQwen2VlCheckpointOptions<Qwen25VlVisionConfig>, 'tower'> = {},
): Promise<TinyQwen2VlCheckpoint<Qwen25VlVisionConfig>> {
  return writeTinyQwen2VlCheckpoint(dir, { ...options, tower: QWEN2_5_VL_TINY_TOWER });
}
