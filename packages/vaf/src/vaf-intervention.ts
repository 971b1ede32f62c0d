import { createTensor } from '@vasink/tensor';
import type { AttentionIntervention, AttentionMethod } from '@vasink/transformer-graph';
import { emitVafScores, emitVafShared } from './vaf-scores-graph.js';
import { vafScores } from './vaf-scores.js';
import { VAF_DEFAULTS, type VafSettings, vafScaleRows, vafSettings, validateVafSettings } from './vaf-settings.js';

declare module '@vasink/transformer-graph' {
  interface InterventionSettingsMap {
    /** VAF / ClearSight (CVPR 2025): image-key logits × (1 + β), system-prompt-key logits × (1 − α). */
    vaf: VafSettings;
  }
}

/** VAF's decoder input: `[batch, layers, 2]` float32 (β, −α) per row and layer (0 = off). */
export const VAF_IO = { scales: 'vaf_scales' } as const;

/** VAF as an attention intervention (before each softmax). */
export const vafIntervention: AttentionIntervention<'vaf'> = {
  name: 'vaf',
  label: 'VAF',
  inputNames: [VAF_IO.scales],
  validate: (settings, model) => void validateVafSettings(settings, model.numLayers),
  emit({ g, config, imageMask, attentionMask, newTokens }) {
    const scales = g.input(VAF_IO.scales, 'float32', ['batch', config.numLayers, 2]);
    const shared = emitVafShared(g, { imageMask, attentionMask, newTokens });
    return {
      beforeSoftmax: (scores, { layer }) => g.scope(`vaf_layer_${layer}`, () => emitVafScores(g, shared, { scores, scales: g.gather(scales, layer, 1) })),
    };
  },
  feeds: (step, rows) => ({ [VAF_IO.scales]: createTensor('float32', [step.batch, step.model.numLayers, 2], vafScaleRows(rows, step.model.numLayers)) }),
  reference(step, rows) {
    const L = step.model.numLayers;
    const scales = vafScaleRows(rows, L);
    return {
      beforeSoftmax: (scores, { layer }) =>
        vafScores({
          scores,
          imageMask: step.imageMask,
          attentionMask: step.attentionMask,
          scales: Array.from({ length: step.batch * 2 }, (_, i) => scales[(Math.floor(i / 2) * L + layer) * 2 + (i % 2)] as number),
        }),
    };
  },
};

/** VAF as users pick it. */
export const vafMethod: AttentionMethod = {
  name: 'vaf',
  label: 'VAF',
  paper: 'Yin et al., ClearSight: Visual Signal Enhancement for Object Hallucination Mitigation (CVPR 2025)',
  repository: 'https://github.com/ustc-hyin/ClearSight',
  edits: 'pre-softmax logits of the text queries after the image: image keys × (1 + β), system-prompt keys × (1 − α), middle layers',
  parameters: `β ${VAF_DEFAULTS.enhance}, α ${VAF_DEFAULTS.suppress}, layers [${VAF_DEFAULTS.layers.start}, ${VAF_DEFAULTS.layers.end}) of ${VAF_DEFAULTS.referenceDepth}, same relative depth elsewhere`,
  cost: '3 elementwise ops per layer on the scores; no extra rows',
  batchRows: 1,
  intervention: vafIntervention,
  defaults: (model) => ({ vaf: vafSettings(model) }),
  describe: ({ vaf }) => (vaf ? `VAF β=${vaf.enhance} α=${vaf.suppress} layers ${vaf.layers.start}–${vaf.layers.end - 1}` : undefined),
};
