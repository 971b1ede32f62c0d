import { InvalidArgumentError, seededNormal } from '@vasink/tensor';

/** Diffusion steps of VCD's noise schedule. */
export const DIFFUSION_STEPS = 1000;

/**
 * ᾱ_t of VCD's schedule (DAMO-NLP-SG/VCD `vcd_add_noise.py`): β = sigmoid(linspace(−6, 6, 1000))·(0.5e-2 − 1e-5) + 1e-5,
 * ᾱ_t = Π_{s ≤ t} (1 − β_s). Float64.
 */
export function diffusionAlphaBar(step: number): number {
  if (!Number.isInteger(step) || step < 0 || step >= DIFFUSION_STEPS) {
    throw new InvalidArgumentError(`the diffusion noise step must be an integer in [0, ${DIFFUSION_STEPS - 1}], got ${String(step)}`);
  }
  let product = 1;
  for (let s = 0; s <= step; s++) {
    const x = -6 + (12 * s) / (DIFFUSION_STEPS - 1);
    const beta = (1 / (1 + Math.exp(-x))) * (0.5e-2 - 1e-5) + 1e-5;
    product *= 1 - beta;
  }
  return product;
}

/**
 * VCD's distorted image: `√ᾱ_t·x + √(1 − ᾱ_t)·ε`, ε ~ N(0, 1) seeded, on the
 * preprocessed (normalized) pixel values, as the released code noises the
 * processor's tensor (no clamping back to a pixel range). Returns a new array.
 */
export function addDiffusionNoise(pixels: Float32Array, options: { step: number; seed: number }): Float32Array {
  const alphaBar = diffusionAlphaBar(options.step);
  const noise = new Float32Array(pixels.length);
  seededNormal(options.seed).fill(noise, { dtype: 'float32', std: 1 });
  const keep = Math.sqrt(alphaBar);
  const mix = Math.sqrt(1 - alphaBar);
  return Float32Array.from(pixels, (x, i) => keep * x + mix * (noise[i] as number));
}
