import { InvalidArgumentError } from '@vasink/tensor';
import type { DecodeInput, DecoderStep, StepOutput } from './decoder-step.js';
import { type DecoderBatchOptions, type DecoderPromptRow, type VarStepDiagnostics, DecoderBatch, diagnosticsForRows } from './decoder-batch.js';

export { KV_MERGE_TOKENS } from './decoder-batch.js';
export type { DecoderPromptRow, VarStepDiagnostics } from './decoder-batch.js';

export interface OnnxDecoderStepOptions extends DecoderBatchOptions {
  prompts: readonly DecoderPromptRow[];
}

/**
 * A DecoderStep over an onnxruntime decoder session (DESIGN §2 contract) for
 * one fixed set of prompts: a {@link DecoderBatch} that they all join at the
 * prefill and leave as they finish. Diagnostics are indexed by the step's
 * rows; a row that has left reports empty arrays.
 */
export function createOnnxDecoderStep(options: OnnxDecoderStepOptions): DecoderStep<VarStepDiagnostics> {
  const { prompts, ...batchOptions } = options;
  if (prompts.length === 0) throw new InvalidArgumentError('a decoder step needs at least one prompt');
  const batch = new DecoderBatch(batchOptions);
  batch.validate(prompts);
  const size = prompts.length;
  /** Batch row id of each of the step's rows. */
  let ids: readonly number[] = [];

  return {
    batchSize: size,
    async prefill({ signal }): Promise<StepOutput<VarStepDiagnostics>> {
      const out = await batch.add(prompts, signal);
      ids = out.rows;
      return { logits: out.logits, diagnostics: diagnosticsForRows(out.diagnostics, out.rows, ids) };
    },
    async decode(input: DecodeInput): Promise<StepOutput<VarStepDiagnostics>> {
      batch.remove(input.finished.map((row) => ids[row] as number));
      const tokens = new Map(input.rows.map((row, i) => [ids[row] as number, input.ids[i] as number]));
      const out = await batch.decode(tokens, input.signal);
      const logitsById = new Map(out.rows.map((id, b) => [id, out.logits[b] as Float32Array]));
      return { logits: input.rows.map((row) => logitsById.get(ids[row] as number) as Float32Array), diagnostics: diagnosticsForRows(out.diagnostics, out.rows, ids) };
    },
    dispose() {
      batch.dispose();
    },
  };
}
