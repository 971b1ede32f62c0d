import { type DeviceRequest, type LoadVisionLanguageModelOptions, VisionLanguageModel } from '@vasink/runtime';
import { FAMILIES } from '../lib/families.js';
import { UsageError, intListFlag, numberFlag, required } from '../lib/usage.js';

export const MODEL_FLAGS = {
  model: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  'sink-dims': { type: 'string' },
  context: { type: 'string' },
} as const;

export const MODEL_HELP = `model options:
  --model <dir>                a converted model directory (vasink convert)
  --device <d>                 auto (default: CUDA when its provider is installed, else CPU) | cuda | cpu
  --threads <n>                onnxruntime intra-op threads
  --sink-dims <a,b>            override the model's sink dimensions
  --context <n>                longest context (prompt + answer) to provision memory for; the load
                               refuses, naming the numbers, when weights + KV cache + activations
                               would not fit (default 2048)
`;

/**
 * Open the model the flags name. `decoder: 'diagnostic'` for commands that
 * read diagnostics anyway: only that decoder graph is loaded (one copy of the weights).
 * `memory`: the preflight's workload when the command knows it (replaces `--context`).
 */
export async function openModel(
  values: Record<string, string | string[] | boolean | undefined>,
  options: Pick<LoadVisionLanguageModelOptions, 'decoder' | 'memory' | 'maxBatchRows' | 'fitBatchRows'> = {},
): Promise<VisionLanguageModel> {
  const device = (values.device as string | undefined) ?? 'auto';
  if (!['auto', 'cuda', 'cpu'].includes(device)) throw new UsageError(`--device must be auto, cuda or cpu, got "${device}"`);
  const threads = numberFlag(values.threads as string | undefined, 'threads', { integer: true, min: 1 });
  const sinkDims = intListFlag(values['sink-dims'] as string | undefined, 'sink-dims');
  const contextTokens = options.memory === undefined ? numberFlag(values.context as string | undefined, 'context', { integer: true, min: 1 }) : undefined;
  return VisionLanguageModel.load(required(values.model as string | undefined, 'model'), {
    families: FAMILIES,
    device: device as DeviceRequest,
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
    ...(sinkDims ? { sinkDims } : {}),
    ...(options.decoder ? { decoder: options.decoder } : {}),
    ...(contextTokens === undefined ? {} : { memory: { contextTokens } }),
    ...(options.memory === undefined ? {} : { memory: options.memory }),
    ...(options.maxBatchRows === undefined ? {} : { maxBatchRows: options.maxBatchRows }),
    ...(options.fitBatchRows === undefined ? {} : { fitBatchRows: options.fitBatchRows }),
    // 'auto' quietly takes the CPU when CUDA is absent; an explicit --device cuda warns.
    logger: (message, level) => level === 'warn' && process.stderr.write(`vasink: ${message}\n`),
  });
}
