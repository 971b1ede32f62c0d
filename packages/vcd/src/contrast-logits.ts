import { VasinkError } from '@vasink/tensor';
import type { ContrastSettings } from '@vasink/transformer-graph';

/** Raised for contrast settings that cannot be used. */
export class ContrastConfigError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_CONTRAST', exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    INVALID_CONTRAST: true;
  }
}

/** Throw {@link ContrastConfigError} unless `settings` can be used. */
export function validateContrast(settings: ContrastSettings): ContrastSettings {
  const { counterpart, alpha, beta, noiseStep } = settings;
  if (counterpart !== 'noised-image' && counterpart !== 'text-only') throw new ContrastConfigError(`contrast counterpart must be noised-image or text-only, got ${JSON.stringify(counterpart)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) throw new ContrastConfigError(`contrast alpha must be a finite number ≥ 0, got ${String(alpha)}`);
  if (typeof beta !== 'number' || !(beta > 0 && beta <= 1)) throw new ContrastConfigError(`contrast beta (the plausibility cutoff) must be in (0, 1], got ${String(beta)}`);
  if (noiseStep !== undefined && !(Number.isInteger(noiseStep) && noiseStep >= 0 && noiseStep < 1000)) {
    throw new ContrastConfigError(`the noise step must be an integer in [0, 999], got ${String(noiseStep)}`);
  }
  return settings;
}

/** `x − log Σ exp x` in float64. */
function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const log = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - log);
}

/**
 * Contrastive next-token logits (VCD `vcd_sample.py`, PAI `CFG.py`):
 * `(1 + α)·l − α·l′`, and −∞ wherever `l < log β + max l` (the plausibility
 * cutoff, β relative to the most likely token). With `logSoftmax`, `l` and
 * `l′` are log-probabilities first (PAI); else raw logits (VCD) — the cutoff
 * is the same either way. α = 0 is the row itself, `l` unchanged (the
 * released code would still apply the cutoff; without a contrast there is
 * nothing for it to guard against).
 *
 * @param logits `[vocab]` of the row itself
 * @param counterpart `[vocab]` of its counterpart row (noised image, or no image)
 */
export function contrastLogits(logits: Float32Array, counterpart: Float32Array, settings: ContrastSettings): Float32Array {
  if (settings.alpha === 0) return logits;
  if (counterpart.length !== logits.length) throw new ContrastConfigError(`contrast rows have ${logits.length} and ${counterpart.length} logits`);
  const own = settings.logSoftmax ? logSoftmax(logits) : logits;
  const other = settings.logSoftmax ? logSoftmax(counterpart) : counterpart;
  let max = -Infinity;
  for (const v of own) if (v > max) max = v;
  const cutoff = Math.log(settings.beta) + max;
  const { alpha } = settings;
  return Float32Array.from(own, (v, i) => (v < cutoff ? -Infinity : (1 + alpha) * v - alpha * (other[i] as number)));
}
