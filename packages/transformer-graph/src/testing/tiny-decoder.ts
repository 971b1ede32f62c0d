// A tiny random decoder with sinks planted in the embeddings, for parity tests.
import { type Float32Tensor, type TypedTensor, createTensor, seededUniform } from '@vasink/tensor';
import type { DecoderConfig } from '../decoder-config.js';
import { randomDecoderWeights } from '../random-weights.js';

/** The hidden dimension carrying the planted massive activation. */
export const SINK_DIM = 7;

/** A 4-layer, 64-wide LLaMA-style decoder config (GQA 4/2, vocabulary 50). */
export function tinyConfig(overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  return {
    hiddenSize: 64,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    intermediateSize: 96,
    vocabSize: 50,
    rmsNormEps: 1e-6,
    rope: { type: 'default', theta: 10000 },
    attentionBias: false,
    tieWordEmbeddings: false,
    ...overrides,
  };
}

/** Seeded random float32 weights for `config`. */
export function tinyWeights(config: DecoderConfig, seed = 1): Map<string, TypedTensor> {
  return randomDecoderWeights(config, { seed });
}

/** Left-padded rows: [pad…, BOS, text, image…, text…]; BOS and some image tokens carry a massive activation. */
export interface TinyPrompt {
  batch: number;
  tokens: number;
  embeds: Float32Tensor;
  attentionMask: BigInt64Array;
  imageMask: Uint8Array;
  positionIds: BigInt64Array;
}

/** A left-padded batch of prompts with an image span and planted sinks (BOS and every third image token). */
export function tinyPrompt(options: { config: DecoderConfig; padding: readonly number[]; tokens: number; imageStart: readonly number[]; imageLength: number; seed?: number; mrope?: boolean }): TinyPrompt {
  const { config, padding, tokens, imageStart, imageLength } = options;
  const random = seededUniform(options.seed ?? 7);
  const batch = padding.length;
  const d = config.hiddenSize;
  const embeds = new Float32Array(batch * tokens * d);
  const attentionMask = new BigInt64Array(batch * tokens);
  const imageMask = new Uint8Array(batch * tokens);
  const positions = new BigInt64Array(batch * tokens);
  for (let b = 0; b < batch; b++) {
    const pad = padding[b] as number;
    const start = pad + (imageStart[b] as number);
    for (let t = 0; t < tokens; t++) {
      const i = b * tokens + t;
      for (let k = 0; k < d; k++) embeds[i * d + k] = (random() * 2 - 1) * 0.5;
      if (t < pad) {
        positions[i] = 1n;
        continue;
      }
      attentionMask[i] = 1n;
      positions[i] = BigInt(t - pad);
      const isImage = t >= start && t < start + imageLength;
      imageMask[i] = isImage ? 1 : 0;
      if (t === pad || (isImage && (t - start) % 3 === 1)) embeds[i * d + SINK_DIM] = 30;
    }
  }
  const positionIds = options.mrope ? new BigInt64Array([...positions, ...positions, ...positions]) : positions;
  return { batch, tokens, embeds: createTensor('float32', [batch, tokens, d], embeds), attentionMask, imageMask, positionIds };
}
