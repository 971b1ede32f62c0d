import { VasinkError } from '@vasink/tensor';
import type { AnyIntervention, InterventionModel, InterventionRow } from './intervention.js';

/**
 * Contrastive decoding over two rows of one batch (VCD, PAI's second half):
 * next-token logits `(1 + α)·l − α·l′`, where `l′` comes from a counterpart
 * row (the same prompt with a noised image, or without the image), and only
 * tokens with `p(y) ≥ β·max p` under `l` stay candidates.
 */
export interface ContrastSettings {
  /** What the counterpart row sees instead of the image. */
  readonly counterpart: 'noised-image' | 'text-only';
  /** α ≥ 0: 0 is the plain row. */
  readonly alpha: number;
  /** β in (0, 1]: the plausibility cutoff, relative to the most likely token. */
  readonly beta: number;
  /** Whether `l`, `l′` are log-softmaxed first (PAI) or raw logits (VCD). Equal results for the argmax; sampling differs. */
  readonly logSoftmax: boolean;
  /** `noised-image`: the diffusion step of the noise, 0…999 (VCD: 500). */
  readonly noiseStep?: number;
  /** `noised-image`: the noise seed (reproducible rows). */
  readonly noiseSeed?: number;
}

/** What one row runs: attention interventions (in the graph) and optionally a contrast (over two rows). */
export type MethodRow = InterventionRow & { readonly contrast?: ContrastSettings };

/** A training-free method as users pick it: `--method pai`. */
export interface AttentionMethod {
  /** CLI and API name: 'var', 'pai'. */
  readonly name: string;
  readonly label: string;
  /** Paper, venue and year. */
  readonly paper: string;
  /** The released code it follows. */
  readonly repository: string;
  /** What it edits, in one line. */
  readonly edits: string;
  /** Its parameters and their defaults, in one line. */
  readonly parameters: string;
  /** What it costs over the baseline, in one line. */
  readonly cost: string;
  /** Decoder batch rows one answer takes with its defaults: 1, or 2 with a contrast row. */
  readonly batchRows: 1 | 2;
  /** The graph-side part, if any (built into every converted decoder). */
  readonly intervention?: AnyIntervention;
  /** The row settings of its defaults on `model`. */
  defaults(model: InterventionModel): MethodRow;
  /** Its part of `row` in a few words ('PAI α=0.2 layers 2–31'), or undefined when the row does not run it. */
  describe(row: MethodRow): string | undefined;
}

/** The settings of several methods on one row (`var+vcd`) with their defaults; throws when two set the same part. */
export function composeMethods(methods: readonly AttentionMethod[], model: InterventionModel): MethodRow {
  return mergeMethodRows(methods.map((method) => ({ label: method.label, row: method.defaults(model) })));
}

/** One row from each method's part (its defaults, or settings a user chose); throws when two set the same part. */
export function mergeMethodRows(parts: readonly { readonly label: string; readonly row: MethodRow }[]): MethodRow {
  const row: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  for (const part of parts) {
    for (const [key, settings] of Object.entries(part.row)) {
      const other = owner.get(key);
      if (other) throw new MethodCompositionError(`${other} and ${part.label} both set the ${key} part of a row; they cannot run together`);
      owner.set(key, part.label);
      row[key] = settings;
    }
  }
  return row as MethodRow;
}

/** Raised for methods that cannot run together on one row. */
export class MethodCompositionError extends VasinkError {
  constructor(message: string) {
    super(message, { code: 'INVALID_METHOD', exposure: 'input' });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    INVALID_METHOD: true;
  }
}
