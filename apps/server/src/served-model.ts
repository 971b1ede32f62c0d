import type { VisionLanguageModel } from '@vasink/runtime';

/**
 * What the server needs of a loaded model: a `VisionLanguageModel`, or any
 * object with the same members (tests wrap one to hold requests in flight).
 */
export type ServedModel = Pick<
  VisionLanguageModel,
  'dir' | 'manifest' | 'tokenizer' | 'device' | 'sinkDims' | 'prepare' | 'generate' | 'inspect' | 'close'
> &
  Partial<Pick<VisionLanguageModel, 'maxBatchRows' | 'batchStats'>>;

/**
 * The context length of a model: `contextLength` / `maxPositionEmbeddings` /
 * `max_position_embeddings` from the manifest's adapter section when an
 * adapter records one, else `fallback`.
 */
export function contextLengthOf(model: ServedModel, fallback: number): number {
  const adapter = model.manifest.adapter as Record<string, unknown>;
  for (const key of ['contextLength', 'maxPositionEmbeddings', 'max_position_embeddings']) {
    const value = adapter[key];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return fallback;
}
