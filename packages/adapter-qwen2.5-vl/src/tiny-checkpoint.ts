import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { type TinyQwen2VlCheckpoint, type TinyQwen2VlCheckpointOptions, type TinyQwenTower, TinyWeight, writeTinyQwen2VlCheckpoint } from '@vasink/adapter-qwen2-vl';
import { bfloat16BitsToFloat32, createTensor, float32ToBfloat16Bits } from '@vasink/tensor';
import { QWEN2_5_VL_ARCHITECTURE, type Qwen25VlVisionConfig, visionWeightShapes } from './config.js';
import { referenceQwen25VlVision } from './vision-reference.js';

const bf16 = (x: number) => bfloat16BitsToFloat32(float32ToBfloat16Bits(x));

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
    vision.set('merger.ln_q.weight', TinyWeight.filled([e], 1));
    const merge = v.spatialMergeSize ** 2;
    const merged = e * merge;
    const threshold = 4;
    const up = new TinyWeight([merged, merged], ctx.rnd(0.05 * vs));
    up.zeroColumns(Array.from({ length: merge }, (_, k) => k * e)).zeroRows([0]);
    for (let k = 0; k < merge; k++) up.set(0, k * e, 1);
    const upBias = new TinyWeight([merged]);
    upBias.data[0] = -threshold;
    vision.set('merger.mlp.0.weight', up);
    vision.set('merger.mlp.0.bias', upBias);
    const down = new TinyWeight([ctx.textHiddenSize, merged], ctx.rnd(0.032 * vs)).zeroRows(ctx.exactRoles).zeroColumns([0]);
    const downBias = new TinyWeight([ctx.textHiddenSize]);
    downBias.data[ctx.roles.one] = 1;
    downBias.data[ctx.roles.image] = ctx.imageFeatureValue;
    vision.set('merger.mlp.2.weight', down);
    vision.set('merger.mlp.2.bias', downBias);
    // Calibrate the visual sink on one white merge unit (bfloat16-rounded weights, as stored).
    down.set(ctx.imageSinkDim, 0, 1);
    const white = whiteUnit(v, vision, ctx.imageSinkDim);
    if (!(white > 0.5)) throw new Error(`tiny Qwen2.5-VL checkpoint: a white merge unit reaches only ${white} in the image sink dim; the crafted tower is broken`);
    down.set(ctx.imageSinkDim, 0, ctx.imageSinkActivation / white);
    return vision;
  },
};

/** The image-sink dim the tower gives one merge unit of white patches. */
function whiteUnit(config: Qwen25VlVisionConfig, weights: ReadonlyMap<string, TinyWeight>, dim: number): number {
  const columns = config.inChannels * config.temporalPatchSize * config.patchSize * config.patchSize;
  const perChannel = columns / config.inChannels;
  const patch = Float32Array.from({ length: columns }, (_, i) => {
    const c = Math.floor(i / perChannel);
    return (1 - (CLIP_MEAN[c] as number)) / (CLIP_STD[c] as number);
  });
  const merge = config.spatialMergeSize ** 2;
  const pixelValues = new Float32Array(merge * columns);
  for (let k = 0; k < merge; k++) pixelValues.set(patch, k * columns);
  const rounded = new Map([...weights].map(([name, w]) => [name, createTensor('float32', w.shape, w.data.map(bf16))]));
  const features = referenceQwen25VlVision({ config, weights: rounded, pixelValues, gridThw: [[1, config.spatialMergeSize, config.spatialMergeSize]] });
  return features[dim] as number;
}

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
