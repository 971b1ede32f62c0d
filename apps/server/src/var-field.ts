import { DEFAULT_VAR_PRESET, type VarConfig, type VarLayerSpec, type VarOptions, resolveVarConfig } from '@vasink/var';
import { invalidRequest } from './api-error.js';

/** The request's `var` field as JSON carries it (snake_case). */
export interface VarField {
  preset?: string;
  tau?: number;
  rho?: number;
  p?: number;
  min_image_attention?: number;
  /** Whose convention `rho` and `p` are given in: `paper` (default) or `official-code`. */
  convention?: 'paper' | 'official-code';
  /** `all-but-last`, `all`, or layer indices. */
  layers?: VarLayerSpec;
}

/** The VAR settings a response echoes: always the paper convention, whatever the request used. */
export interface VarEcho {
  preset: string;
  tau: number;
  rho: number;
  p: number;
  min_image_attention: number;
  layers: VarLayerSpec;
  convention: 'paper';
}

/** VAR for one request: the config the engine gets (undefined = off) and what to echo. */
export interface VarSelection {
  config: VarConfig | undefined;
  echo: VarEcho | false;
}

const FIELDS = new Set(['preset', 'tau', 'rho', 'p', 'min_image_attention', 'convention', 'layers']);

/**
 * Read the `var` field: absent or null → the server's default, `false` → off,
 * `true` → the default preset, an object → a preset and/or overrides.
 * Throws a 400 ApiError (`invalid_var`) naming the bad key.
 */
export function parseVarField(value: unknown, defaultVar: false | VarOptions): VarSelection {
  if (value === undefined || value === null) return select(defaultVar);
  if (value === false) return { config: undefined, echo: false };
  if (value === true) return select({});
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidRequest('invalid_var', 'var must be false, true or an object {preset, tau, rho, p, min_image_attention, convention, layers}', 'var');
  }
  const field = value as Record<string, unknown>;
  for (const key of Object.keys(field)) {
    if (!FIELDS.has(key)) throw invalidRequest('invalid_var', `var.${key} is not a VAR setting; use ${[...FIELDS].join(', ')}`, `var.${key}`);
  }
  const options: VarOptions = {};
  const number = (key: string): number | undefined => {
    const v = field[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidRequest('invalid_var', `var.${key} must be a number, got ${JSON.stringify(v)}`, `var.${key}`);
    return v;
  };
  if (field.preset !== undefined && field.preset !== null) {
    if (typeof field.preset !== 'string') throw invalidRequest('invalid_var', 'var.preset must be a string', 'var.preset');
    options.preset = field.preset;
  }
  const tau = number('tau');
  const rho = number('rho');
  const p = number('p');
  const m = number('min_image_attention');
  if (tau !== undefined) options.tau = tau;
  if (rho !== undefined) options.rho = rho;
  if (p !== undefined) options.p = p;
  if (m !== undefined) options.minImageAttention = m;
  if (field.convention !== undefined && field.convention !== null) {
    if (field.convention !== 'paper' && field.convention !== 'official-code') {
      throw invalidRequest('invalid_var', `var.convention must be "paper" or "official-code", got ${JSON.stringify(field.convention)}`, 'var.convention');
    }
    options.convention = field.convention;
  }
  if (field.layers !== undefined && field.layers !== null) {
    const layers = field.layers;
    const ok = layers === 'all' || layers === 'all-but-last' || (Array.isArray(layers) && layers.every((l) => Number.isInteger(l) && l >= 0));
    if (!ok) throw invalidRequest('invalid_var', 'var.layers must be "all", "all-but-last" or a list of layer indices', 'var.layers');
    options.layers = layers as VarLayerSpec;
  }
  return select(options);
}

function select(options: false | VarOptions): VarSelection {
  if (options === false) return { config: undefined, echo: false };
  const config = resolveVarConfig(options); // VarConfigError → 400 invalid_var
  return { config, echo: echoOf(config, options.preset ?? DEFAULT_VAR_PRESET) };
}

/** The echo of a resolved config. */
export function echoOf(config: VarConfig, preset: string): VarEcho {
  return {
    preset,
    tau: config.tau,
    rho: round(config.rho),
    p: round(config.p),
    min_image_attention: config.minImageAttention,
    layers: config.layers,
    convention: 'paper',
  };
}

// 1 − 0.6 is 0.4000000000000001 in binary floating point: echo what a person would write.
function round(value: number): number {
  return Number(value.toPrecision(12));
}
