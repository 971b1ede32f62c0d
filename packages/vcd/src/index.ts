export { DIFFUSION_STEPS, addDiffusionNoise, diffusionAlphaBar } from './diffusion-noise.js';
export { ContrastConfigError, contrastLogits, validateContrast } from './contrast-logits.js';
export { VCD_DEFAULTS, vcdContrast, vcdMethod } from './vcd-method.js';
