import type { RowSettings } from '@vasink/runtime';
import { type VarConfig, type VarConvention, resolveVarConfig } from '@vasink/var';
import { UsageError, numberFlag } from './usage.js';

/** Flags shared by the commands that run VAR. */
export const VAR_FLAGS = {
  preset: { type: 'string' },
  'no-var': { type: 'boolean' },
  tau: { type: 'string' },
  rho: { type: 'string' },
  p: { type: 'string' },
  'min-image-attention': { type: 'string' },
  convention: { type: 'string' },
} as const;

export const VAR_HELP = `VAR options:
  --preset <name>              general (default) | hallucination | vision-centric | official-code
  --no-var                     run without VAR
  --tau <n> --rho <n> --p <n> --min-image-attention <n>
                               override the preset (τ sink threshold, ρ minimum non-sink ratio,
                               p fraction moved, m minimum image attention)
  --convention <c>             paper (default) | official-code: the released code's rho = 1 − ρ, p = 1 − p
`;

/** The VAR config the flags ask for, or undefined with --no-var. */
export function varFromFlags(values: Record<string, string | string[] | boolean | undefined>): VarConfig | undefined {
  const overrides = ['preset', 'tau', 'rho', 'p', 'min-image-attention', 'convention'].filter((k) => values[k] !== undefined);
  if (values['no-var']) {
    if (overrides.length > 0) throw new UsageError(`--no-var cannot be combined with --${overrides[0]}`);
    return undefined;
  }
  const convention = values.convention as string | undefined;
  if (convention !== undefined && convention !== 'paper' && convention !== 'official-code') {
    throw new UsageError(`--convention must be paper or official-code, got "${convention}"`);
  }
  const tau = numberFlag(values.tau as string | undefined, 'tau');
  const rho = numberFlag(values.rho as string | undefined, 'rho');
  const p = numberFlag(values.p as string | undefined, 'p');
  const minImageAttention = numberFlag(values['min-image-attention'] as string | undefined, 'min-image-attention');
  return resolveVarConfig({
    ...(values.preset === undefined ? {} : { preset: values.preset as string }),
    ...(tau === undefined ? {} : { tau }),
    ...(rho === undefined ? {} : { rho }),
    ...(p === undefined ? {} : { p }),
    ...(minImageAttention === undefined ? {} : { minImageAttention }),
    ...(convention === undefined ? {} : { convention: convention as VarConvention }),
  });
}

/** Short human description of a row's VAR setting. */
export function describeVar(row: RowSettings): string {
  const c = row.var;
  return c ? `VAR τ=${c.tau} ρ=${+c.rho.toFixed(4)} p=${+c.p.toFixed(4)} m=${c.minImageAttention}` : 'VAR off';
}
