import { type TypedTensor, createTensor } from '@vasink/tensor';
import type { LlavaConfig } from './llava-config.js';
import { createRandom } from './random.js';
import { VISION_PREFIX, visionWeightShapes } from './vision-weights.js';

/**
 * Random float32 vision tower + projector weights under canonical names (for
 * tests and demos): norms ≈ 1, biases and projections ~ N(0, scale²),
 * embeddings ~ N(0, 1). With `complete`, also the encoder layers past the
 * feature layer and `post_layernorm`, which real checkpoints carry unused.
 */
export function randomLlavaVisionWeights(
  config: Pick<LlavaConfig, 'vision' | 'visionFeatureLayer' | 'projector' | 'text' | 'anyres'>,
  options: { seed?: number; scale?: number; complete?: boolean } = {},
): Map<string, TypedTensor> {
  const random = createRandom(options.seed ?? 7);
  const scale = options.scale ?? 0.1;
  let shapes = visionWeightShapes(config);
  if (options.complete) {
    shapes = visionWeightShapes({ ...config, visionFeatureLayer: config.vision.numLayers });
    const d = config.vision.hiddenSize;
    shapes.set(`${VISION_PREFIX}post_layernorm.weight`, [d]);
    shapes.set(`${VISION_PREFIX}post_layernorm.bias`, [d]);
  }
  const weights = new Map<string, TypedTensor>();
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = /(layrnorm|layernorm|layer_norm\d)\.weight$/.test(name);
    const isEmbedding = name.includes('embeddings.class_embedding') || name.includes('position_embedding');
    random.fillNormal(data, isNormWeight ? 0.1 : isEmbedding ? 1 : scale);
    if (isNormWeight) for (let i = 0; i < data.length; i++) data[i] = 1 + (data[i] as number);
    weights.set(name, createTensor('float32', shape, data));
  }
  return weights;
}
