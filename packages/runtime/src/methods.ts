import { paiMethod } from '@vasink/pai';
import { VasinkError } from '@vasink/tensor';
import { type AnyIntervention, type AttentionMethod, type InterventionModel, MethodCompositionError, type MethodRow, composeMethods } from '@vasink/transformer-graph';
import { vafMethod } from '@vasink/vaf';
import { varMethod } from '@vasink/var';
import { vcdMethod } from '@vasink/vcd';

/**
 * The training-free attention methods vasink runs, as users pick them
 * (`--method`, the eval's `--methods`, the server's `method`). Adding one:
 * its package exports an `AttentionMethod` (and, when it edits attention, the
 * `AttentionIntervention` inside it) — then one line here.
 */
export const ATTENTION_METHODS: readonly AttentionMethod[] = [varMethod, paiMethod, vafMethod, vcdMethod];

/**
 * The graph-side interventions of those methods, in the order their hooks
 * apply: built into every converted decoder (each takes per-row inputs, so
 * one model serves every method) and fed at run time.
 */
export const ATTENTION_INTERVENTIONS: readonly AnyIntervention[] = ATTENTION_METHODS.flatMap((method) => (method.intervention ? [method.intervention] : []));

/** The method named `name`, or undefined. */
export function findMethod(name: string): AttentionMethod | undefined {
  return ATTENTION_METHODS.find((method) => method.name === name);
}

/** Raised for a method name vasink does not know. */
export class UnknownMethodError extends VasinkError {
  constructor(name: string) {
    super(`unknown method "${name}": choose ${ATTENTION_METHODS.map((m) => m.name).join(', ')} or none, several joined by + (var+vcd)`, {
      code: 'UNKNOWN_METHOD',
      exposure: 'input',
      details: { name },
    });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    UNKNOWN_METHOD: true;
  }
}

/** The methods a spec names: `none` (the baseline), one name, or several joined by `+` (`var+vcd`). */
export function parseMethods(spec: string): AttentionMethod[] {
  const trimmed = spec.trim();
  if (trimmed === 'none' || trimmed === 'base') return [];
  const names = trimmed.split('+').map((name) => name.trim());
  const methods = names.map((name) => findMethod(name) ?? throwUnknown(name));
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw new MethodCompositionError(`method ${repeated} is named twice in "${spec}"`);
  return methods;
}

function throwUnknown(name: string): never {
  throw new UnknownMethodError(name);
}

/** A row running `methods` with their defaults on `model` (see `composeMethods`). */
export function methodRow(methods: readonly AttentionMethod[], model: InterventionModel): MethodRow {
  return composeMethods(methods, model);
}

/** A row's methods in a few words, `baseline` when it runs none. */
export function describeMethodRow(row: MethodRow): string {
  const parts = ATTENTION_METHODS.map((method) => method.describe(row)).filter((part): part is string => part !== undefined);
  return parts.length > 0 ? parts.join(' + ') : 'baseline';
}
