import { GraphBuilder, type ModelProto, type Value } from '@vasink/onnx-graph';
import type { TypedTensor } from '@vasink/tensor';
import { type WeightSource, type WeightStore, emitLinear } from '@vasink/transformer-graph';
import { type LlavaActivation, type LlavaConfig, llavaTokensPerImage, visionGridSize, visionLayersUsed } from './llava-config.js';
import { IMAGE_NEWLINE, VISION_PREFIX, type VisionWeightSources, projectorLinearName, visionWeightLocation } from './vision-weights.js';

/** Names of the vision graph's input and output. */
export const VISION_IO = {
  /** `[images, 3, S, S]` float32, CLIP-normalised (float32 also for float16 graphs). */
  pixelValues: 'pixel_values',
  /**
   * LLaVA-NeXT only: `[image tokens]` int64, each image token's row in the
   * projected tile features (tile-major, `tile · P + patch`) with
   * `tiles · P` naming `image_newline` — see `anyresFeatureOrder`.
   */
  featureOrder: 'feature_order',
  /** `[image tokens, text hidden]` in the graph's dtype. */
  imageFeatures: 'image_features',
} as const;

/** The config fields the vision graph needs. */
export type LlavaVisionGraphConfig = Pick<LlavaConfig, 'vision' | 'visionFeatureLayer' | 'visionFeatureSelectStrategy' | 'projector' | 'text' | 'anyres'>;

export interface LlavaVisionGraphOptions {
  config: LlavaVisionGraphConfig;
  /** Canonical vision weights (`vision_model.*`, `multi_modal_projector.linear_k.*`); see `visionWeightSource`. */
  weights: WeightStore;
  producerName?: string;
}

/**
 * One WeightSource over the vision graph's canonical names, reading each
 * tensor from wherever it lives (the tower and the projector may sit in
 * different checkpoints), so one WeightStore serves the whole graph.
 */
export function visionWeightSource(sources: VisionWeightSources): WeightSource {
  return {
    describe(canonical) {
      const { source, name } = visionWeightLocation(sources, canonical);
      return source.describe(name);
    },
    read(canonical): Promise<TypedTensor> {
      const { source, name } = visionWeightLocation(sources, canonical);
      return source.read(name);
    },
  };
}

