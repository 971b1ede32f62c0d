import { seededRandom } from '@vasink/test-utils';
import type { DecoderConfig } from '@vasink/transformer-graph';
import { tinyConfig } from '@vasink/transformer-graph/testing';
import { VAR_PRESETS, type VarConfig } from '@vasink/var';
import type { DecoderPromptRow } from '../decoder-batch.js';

/** A 4-layer decoder small enough to run hundreds of steps in a test (the transformer-graph tests' tiny decoder, vocabulary 60). */
export const PLANTED_DECODER_CONFIG: DecoderConfig = tinyConfig({ vocabSize: 60 });
/** Dimensions the planted sinks are massive in. */
export const PLANTED_SINK_DIMS = [7, 40];
/** Token ids as text: `<12><7>`. */
export const idTokenizer = { decode: (ids: readonly number[]) => ids.map((id) => `<${id}>`).join('') };
/** The presets with τ lowered to the planted sinks' scale. */
export const plantedPresets = { hallucination: { ...VAR_PRESETS.hallucination, tau: 5 }, general: { ...VAR_PRESETS.general, tau: 5 } } satisfies Record<string, VarConfig>;

/** A prompt of random embeddings with sinks planted at token 0 and two image tokens (dim 7), an image span, VAR settings. */
export function plantedPrompt(seed: number, tokens: number, imageStart: number, imageLength: number, settings?: VarConfig): DecoderPromptRow {
  const d = PLANTED_DECODER_CONFIG.hiddenSize;
  const random = seededRandom(seed);
  const embeds = new Float32Array(tokens * d).map(() => random() - 0.5);
  const imageMask = new Uint8Array(tokens);
  for (let t = imageStart; t < imageStart + imageLength; t++) imageMask[t] = 1;
  for (const t of [0, imageStart + 1, imageStart + 4]) embeds[t * d + 7] = 30;
  return { embeds, imageMask, ...(settings ? { var: settings } : {}) };
}
