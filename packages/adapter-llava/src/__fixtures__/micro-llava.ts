// Micro LLaVA checkpoints for the layout, conversion and error tests: the
// real file layouts and tokenizer, with a 32-wide decoder and 4 image tokens.
import type { TypedTensor } from '@vasink/tensor';
import { type DecoderConfig, randomDecoderWeights } from '@vasink/transformer-graph';
import type { ClipVisionConfig } from '../llava-config.js';
import type { LlavaLayout } from '../llava-checkpoint.js';
import { randomLlavaVisionWeights } from '../random-vision-weights.js';
import { type WriteLlavaCheckpointOptions, writeLlavaCheckpoint } from '../write-llava-checkpoint.js';

export const MICRO_TEXT: DecoderConfig = {
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 2,
  headDim: 16,
  intermediateSize: 64,
  vocabSize: 32064,
  rmsNormEps: 1e-5,
  rope: { type: 'default', theta: 10000 },
  attentionBias: false,
  tieWordEmbeddings: false,
};

export const MICRO_VISION: ClipVisionConfig = {
  hiddenSize: 16,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 32,
  imageSize: 28,
  patchSize: 14,
  numChannels: 3,
  layerNormEps: 1e-5,
  hiddenAct: 'quick_gelu',
};

/** The same random weights for every layout. */
export function microWeights(seed = 5): { decoderWeights: Map<string, TypedTensor>; visionWeights: Map<string, TypedTensor> } {
  const projector = { linearLayers: 2, activation: 'gelu' as const, bias: true };
  return {
    decoderWeights: randomDecoderWeights(MICRO_TEXT, { seed, scale: 0.2 }),
    visionWeights: randomLlavaVisionWeights({ text: MICRO_TEXT, vision: MICRO_VISION, visionFeatureLayer: -2, projector }, { seed: seed + 1, complete: true, scale: 0.2 }),
  };
}

/** Write a micro checkpoint in `layout` (the original layout's CLIP tower goes to `${dir}-clip`). */
export async function writeMicroLlava(
  dir: string,
  layout: LlavaLayout,
  overrides: Partial<WriteLlavaCheckpointOptions> & { weights?: ReturnType<typeof microWeights> } = {},
): Promise<{ dir: string; visionTower: string | undefined }> {
  const { weights = microWeights(), ...rest } = overrides;
  const visionTower = layout === 'original' ? `${dir}-clip` : undefined;
  await writeLlavaCheckpoint(dir, {
    layout,
    text: MICRO_TEXT,
    vision: MICRO_VISION,
    ...weights,
    dtype: 'float32',
    ...(visionTower ? { visionTowerDir: visionTower } : {}),
    ...rest,
  });
  return { dir, visionTower };
}
