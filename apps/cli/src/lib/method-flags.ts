import { ATTENTION_METHODS, type RowSettings, type VisionLanguageModel, parseMethods } from '@vasink/runtime';
import { type AttentionMethod, type MethodRow, mergeMethodRows } from '@vasink/transformer-graph';
import { paiContrast, paiSettings } from '@vasink/pai';
import { vafSettings } from '@vasink/vaf';
import { vcdContrast } from '@vasink/vcd';
import { UsageError, numberFlag } from './usage.js';
import { varLayerMask } from '@vasink/var';
import { varFromFlags } from './var-flags.js';

/** Flags choosing the attention method and its parameters (the VAR ones are `VAR_FLAGS`). */
export const METHOD_FLAGS = {
  method: { type: 'string' },
  'pai-alpha': { type: 'string' },
  'pai-gamma': { type: 'string' },
  'vaf-enhance': { type: 'string' },
  'vaf-suppress': { type: 'string' },
  'vcd-alpha': { type: 'string' },
  'vcd-beta': { type: 'string' },
  'vcd-noise-step': { type: 'string' },
  'vcd-seed': { type: 'string' },
} as const;

/** The methods part of a command's help, from the method registry. */
export function methodHelp(flag = '--method <m>'): string {
  const width = Math.max(...ATTENTION_METHODS.map((m) => m.name.length), 4);
  const lines = ATTENTION_METHODS.map((m) => `                               ${m.name.padEnd(width)}  ${m.label}: ${m.parameters}`);
  return `Methods:
  ${flag.padEnd(29)}var (default), ${ATTENTION_METHODS.slice(1).map((m) => m.name).join(', ')}, or none; several joined by + (var+vcd)
${lines.join('\n')}
  --pai-alpha <n> --pai-gamma <n>          PAI's attention α and text-only contrast γ (1 = no contrast)
  --vaf-enhance <β> --vaf-suppress <α>     VAF's image-key and system-key factors 1 + β, 1 − α
  --vcd-alpha <n> --vcd-beta <n> --vcd-noise-step <t> --vcd-seed <n>
                                           VCD's contrast α, cutoff β, noise step (0…999) and noise seed
`;
}

type FlagValues = Record<string, string | string[] | boolean | undefined>;

/** The methods `--method` names (default var; `--no-var` is `none`), checked before the model loads. */
export function methodsFromFlags(values: FlagValues): AttentionMethod[] {
  const spec = values.method as string | undefined;
  if (values['no-var'] && spec !== undefined && spec !== 'none') throw new UsageError(`--no-var cannot be combined with --method ${spec}`);
  const methods = parseSpec(values['no-var'] ? 'none' : (spec ?? 'var'), '--method');
  checkParameterFlags(values, methods);
  return methods;
}

/** A row's name in files and records: `base` for none, else the methods joined by `-` (`var-vcd`; file-safe). */
export function rowName(methods: readonly AttentionMethod[]): string {
  return methods.length === 0 ? 'base' : methods.map((m) => m.name).join('-');
}

/**
 * The rows of an evaluation: `--methods a,b,c` (each a spec as `--method`
 * takes), else `--compare` (the baseline and `--method`'s), else `--method`'s alone.
 */
export function methodChoicesFromFlags(values: FlagValues): AttentionMethod[][] {
  const list = values.methods as string | undefined;
  if (list === undefined) {
    const methods = methodsFromFlags(values);
    if (!values.compare) return [methods];
    if (methods.length === 0) throw new UsageError('--compare needs a method to compare with the baseline: drop --no-var / --method none');
    return [[], methods];
  }
  for (const flag of ['compare', 'method', 'no-var']) if (values[flag] !== undefined) throw new UsageError(`--methods lists every row itself: drop --${flag}`);
  const specs = list.split(',').map((spec) => spec.trim());
  if (specs.some((spec) => spec === '')) throw new UsageError(`--methods: an empty entry in "${list}"`);
  const choices = specs.map((spec) => parseSpec(spec, '--methods'));
  const names = choices.map((methods) => (methods.length === 0 ? 'none' : methods.map((m) => m.name).join('+')));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new UsageError(`--methods names ${repeated} twice`);
  checkParameterFlags(values, choices.flat());
  return choices;
}

