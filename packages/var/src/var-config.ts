import { InvalidArgumentError, VasinkError } from '@vasink/tensor';

/** Which decoder layers VAR acts on. Layers before the sink start layer never have sinks. */
export type VarLayerSpec = 'all-but-last' | 'all' | readonly number[];

/** Validated VAR settings, always in the paper's convention. */
export interface VarConfig {
  /** τ: a token is a sink when φ > τ. */
  readonly tau: number;
  /** ρ: minimum visual non-sink ratio r of a selected row. */
  readonly rho: number;
  /** p: fraction of sink attention moved to visual non-sinks. */
  readonly p: number;
  /** m: minimum image attention A_img of a selected row. */
  readonly minImageAttention: number;
  readonly layers: VarLayerSpec;
}

/** Names of the built-in presets. */
export type VarPresetName = 'general' | 'hallucination' | 'vision-centric' | 'official-code';

/** The presets of DESIGN §1, paper convention. */
export const VAR_PRESETS: Readonly<Record<VarPresetName, VarConfig>> = {
  general: { tau: 20, rho: 0.8, p: 0.6, minImageAttention: 0.2, layers: 'all-but-last' },
  hallucination: { tau: 20, rho: 0.5, p: 0.6, minImageAttention: 0.2, layers: 'all-but-last' },
  'vision-centric': { tau: 20, rho: 0.9, p: 0.6, minImageAttention: 0.2, layers: 'all-but-last' },
  // The released code's defaults (rho 0.5, p 0.6 in its convention); its last-layer exclusion never fires.
  'official-code': { tau: 20, rho: 0.5, p: 0.4, minImageAttention: 0.2, layers: 'all' },
};

/** The preset used when none is named. */
export const DEFAULT_VAR_PRESET: VarPresetName = 'general';

/**
 * Whose convention ρ and p are given in: `paper` (ρ bounds the non-sink
 * ratio from below, p is the fraction moved) or `official-code` (the released
 * code: its rho bounds the sink portion from above, its p is the fraction kept).
 */
export type VarConvention = 'paper' | 'official-code';

/** What a user may give: a preset and/or overrides, in either convention. */
export interface VarOptions {
  preset?: string;
  tau?: number;
  rho?: number;
  p?: number;
  minImageAttention?: number;
  layers?: VarLayerSpec;
  convention?: VarConvention;
}

/** Raised for VAR settings that cannot be used. */
export class VarConfigError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'INVALID_VAR', details, exposure: 'input' });
  }
}

/** True when `name` is a built-in preset. */
export function isVarPresetName(name: string): name is VarPresetName {
  return Object.prototype.hasOwnProperty.call(VAR_PRESETS, name);
}

/** The released code's parameters (rho_code = 1 − ρ, p_code = 1 − p) for a config. */
export function toOfficialCodeConvention(config: Pick<VarConfig, 'tau' | 'rho' | 'p' | 'minImageAttention'>): {
  tau: number;
  rho: number;
  p: number;
  summ: number;
} {
  return { tau: config.tau, rho: 1 - config.rho, p: 1 - config.p, summ: config.minImageAttention };
}

/** Paper-convention ρ and p from the released code's (rho_code = 1 − ρ, p_code = 1 − p). */
export function fromOfficialCodeConvention(code: { rho: number; p: number }): { rho: number; p: number } {
  return { rho: 1 - code.rho, p: 1 - code.p };
}

/** Throw VarConfigError unless the config is usable. */
export function validateVarConfig(config: VarConfig): VarConfig {
  const { tau, rho, p, minImageAttention, layers } = config;
  if (!Number.isFinite(tau) || tau <= 0) throw new VarConfigError(`tau must be a finite number > 0, got ${String(tau)}`, { tau });
  const inUnit = (name: string, value: number) => {
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new VarConfigError(`${name} must be in [0, 1], got ${String(value)}`, { [name]: value });
    }
  };
  inUnit('rho', rho);
  inUnit('p', p);
  inUnit('minImageAttention', minImageAttention);
  if (Array.isArray(layers)) {
    for (const layer of layers as readonly number[]) {
      if (!Number.isInteger(layer) || layer < 0) {
        throw new VarConfigError(`layers must be non-negative integers, got ${String(layer)}`, { layers });
      }
    }
  } else if (layers !== 'all' && layers !== 'all-but-last') {
    throw new VarConfigError(`layers must be 'all', 'all-but-last' or a list of layer indices, got ${JSON.stringify(layers)}`);
  }
  return config;
}

/**
 * Resolve user options to a validated paper-convention config: start from the
 * preset (default `general`), apply overrides, converting ρ and p once when the
 * overrides are in the official-code convention.
 */
export function resolveVarConfig(options: VarOptions = {}): VarConfig {
  const presetName = options.preset ?? DEFAULT_VAR_PRESET;
  if (!isVarPresetName(presetName)) {
    throw new VarConfigError(
      `unknown VAR preset ${JSON.stringify(presetName)}; choose one of ${Object.keys(VAR_PRESETS).join(', ')}`,
      { preset: presetName },
    );
  }
  const convention = options.convention ?? 'paper';
  if (convention !== 'paper' && convention !== 'official-code') {
    throw new VarConfigError(`unknown convention ${JSON.stringify(convention)}; use 'paper' or 'official-code'`);
  }
  const preset = VAR_PRESETS[presetName];
  const fromCode = convention === 'official-code';
  const checkUnit = (name: string, value: number | undefined) => {
    // Validate before converting so the message quotes what the user wrote.
    if (value !== undefined && (!Number.isFinite(value) || value < 0 || value > 1)) {
      throw new VarConfigError(`${name} must be in [0, 1], got ${String(value)} (${convention} convention)`, { [name]: value });
    }
    return value;
  };
  const rho = checkUnit('rho', options.rho);
  const p = checkUnit('p', options.p);
  return validateVarConfig({
    tau: options.tau ?? preset.tau,
    rho: rho === undefined ? preset.rho : fromCode ? 1 - rho : rho,
    p: p === undefined ? preset.p : fromCode ? 1 - p : p,
    minImageAttention: options.minImageAttention ?? preset.minImageAttention,
    layers: options.layers ?? preset.layers,
  });
}

/**
 * The layers VAR acts on, as a 0/1 mask over `numLayers`. Layers before
 * `sinkStartLayer` have no sinks, so they are never active.
 */
export function varLayerMask(config: Pick<VarConfig, 'layers'>, options: { numLayers: number; sinkStartLayer?: number }): Uint8Array {
  const { numLayers, sinkStartLayer = 2 } = options;
  if (!Number.isInteger(numLayers) || numLayers <= 0) {
    throw new InvalidArgumentError(`numLayers must be a positive integer, got ${String(numLayers)}`);
  }
  const mask = new Uint8Array(numLayers);
  const { layers } = config;
  if (layers === 'all' || layers === 'all-but-last') {
    const end = layers === 'all' ? numLayers : numLayers - 1;
    for (let l = sinkStartLayer; l < end; l++) mask[l] = 1;
  } else {
    for (const l of layers) {
      if (l >= numLayers) throw new VarConfigError(`VAR layer ${l} does not exist: the model has ${numLayers} layers`, { layer: l, numLayers });
      if (l >= sinkStartLayer) mask[l] = 1;
    }
  }
  return mask;
}

/** The four per-row graph parameters `[τ, ρ, p, m]` (the decoder's `var_params` row). */
export function varParamsRow(config: VarConfig): Float32Array {
  return new Float32Array([config.tau, config.rho, config.p, config.minImageAttention]);
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    INVALID_VAR: true;
  }
}
