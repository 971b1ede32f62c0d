import { type WeightNaming, type WeightSource, assertWeights } from '@vasink/transformer-graph';
import { type LlavaConfig, visionGridSize, visionLayersUsed } from './llava-config.js';

/** Canonical name prefix of the CLIP vision tower's tensors (Hugging Face `CLIPVisionModel` names). */
export const VISION_PREFIX = 'vision_model.';
/** Canonical name prefix of the projector's tensors (llava-hf names: `linear_1`, `linear_2`, …). */
export const PROJECTOR_PREFIX = 'multi_modal_projector.';

/** Canonical name of LLaVA-NeXT's learned row separator `[text hidden]` (stored beside the projector: `image_newline`, `model.image_newline`). */
export const IMAGE_NEWLINE = 'image_newline';

/** Canonical name of the projector's k-th linear map (0-based): `multi_modal_projector.linear_{k+1}`. */
export function projectorLinearName(k: number): string {
  return `${PROJECTOR_PREFIX}linear_${k + 1}`;
}

/**
 * The tensors the vision graph reads, canonical names → shapes: the CLIP
 * embeddings, `pre_layrnorm`, the encoder layers the feature layer needs
 * (later layers and `post_layernorm` are never read), the projector, and
 * LLaVA-NeXT's `image_newline`.
 */
export function visionWeightShapes(config: Pick<LlavaConfig, 'vision' | 'visionFeatureLayer' | 'projector' | 'text' | 'anyres'>): Map<string, readonly number[]> {
  const { hiddenSize: d, intermediateSize: inner, patchSize: p, numChannels: c } = config.vision;
  const grid = visionGridSize(config.vision);
  const shapes = new Map<string, readonly number[]>();
  const v = VISION_PREFIX;
  shapes.set(`${v}embeddings.patch_embedding.weight`, [d, c, p, p]);
  shapes.set(`${v}embeddings.class_embedding`, [d]);
  shapes.set(`${v}embeddings.position_embedding.weight`, [grid * grid + 1, d]);
  shapes.set(`${v}pre_layrnorm.weight`, [d]);
  shapes.set(`${v}pre_layrnorm.bias`, [d]);
  for (let l = 0; l < visionLayersUsed(config); l++) {
    const prefix = `${v}encoder.layers.${l}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes.set(`${prefix}self_attn.${proj}.weight`, [d, d]);
      shapes.set(`${prefix}self_attn.${proj}.bias`, [d]);
    }
    for (const norm of ['layer_norm1', 'layer_norm2']) {
      shapes.set(`${prefix}${norm}.weight`, [d]);
      shapes.set(`${prefix}${norm}.bias`, [d]);
    }
    shapes.set(`${prefix}mlp.fc1.weight`, [inner, d]);
    shapes.set(`${prefix}mlp.fc1.bias`, [inner]);
    shapes.set(`${prefix}mlp.fc2.weight`, [d, inner]);
    shapes.set(`${prefix}mlp.fc2.bias`, [d]);
  }
  const text = config.text.hiddenSize;
  for (let k = 0; k < config.projector.linearLayers; k++) {
    const name = projectorLinearName(k);
    shapes.set(`${name}.weight`, [text, k === 0 ? d : text]);
    if (config.projector.bias) shapes.set(`${name}.bias`, [text]);
  }
  if (config.anyres) shapes.set(IMAGE_NEWLINE, [text]);
  return shapes;
}

/** Where the vision graph's tensors come from: the tower and the projector may live in different checkpoints (original release). */
export interface VisionWeightSources {
  vision: { source: WeightSource; naming: WeightNaming };
  projector: { source: WeightSource; naming: WeightNaming };
}

/** The source and source-side name of a canonical vision-graph tensor. */
export function visionWeightLocation(sources: VisionWeightSources, canonical: string): { source: WeightSource; name: string } {
  const side = canonical.startsWith(PROJECTOR_PREFIX) || canonical === IMAGE_NEWLINE ? sources.projector : sources.vision;
  return { source: side.source, name: side.naming(canonical) };
}

/**
 * Check that every tensor the vision graph needs exists with the config's
 * shape and a floating dtype — before any graph is built. Throws
 * WeightMismatchError listing every problem.
 */
export async function assertVisionWeights(
  config: Pick<LlavaConfig, 'vision' | 'visionFeatureLayer' | 'projector' | 'text' | 'anyres'>,
  sources: VisionWeightSources,
): Promise<void> {
  await assertWeights({
    shapes: visionWeightShapes(config),
    locate: (canonical) => visionWeightLocation(sources, canonical),
    what: 'vision tower / projector weights',
  });
}