function parseSpec(spec: string, flag: string): AttentionMethod[] {
  try {
    return parseMethods(spec);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

/** A parameter flag of a method no row runs is a mistake, not a no-op; the flags' values are checked before the model loads. */
function checkParameterFlags(values: FlagValues, methods: readonly AttentionMethod[]): void {
  const names = new Set(methods.map((m) => m.name));
  if (names.has('var')) varFromFlags(values);
  for (const flag of ['pai-alpha', 'pai-gamma', 'vaf-enhance', 'vaf-suppress', 'vcd-alpha', 'vcd-beta']) numberFlag(values[flag] as string | undefined, flag);
  for (const flag of ['vcd-noise-step', 'vcd-seed']) numberFlag(values[flag] as string | undefined, flag, { integer: true, min: 0 });
  const needs = (flags: readonly string[], method: string) => {
    const given = flags.find((flag) => values[flag] !== undefined);
    if (given && !names.has(method)) throw new UsageError(`--${given} needs --method ${method} (or one that includes it)`);
  };
  needs(['preset', 'tau', 'rho', 'p', 'min-image-attention', 'convention'], 'var');
  needs(['pai-alpha', 'pai-gamma'], 'pai');
  needs(['vaf-enhance', 'vaf-suppress'], 'vaf');
  needs(['vcd-alpha', 'vcd-beta', 'vcd-noise-step', 'vcd-seed'], 'vcd');
}

/** The row `methods` run on `model`, with the parameters the flags set. */
export function methodRowFromFlags(methods: readonly AttentionMethod[], values: FlagValues, model: Pick<VisionLanguageModel, 'manifest' | 'sinkDims'>): RowSettings {
  const decoder = model.manifest.decoder;
  const layers = { numLayers: decoder.numLayers };
  const num = (flag: string, options: { integer?: boolean; min?: number } = {}) => numberFlag(values[flag] as string | undefined, flag, options);
  const parts = methods.map((method) => {
    const part: MethodRow = (() => {
      switch (method.name) {
        case 'var':
          return { var: varFromFlags(values)! };
        case 'pai': {
          const alpha = num('pai-alpha');
          const gamma = num('pai-gamma');
          return { pai: paiSettings(layers, alpha === undefined ? {} : { alpha }), ...(gamma === 1 ? {} : { contrast: paiContrast(gamma) }) };
        }
        case 'vaf': {
          const enhance = num('vaf-enhance');
          const suppress = num('vaf-suppress');
          return { vaf: vafSettings(layers, { ...(enhance === undefined ? {} : { enhance }), ...(suppress === undefined ? {} : { suppress }) }) };
        }
        case 'vcd': {
          const overrides = { alpha: num('vcd-alpha'), beta: num('vcd-beta'), noiseStep: num('vcd-noise-step', { integer: true, min: 0 }), noiseSeed: num('vcd-seed', { integer: true, min: 0 }) };
          return { contrast: vcdContrast(Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined))) };
        }
        default:
          // A method added to the registry runs with its defaults until it gets flags of its own.
          return method.defaults({ numLayers: decoder.numLayers, numHeads: decoder.numHeads, hiddenSize: decoder.hiddenSize, sinkDims: model.sinkDims ?? [], sinkStartLayer: model.manifest.sink.startLayer });
      }
    })();
    return { label: method.label, row: part };
  });
  try {
    return mergeMethodRows(parts);
  } catch (error) {
    throw new UsageError(`--method: ${(error as Error).message}`);
  }
}


/** `[layers]` 1 where any attention edit of `row` acts (VAR's layer mask, PAI's and VAF's ranges). */
export function activeLayers(row: RowSettings, model: { numLayers: number; sinkStartLayer: number }): Uint8Array {
  const active = row.var ? varLayerMask(row.var, model) : new Uint8Array(model.numLayers);
  for (const range of [row.pai?.layers, row.vaf?.layers]) {
    if (range) for (let l = range.start; l < range.end; l++) active[l] = 1;
  }
  return active;
}
