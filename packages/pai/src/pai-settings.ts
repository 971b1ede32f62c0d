import { VasinkError } from '@vasink/tensor';
import type { InterventionModel } from '@vasink/transformer-graph';

/** PAI's attention part on one row. */
export interface PaiSettings {
  /** α ≥ 0: the last query's image-key logits become a + α·|a| (0 = off). */
  readonly alpha: number;
  /** Decoder layers `[start, end)` it acts in. */
  readonly layers: { readonly start: number; readonly end: number };
}

/**
 * The released code's defaults for LLaVA-1.5 (LALBJ/PAI): α = 0.2 on layers
 * [2, 32) — every layer from 2 on, so `[2, L)` on other depths — and the
 * text-only contrast γ = 1.1 with a cutoff at 0.1 × the top probability.
 */
export const PAI_DEFAULTS = { alpha: 0.2, startLayer: 2, gamma: 1.1, beta: 0.1 } as const;

/** Raised for PAI settings that cannot be used. */
export class PaiConfigError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_PAI', exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    INVALID_PAI: true;
  }
}

/** PAI's defaults on `model`, with overrides. */
export function paiSettings(model: Pick<InterventionModel, 'numLayers'>, overrides: { alpha?: number } = {}): PaiSettings {
  return { alpha: overrides.alpha ?? PAI_DEFAULTS.alpha, layers: { start: Math.min(PAI_DEFAULTS.startLayer, model.numLayers - 1), end: model.numLayers } };
}

/** Throw {@link PaiConfigError} unless `settings` can run on a model of `numLayers` layers. */
export function validatePaiSettings(settings: PaiSettings, numLayers: number): PaiSettings {
  const { alpha, layers } = settings;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0) throw new PaiConfigError(`PAI alpha must be a finite number ≥ 0, got ${String(alpha)}`);
  const { start, end } = layers ?? {};
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > numLayers) {
    throw new PaiConfigError(`PAI layers must be [start, end) with 0 ≤ start < end ≤ ${numLayers} (the model's layers), got [${String(start)}, ${String(end)})`);
  }
  return settings;
}

/** `[batch, layers]` float32: each row's α on the layers PAI acts in, 0 elsewhere and on rows without PAI. */
export function paiAlphaRows(rows: readonly (PaiSettings | undefined)[], numLayers: number): Float32Array {
  const out = new Float32Array(rows.length * numLayers);
  rows.forEach((row, b) => {
    if (!row) return;
    for (let l = row.layers.start; l < row.layers.end; l++) out[b * numLayers + l] = row.alpha;
  });
  return out;
}
