import type { AttentionMethod, ContrastSettings } from '@vasink/transformer-graph';

/** The released code's defaults (DAMO-NLP-SG/VCD): α 1, β 0.1, noise step 500. */
export const VCD_DEFAULTS = { alpha: 1, beta: 0.1, noiseStep: 500, noiseSeed: 0 } as const;

/** VCD's contrast, with overrides. */
export function vcdContrast(overrides: Partial<Pick<ContrastSettings, 'alpha' | 'beta' | 'noiseStep' | 'noiseSeed'>> = {}): ContrastSettings {
  return {
    counterpart: 'noised-image',
    alpha: overrides.alpha ?? VCD_DEFAULTS.alpha,
    beta: overrides.beta ?? VCD_DEFAULTS.beta,
    logSoftmax: false,
    noiseStep: overrides.noiseStep ?? VCD_DEFAULTS.noiseStep,
    noiseSeed: overrides.noiseSeed ?? VCD_DEFAULTS.noiseSeed,
  };
}

/** VCD as users pick it: no attention edit, a second row with the noised image. */
export const vcdMethod: AttentionMethod = {
  name: 'vcd',
  label: 'VCD',
  paper: 'Leng et al., Mitigating Object Hallucinations in Large Vision-Language Models through Visual Contrastive Decoding (CVPR 2024)',
  repository: 'https://github.com/DAMO-NLP-SG/VCD',
  edits: "next-token logits (1 + α)·l(y∣v,x) − α·l(y∣v′,x), v′ the image with diffusion noise; candidates with p ≥ β·max p",
  parameters: `α ${VCD_DEFAULTS.alpha}, β ${VCD_DEFAULTS.beta}, noise step ${VCD_DEFAULTS.noiseStep} of 1000, seed ${VCD_DEFAULTS.noiseSeed}`,
  cost: 'one extra batch row per answer (the noised image) and one extra vision run per image',
  batchRows: 2,
  defaults: () => ({ contrast: vcdContrast() }),
  describe: ({ contrast }) =>
    contrast?.counterpart === 'noised-image' ? `VCD α=${contrast.alpha} β=${contrast.beta} noise step ${contrast.noiseStep ?? VCD_DEFAULTS.noiseStep} seed ${contrast.noiseSeed ?? VCD_DEFAULTS.noiseSeed}` : undefined,
};
