import { type WeightNaming, type WeightSource, assertWeights } from '@vasink/transformer-graph';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';

/**
 * How a checkpoint names its tensors:
 * - `legacy` (the released Qwen2-VL checkpoints): `model.layers.N…`,
 *   `model.embed_tokens`, `model.norm`, `lm_head`, `visual.…`;
 * - `current` (transformers ≥ 4.52 `save_pretrained`): `model.language_model.…`,
 *   `model.visual.…`, `lm_head`.
 */
export type Qwen2VlTensorLayout = 'legacy' | 'current';

const PREFIXES: Record<Qwen2VlTensorLayout, { text: string; vision: string }> = {
  legacy: { text: 'model.', vision: 'visual.' },
  current: { text: 'model.language_model.', vision: 'model.visual.' },
};

/** The layout a checkpoint uses, from the name of its token embedding; undefined when neither is found. */
export function detectTensorLayout(names: Iterable<string>): Qwen2VlTensorLayout | undefined {
  const all = new Set(names);
  if (all.has('model.language_model.embed_tokens.weight')) return 'current';
  if (all.has('model.embed_tokens.weight')) return 'legacy';
  return undefined;
}

/** Canonical decoder weight name (`layers.0.mlp.up_proj.weight`) → checkpoint name. */
export function decoderNaming(layout: Qwen2VlTensorLayout): WeightNaming {
  const prefix = PREFIXES[layout].text;
  return (canonical) => (canonical === 'lm_head.weight' ? canonical : `${prefix}${canonical}`);
}

/** Canonical vision weight name (`blocks.0.attn.qkv.weight`, relative to the tower) → checkpoint name. */
export function visionNaming(layout: Qwen2VlTensorLayout): WeightNaming {
  const prefix = PREFIXES[layout].vision;
  return (canonical) => `${prefix}${canonical}`;
}

/** The tensors of the vision tower and merger, canonical names relative to the tower (`patch_embed.proj.weight`, ...). */
export function visionWeightShapes(config: Qwen2VlVisionConfig): Map<string, readonly number[]> {
  const { embedDim: e, mlpHiddenSize: m, spatialMergeSize: s, outHiddenSize: d } = config;
  const shapes = new Map<string, readonly number[]>();
  shapes.set('patch_embed.proj.weight', [e, config.inChannels, config.temporalPatchSize, config.patchSize, config.patchSize]);
  for (let b = 0; b < config.depth; b++) {
    const p = `blocks.${b}.`;
    shapes.set(`${p}norm1.weight`, [e]);
    shapes.set(`${p}norm1.bias`, [e]);
    shapes.set(`${p}attn.qkv.weight`, [3 * e, e]);
    shapes.set(`${p}attn.qkv.bias`, [3 * e]);
    shapes.set(`${p}attn.proj.weight`, [e, e]);
    shapes.set(`${p}attn.proj.bias`, [e]);
    shapes.set(`${p}norm2.weight`, [e]);
    shapes.set(`${p}norm2.bias`, [e]);
    shapes.set(`${p}mlp.fc1.weight`, [m, e]);
    shapes.set(`${p}mlp.fc1.bias`, [m]);
    shapes.set(`${p}mlp.fc2.weight`, [e, m]);
    shapes.set(`${p}mlp.fc2.bias`, [e]);
  }
  const merged = e * s * s;
  shapes.set('merger.ln_q.weight', [e]);
  shapes.set('merger.ln_q.bias', [e]);
  shapes.set('merger.mlp.0.weight', [merged, merged]);
  shapes.set('merger.mlp.0.bias', [merged]);
  shapes.set('merger.mlp.2.weight', [d, merged]);
  shapes.set('merger.mlp.2.bias', [d]);
  return shapes;
}

/**
 * Check that the source holds every vision tensor with its shape and a
 * floating dtype; throws WeightMismatchError listing every problem.
 */
export async function assertVisionWeights(config: Qwen2VlVisionConfig, source: WeightSource, naming: WeightNaming = (n) => n): Promise<void> {
  await assertWeights({ shapes: visionWeightShapes(config), locate: (canonical) => ({ source, name: naming(canonical) }), what: 'vision weights' });
}
