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
