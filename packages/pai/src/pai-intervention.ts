import { createTensor } from '@vasink/tensor';
import type { AttentionIntervention, AttentionMethod, ContrastSettings } from '@vasink/transformer-graph';
import { emitPaiScores, emitPaiShared } from './pai-scores-graph.js';
import { paiScores } from './pai-scores.js';
import { PAI_DEFAULTS, type PaiSettings, paiAlphaRows, paiSettings, validatePaiSettings } from './pai-settings.js';

declare module '@vasink/transformer-graph' {
  interface InterventionSettingsMap {
    /** PAI's attention part (ECCV 2024): the last query's image-key logits a ← a + α·|a|. */
    pai: PaiSettings;
  }
}

/** PAI's decoder input: `[batch, layers]` float32 α per row and layer (0 = off). */
export const PAI_IO = { alpha: 'pai_alpha' } as const;

/** PAI's attention edit as an attention intervention (before each softmax). */
export const paiIntervention: AttentionIntervention<'pai'> = {
  name: 'pai',
  label: 'PAI',
  inputNames: [PAI_IO.alpha],
  validate: (settings, model) => void validatePaiSettings(settings, model.numLayers),
  emit({ g, config, imageMask, newTokens }) {
    const alpha = g.input(PAI_IO.alpha, 'float32', ['batch', config.numLayers]);
    const shared = emitPaiShared(g, { imageMask, newTokens });
    return {
      beforeSoftmax: (scores, { layer }) => g.scope(`pai_layer_${layer}`, () => emitPaiScores(g, shared, { scores, alpha: g.gather(alpha, layer, 1) })),
    };
  },
  feeds: (step, rows) => ({ [PAI_IO.alpha]: createTensor('float32', [step.batch, step.model.numLayers], paiAlphaRows(rows, step.model.numLayers)) }),
  reference(step, rows) {
    const L = step.model.numLayers;
    const alpha = paiAlphaRows(rows, L);
    return {
      beforeSoftmax: (scores, { layer }) =>
        paiScores({ scores, imageMask: step.imageMask, alpha: Array.from({ length: step.batch }, (_, b) => alpha[b * L + layer] as number) }),
    };
  },
};

/**
 * PAI as users pick it: the attention edit plus its text-only contrast,
 * `γ·(log p(y∣v,x) − log p(y∣x)) + log p(y∣x)` = contrast α = γ − 1 over a
 * row without the image, cutoff log 0.1 + max (LALBJ/PAI `CFG.py`).
 */
export const paiMethod: AttentionMethod = {
  name: 'pai',
  label: 'PAI',
  paper: 'Liu et al., Paying More Attention to Image (ECCV 2024)',
  repository: 'https://github.com/LALBJ/PAI',
  edits: "pre-softmax logits of the last query on image keys, a ← a + α·|a|, layers [2, L); next-token log-probs against a text-only row",
  parameters: `α ${PAI_DEFAULTS.alpha}, layers [${PAI_DEFAULTS.startLayer}, L), γ ${PAI_DEFAULTS.gamma}, cutoff ${PAI_DEFAULTS.beta}`,
  cost: '3 elementwise ops per layer on the scores; one extra batch row (the prompt without the image)',
  batchRows: 2,
  intervention: paiIntervention,
  defaults: (model) => ({
    pai: paiSettings(model),
    contrast: paiContrast(),
  }),
  describe: ({ pai, contrast }) => {
    const parts = [
      ...(pai ? [`PAI α=${pai.alpha} layers ${pai.layers.start}–${pai.layers.end - 1}`] : []),
      ...(contrast?.counterpart === 'text-only' ? [`γ=${+(1 + contrast.alpha).toFixed(4)} vs the text-only prompt`] : []),
    ];
    return parts.length > 0 ? parts.join(', ') : undefined;
  },
};

/** PAI's text-only contrast for a guidance scale γ (contrast α = γ − 1; γ = 1 is none). */
export function paiContrast(gamma: number = PAI_DEFAULTS.gamma): ContrastSettings {
  return { counterpart: 'text-only', alpha: gamma - 1, beta: PAI_DEFAULTS.beta, logSoftmax: true };
}
