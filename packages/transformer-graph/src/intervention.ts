import type { GraphBuilder, Value } from '@vasink/onnx-graph';
import type { Float32Tensor, TypedTensor, Uint8Tensor } from '@vasink/tensor';
import type { DecoderConfig } from './decoder-config.js';

/**
 * Per-row settings of every attention intervention, by name. Each method's
 * package adds its entry by declaration merging:
 *
 * ```ts
 * declare module '@vasink/transformer-graph' {
 *   interface InterventionSettingsMap { pai: PaiSettings }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface InterventionSettingsMap {}

/** Names of the registered interventions. */
export type InterventionName = keyof InterventionSettingsMap;

/** The interventions one batch row asks for: absent = that method off. */
export type InterventionRow = { readonly [K in InterventionName]?: InterventionSettingsMap[K] };

/** Model facts an intervention may need beyond the decoder config. */
export interface InterventionModel {
  readonly numLayers: number;
  readonly numHeads: number;
  readonly hiddenSize: number;
  /** The model's sink dimensions (VAR's D_sink); empty when unknown. */
  readonly sinkDims: readonly number[];
  /** First layer where sinks may appear (DESIGN §1). */
  readonly sinkStartLayer: number;
}

/** One decoder run, as every intervention sees it when it builds its inputs. */
export interface InterventionStep {
  readonly phase: 'prefill' | 'decode';
  readonly batch: number;
  /** P + Q: cached plus new tokens. */
  readonly total: number;
  /** Q: new tokens. */
  readonly queries: number;
  /** `[batch, total]` 1 real, 0 padding. */
  readonly attentionMask: Uint8Array;
  /** `[batch, total]` 1 on image tokens. */
  readonly imageMask: Uint8Array;
  readonly model: InterventionModel;
}

/** What the decoder graph offers each intervention's emitter (values shared by every layer). */
export interface InterventionGraphContext {
  readonly g: GraphBuilder;
  readonly config: DecoderConfig;
  /** `[batch, P+Q]` int64, 1 real / 0 padding. */
  readonly attentionMask: Value;
  /** `[batch, P+Q]` uint8, 1 on image tokens (the decoder input `image_mask`). */
  readonly imageMask: Value;
  /** `[1]` int64 Q. */
  readonly newTokens: Value;
  /** Emit diagnostic outputs (the diagnostic graph). */
  readonly diagnostics: boolean;
}

/** One layer's values an intervention may read. */
export interface InterventionLayerGraph {
  readonly layer: number;
  /** float32 layer input `[batch·Q, dim]`. */
  readonly hidden: Value;
  /** `[batch·Q, 1]` mean of `hidden²` (the layer's RMSNorm computes it anyway). */
  readonly meanSquare: Value;
}

/** The per-layer hooks one intervention adds to the decoder graph. */
export interface InterventionGraph {
  /** Edit `[batch, heads, Q, P+Q]` float32 scaled scores, before the causal/padding mask is added. */
  beforeSoftmax?(scores: Value, layer: InterventionLayerGraph): Value;
  /** Edit `[batch, heads, Q, P+Q]` float32 probabilities. */
  afterSoftmax?(probs: Value, layer: InterventionLayerGraph): Value;
  /** After the last layer: emit carried-state and diagnostic outputs. */
  finish?(): void;
}

/** One layer's values in the reference forward pass. */
export interface InterventionLayerReference {
  readonly layer: number;
  /** `[batch, Q, dim]` float32 layer input. */
  readonly hidden: Float32Tensor;
}

/** The per-layer hooks of one intervention in the reference forward pass (mirrors {@link InterventionGraph}). */
export interface InterventionReference {
  /** `[batch, heads, Q, P+Q]` scaled scores; entries the mask hides are ignored. */
  beforeSoftmax?(scores: Float32Tensor, layer: InterventionLayerReference): Float32Tensor;
  afterSoftmax?(probs: Float32Tensor, layer: InterventionLayerReference): Float32Tensor;
  /** After the last layer: outputs by their graph output names (carried state, diagnostics). */
  outputs?(): Record<string, TypedTensor>;
}

/**
 * A training-free attention intervention (VAR, PAI, VAF…): graph inputs per
 * row, hooks before and after each layer's softmax, optional per-token state
 * carried between steps, and a plain TypeScript reference of the same hooks.
 * A row whose settings are absent must give the baseline result exactly.
 */
export interface AttentionIntervention<K extends InterventionName = InterventionName> {
  readonly name: K;
  /** How people write it: 'VAR', 'PAI'. */
  readonly label: string;
  /** Its decoder graph inputs; a graph carries the intervention when it has all of them. */
  readonly inputNames: readonly string[];
  /** Per-token state carried between steps as `[layers, batch, tokens]` uint8 columns (VAR's sink flags). */
  readonly carried?: { readonly input: string; readonly output: string };
  /** Throw a user-facing error unless `settings` can run on `model`. */
  validate(settings: InterventionSettingsMap[K], model: InterventionModel): void;
  /** Declare its inputs on the decoder graph and return its per-layer hooks. */
  emit(context: InterventionGraphContext): InterventionGraph;
  /** Values of its inputs for one run (`rows[b]` undefined = off for row b). Carried state is bound by the caller. */
  feeds(step: InterventionStep, rows: readonly (InterventionSettingsMap[K] | undefined)[]): Record<string, TypedTensor>;
  /** The reference hooks for one run, given the same inputs (and the carried state `[layers, batch, P]`). */
  reference(step: InterventionStep, rows: readonly (InterventionSettingsMap[K] | undefined)[], carried?: Uint8Tensor): InterventionReference;
}

/** Any registered intervention (a contract without members while no method package is loaded). */
export type AnyIntervention = [InterventionName] extends [never] ? AttentionIntervention<never> : { [K in InterventionName]: AttentionIntervention<K> }[InterventionName];

/** The settings of `intervention` in each row. */
function settingsOf(intervention: AnyIntervention, rows: readonly InterventionRow[]): readonly unknown[] {
  return rows.map((row) => row[intervention.name]);
}

/** Inputs of every intervention of a run, by graph input name. */
export function interventionFeeds(interventions: readonly AnyIntervention[], step: InterventionStep, rows: readonly InterventionRow[]): Record<string, TypedTensor> {
  const feeds: Record<string, TypedTensor> = {};
  for (const intervention of interventions) {
    Object.assign(feeds, (intervention as AttentionIntervention).feeds(step, settingsOf(intervention, rows) as never));
  }
  return feeds;
}

/** Reference hooks of every intervention of a run; `carried` maps each carried input name to its state. */
export function interventionReferences(
  interventions: readonly AnyIntervention[],
  step: InterventionStep,
  rows: readonly InterventionRow[],
  carried: ReadonlyMap<string, Uint8Tensor> = new Map(),
): InterventionReference[] {
  return interventions.map((intervention) =>
    (intervention as AttentionIntervention).reference(step, settingsOf(intervention, rows) as never, intervention.carried ? carried.get(intervention.carried.input) : undefined),
  );
}

/** Check each row's settings against `model` (each method's own validation). */
export function validateInterventionRow(interventions: readonly AnyIntervention[], row: InterventionRow, model: InterventionModel): void {
  for (const intervention of interventions) {
    const settings = row[intervention.name];
    if (settings !== undefined) (intervention as AttentionIntervention).validate(settings as never, model);
  }
}