/** An activation on float32 values (float16 graphs widen first: erf/tanh/sigmoid stay exact). */
export function emitActivation(g: GraphBuilder, x: Value, activation: LlavaActivation): Value {
  switch (activation) {
    case 'quick_gelu':
      return g.mul(x, g.sigmoid(g.mul(x, 1.702)));
    case 'gelu':
      return g.mul(g.mul(x, 0.5), g.add(g.erf(g.mul(x, Math.SQRT1_2)), 1));
    case 'gelu_pytorch_tanh': {
      const inner = g.mul(g.add(x, g.mul(g.mul(g.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
      return g.mul(g.mul(x, 0.5), g.add(g.tanh(inner), 1));
    }
  }
}

/**
 * The LLaVA-1.5 vision graph: CLIP ViT embeddings (patch projection without
 * bias, class embedding, position embedding), `pre_layrnorm`, the encoder
 * layers up to `vision_feature_layer` (pre-norm attention with
 * `head_dim^-0.5` scaling, MLP with the config's activation), the CLS token
 * dropped (`'default'`), then the projector (linear → GELU → linear).
 *
 * Input `pixel_values [images, 3, S, S]` float32; output
 * `image_features [images · P, text hidden]` with P = (S / patch)² — one
 * row per image token, images in order. float16 graphs keep LayerNorm,
 * softmax and activations in float32.
 *
 * LLaVA-NeXT (`config.anyres`): `pixel_values` holds every tile (each
 * image's base view, then its tiles), and the output is the projected tile
 * features with `image_newline` appended, gathered by the `feature_order`
 * input — `pack_image_features`' unpadding and newline insertion as one Gather.
 */
export async function buildLlavaVisionGraph(options: LlavaVisionGraphOptions): Promise<ModelProto> {
  const { config, weights } = options;
  const { vision } = config;
  const dtype = weights.dtype;
  const { hiddenSize: d, numHeads: heads, patchSize: p, imageSize: size, numChannels: channels } = vision;
  const grid = visionGridSize(vision);
  const tokens = grid * grid + 1;
  const headDim = d / heads;
  const g = new GraphBuilder({ name: 'llava_vision' });
  const widen = (x: Value) => (dtype === 'float32' ? x : g.cast(x, 'float32'));
  const narrow = (x: Value) => (dtype === 'float32' ? x : g.cast(x, dtype));
  const v = VISION_PREFIX;

  const linear = async (x: Value, name: string, bias: boolean) => {
    const w = await weights.loadLinear(g, `${name}.weight`);
    const b = bias ? await weights.load(g, `${name}.bias`) : undefined;
    return emitLinear(g, x, w, b, { dtype });
  };
  const layerNorm = async (x: Value, name: string) => {
    const w = await weights.load(g, `${name}.weight`, { dtype: 'float32' });
    const b = await weights.load(g, `${name}.bias`, { dtype: 'float32' });
    return g.scope(name, () => narrow(g.op('LayerNormalization', [widen(x), w, b], { axis: -1, epsilon: { float: vision.layerNormEps } }, { dtype: 'float32' })));
  };
  const activate = (x: Value, activation: LlavaActivation) => narrow(emitActivation(g, widen(x), activation));

  const pixels = g.input(VISION_IO.pixelValues, 'float32', ['images', channels, size, size]);
  const images = g.shape(pixels, { start: 0, end: 1 });

  // Patch embedding as one matrix product: [n, c, G, p, G, p] → [n·G², c·p·p] against the conv kernel [d, c·p·p].
  const patchWeight = g.reshape(await weights.load(g, `${v}embeddings.patch_embedding.weight`), [d, channels * p * p]);
  const patchEmbeds = g.scope('patch_embedding', () => {
    const blocks = g.transpose(g.reshape(narrow(pixels), [-1, channels, grid, p, grid, p]), [0, 2, 4, 1, 3, 5]);
    const flat = g.reshape(blocks, [-1, channels * p * p]);
    return g.reshape(emitLinear(g, flat, { kind: 'float', weight: patchWeight }, undefined, { dtype }), [-1, grid * grid, d]);
  });
  const classEmbedding = await weights.load(g, `${v}embeddings.class_embedding`);
  const positions = await weights.load(g, `${v}embeddings.position_embedding.weight`);
  const embeddings = g.scope('embeddings', () => {
    const cls = g.expand(g.reshape(classEmbedding, [1, 1, d]), g.concat([images, g.ints([1, d])], 0));
    return g.reshape(g.add(g.concat([cls, patchEmbeds], 1), positions), [-1, d]);
  });
  let hidden = await layerNorm(embeddings, `${v}pre_layrnorm`);

  for (let l = 0; l < visionLayersUsed(config); l++) {
    const prefix = `${v}encoder.layers.${l}`;
    const normed = await layerNorm(hidden, `${prefix}.layer_norm1`);
    const q = await linear(normed, `${prefix}.self_attn.q_proj`, true);
    const k = await linear(normed, `${prefix}.self_attn.k_proj`, true);
    const value = await linear(normed, `${prefix}.self_attn.v_proj`, true);
    const context = g.scope(`${prefix}.self_attn`, () => {
      // [n·T, d] → [n, heads, T, hd]
      const split = (x: Value) => g.transpose(g.reshape(x, [-1, tokens, heads, headDim]), [0, 2, 1, 3]);
      const scores = g.matMul(split(g.mul(q, headDim ** -0.5)), g.transpose(split(k), [0, 1, 3, 2]));
      const probs = narrow(g.softmax(widen(scores), -1));
      return g.reshape(g.transpose(g.matMul(probs, split(value)), [0, 2, 1, 3]), [-1, d]);
    });
    hidden = g.add(hidden, await linear(context, `${prefix}.self_attn.out_proj`, true));
    const mlpIn = await layerNorm(hidden, `${prefix}.layer_norm2`);
    const inner = activate(await linear(mlpIn, `${prefix}.mlp.fc1`, true), vision.hiddenAct);
    hidden = g.add(hidden, await linear(inner, `${prefix}.mlp.fc2`, true));
  }

  // hidden_states[vision_feature_layer], CLS dropped for 'default'.
  let features =
    config.visionFeatureSelectStrategy === 'default'
      ? g.reshape(g.slice(g.reshape(hidden, [-1, tokens, d]), [1], [tokens], [1]), [-1, d])
      : hidden;
  for (let k = 0; k < config.projector.linearLayers; k++) {
    if (k > 0) features = activate(features, config.projector.activation);
    features = await linear(features, projectorLinearName(k), config.projector.bias);
  }
  if (config.anyres) {
    const order = g.input(VISION_IO.featureOrder, 'int64', ['image_tokens']);
    const newline = g.reshape(await weights.load(g, IMAGE_NEWLINE), [1, config.text.hiddenSize]);
    features = g.scope('pack_image_features', () => g.gather(g.concat([features, newline], 0), order, 0));
  }
  g.output(features, { name: VISION_IO.imageFeatures, dtype, dims: ['image_tokens', config.text.hiddenSize] });
  return g.build({
    producerName: options.producerName ?? 'vasink',
    metadata: { 'vasink.tokens_per_image': config.anyres ? 'anyres' : String(llavaTokensPerImage(config)) },
  });
}
