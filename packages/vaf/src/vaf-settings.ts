import { VasinkError } from '@vasink/tensor';
import type { InterventionModel } from '@vasink/transformer-graph';

/** VAF (ClearSight) on one row. */
export interface VafSettings {
  /** β ≥ 0: image-key logits × (1 + β). */
  readonly enhance: number;
  /** α in [0, 1]: system-prompt-key logits × (1 − α). */
  readonly suppress: number;
  /** Decoder layers `[start, end)` it acts in. */
  readonly layers: { readonly start: number; readonly end: number };
}

/**
 * The released code's setting for LLaVA-1.5-7B (ustc-hyin/ClearSight,
 * `infer_pope.py`: `--enh-para 1.15 --sup-para 0.95`, layers 9 < i < 15 of 32).
 */
export const VAF_DEFAULTS = { enhance: 0.15, suppress: 0.05, layers: { start: 9, end: 15 }, referenceDepth: 32 } as const;

/** Raised for VAF settings that cannot be used. */
export class VafConfigError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_VAF', exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    INVALID_VAF: true;
  }
}

/**
 * VAF's layers on a model of `numLayers`: the released [9, 15) of 32 at the
 * same relative depth, `[round(9·L/32), round(15·L/32))`, at least one layer.
 */
export function vafLayers(numLayers: number): { start: number; end: number } {
  const { layers, referenceDepth } = VAF_DEFAULTS;
  const start = Math.min(Math.round((layers.start * numLayers) / referenceDepth), numLayers - 1);
  const end = Math.max(start + 1, Math.min(Math.round((layers.end * numLayers) / referenceDepth), numLayers));
  return { start, end };
}

/** VAF's defaults on `model`, with overrides. */
export function vafSettings(model: Pick<InterventionModel, 'numLayers'>, overrides: { enhance?: number; suppress?: number } = {}): VafSettings {
  return { enhance: overrides.enhance ?? VAF_DEFAULTS.enhance, suppress: overrides.suppress ?? VAF_DEFAULTS.suppress, layers: vafLayers(model.numLayers) };
}

/** Throw {@link VafConfigError} unless `settings` can run on a model of `numLayers` layers. */
export function validateVafSettings(settings: VafSettings, numLayers: number): VafSettings {
  const { enhance, suppress, layers } = settings;
  if (typeof enhance !== 'number' || !Number.isFinite(enhance) || enhance < 0) throw new VafConfigError(`VAF enhance (β) must be a finite number ≥ 0, got ${String(enhance)}`);
  if (typeof suppress !== 'number' || !(suppress >= 0 && suppress <= 1)) throw new VafConfigError(`VAF suppress (α) must be in [0, 1], got ${String(suppress)}`);
  const { start, end } = layers ?? {};
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start || end > numLayers) {
    throw new VafConfigError(`VAF layers must be [start, end) with 0 ≤ start < end ≤ ${numLayers} (the model's layers), got [${String(start)}, ${String(end)})`);
  }
  return settings;
}

/** `[batch, layers, 2]` float32: each row's (β, −α) on the layers VAF acts in, 0 elsewhere and on rows without VAF. */
export function vafScaleRows(rows: readonly (VafSettings | undefined)[], numLayers: number): Float32Array {
  const out = new Float32Array(rows.length * numLayers * 2);
  rows.forEach((row, b) => {
    if (!row) return;
    for (let l = row.layers.start; l < row.layers.end; l++) {
      out[(b * numLayers + l) * 2] = row.enhance;
      out[(b * numLayers + l) * 2 + 1] = -row.suppress;
    }
  });
  return out;
}
