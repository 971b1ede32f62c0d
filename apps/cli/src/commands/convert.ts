import { mkdir, readdir } from 'node:fs/promises';
import { progressBar } from '../lib/progress.js';
import { FAMILIES, familyOfCheckpoint } from '../lib/families.js';
import { UsageError, intListFlag, numberFlag, parseCommand } from '../lib/usage.js';

const HELP = `usage: vasink convert <hf-dir> <model-dir> [--dtype fp32|fp16] [--quant int4|int8] [--block-size n] [--vision-tower <dir>] [--sink-dims a,b] [--min-pixels n] [--max-pixels n] [--force]

Convert a Hugging Face checkpoint (LLaVA-1.5 in llava-hf or original layout,
Qwen2-VL) into a vasink model directory: vision, embedding and VAR decoder
ONNX graphs sharing one external weight file, the tokenizer and a manifest.
  --dtype fp32|fp16     activations, KV cache and unquantized weights (default fp32; fp16 for CUDA)
  --quant int4|int8     weight-only quantization of every linear layer (decoder
                        projections, LM head, vision tower, projector) and the
                        embedding table (com.microsoft.MatMulNBits /
                        GatherBlockQuantized); norms, softmax, VAR and the residual
                        stream stay float32. int4 makes a 7B model about 4 GB:
                        the CPU choice
  --block-size <n>      weights per quantization block (power of two ≥ 16; default 32)
  --accuracy-level <n>  MatMulNBits accuracy_level: 4 (default) lets the CPU kernel
                        quantize activations to int8 per block (fast); 0 computes
                        in the activation dtype (exact)
  --vision-tower <dir>  the CLIP checkpoint of an original-layout LLaVA release
  --sink-dims a,b       sink dimensions when the backbone has no published profile
  --min-pixels <n>      Qwen2-VL: lower bound on a resized image's height × width
  --max-pixels <n>      Qwen2-VL: upper bound; an image of n pixels becomes about
                        n / 784 image tokens (the released checkpoints allow 12,845,056;
                        e.g. 1003520 = 28·28·1280 keeps ≤ 1280 tokens, bounding vision
                        time and memory)
  --force               write into a non-empty model directory
`;

/** Names a conversion writes into a model directory: graphs, weights, manifest, tokenizer and processor files. */
const CONVERSION_FILE = /^(manifest\.json|weights\.bin|[\w.-]+\.onnx|[\w.-]+\.onnx\.data|tokenizer(_config)?\.json|tokenizer\.model|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|chat_template\.(json|jinja)|preprocessor_config\.json|generation_config\.json|config\.json|\.manifest\.json\.tmp[\w.-]*)$/;

export async function runConvert(args: string[]): Promise<number> {
  const parsed = parseCommand(
    args,
    {
      dtype: { type: 'string' },
      quant: { type: 'string' },
      'block-size': { type: 'string' },
      'accuracy-level': { type: 'string' },
      'vision-tower': { type: 'string' },
      'sink-dims': { type: 'string' },
      'min-pixels': { type: 'string' },
      'max-pixels': { type: 'string' },
      force: { type: 'boolean' },
    },
    HELP,
    { min: 2, max: 2 },
  );
  if (!parsed) return 0;
  const [source, target] = parsed.positionals as [string, string];
  if (source.trim() === '' || target.trim() === '') throw new UsageError('the checkpoint and the output directory must be non-empty paths');
  const dtypeFlag = (parsed.values.dtype as string | undefined) ?? 'fp32';
  const dtype = ({ fp32: 'float32', fp16: 'float16', float32: 'float32', float16: 'float16' } as const)[dtypeFlag as 'fp32'];
  if (!dtype) throw new UsageError(`--dtype must be fp32 or fp16, got "${dtypeFlag}"`);
  const quantFlag = parsed.values.quant as string | undefined;
  const bits = quantFlag === undefined ? undefined : ({ int4: 4, int8: 8 } as const)[quantFlag as 'int4'];
  if (quantFlag !== undefined && !bits) throw new UsageError(`--quant must be int4 or int8, got "${quantFlag}"`);
  const blockSize = numberFlag(parsed.values['block-size'] as string | undefined, 'block-size', { integer: true, min: 16 });
  if (blockSize !== undefined && (blockSize & (blockSize - 1)) !== 0) throw new UsageError(`--block-size must be a power of two ≥ 16, got ${blockSize}`);
  const accuracyLevel = numberFlag(parsed.values['accuracy-level'] as string | undefined, 'accuracy-level', { integer: true, min: 0 });
  if (accuracyLevel !== undefined && accuracyLevel !== 0 && accuracyLevel !== 4) throw new UsageError(`--accuracy-level must be 0 or 4, got ${accuracyLevel}`);
  if (!bits && (blockSize !== undefined || accuracyLevel !== undefined)) throw new UsageError('--block-size and --accuracy-level need --quant int4|int8');
  const sinkDims = intListFlag(parsed.values['sink-dims'] as string | undefined, 'sink-dims');
  const minPixels = numberFlag(parsed.values['min-pixels'] as string | undefined, 'min-pixels', { integer: true, min: 1 });
  const maxPixels = numberFlag(parsed.values['max-pixels'] as string | undefined, 'max-pixels', { integer: true, min: 1 });
  const family = await familyOfCheckpoint(source);
  if ((minPixels !== undefined || maxPixels !== undefined) && !family.dynamicResolution) {
    const dynamic = FAMILIES.filter((f) => f.dynamicResolution).map((f) => f.label);
    throw new UsageError(`--min-pixels/--max-pixels apply to dynamic-resolution checkpoints (${dynamic.join(', ')}); ${source} is ${family.label} (fixed-size images)`);
  }
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0 && !parsed.values.force) throw new UsageError(`${target} is not empty; pass --force to write into it`);
  if (existing.length > 0) {
    // --force overwrites a model directory (a finished or an interrupted conversion), never other files.
    const foreign = existing.filter((name) => !CONVERSION_FILE.test(name));
    if (foreign.length > 0) {
      throw new UsageError(
        `${target} holds files a conversion does not write (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); --force only overwrites a vasink model directory — choose an empty or new directory`,
      );
    }
  }
  await mkdir(target, { recursive: true });
  const bar = progressBar(`convert ${family.name}`);
  const manifest = await family.convert({
    source,
    target,
    dtype,
    ...(bits
      ? { quant: { bits, ...(blockSize !== undefined ? { blockSize } : {}), ...(accuracyLevel !== undefined ? { accuracyLevel: accuracyLevel as 0 | 4 } : {}) } }
      : {}),
    ...(sinkDims ? { sinkDims } : {}),
    ...(parsed.values['vision-tower'] ? { visionTower: parsed.values['vision-tower'] as string } : {}),
    ...(minPixels !== undefined || maxPixels !== undefined
      ? { imagePixels: { ...(minPixels !== undefined ? { min: minPixels } : {}), ...(maxPixels !== undefined ? { max: maxPixels } : {}) } }
      : {}),
    onProgress: (p) => bar.update(p.done, p.total, p.stage),
  });
  const d = manifest.decoder;
  bar.finish(
    `${target}: ${manifest.architecture}, ${d.numLayers} layers, hidden ${d.hiddenSize}, ${manifest.dtype}${
      manifest.quantization ? ` + ${manifest.quantization.scheme} weights (block ${manifest.quantization.blockSize})` : ''
    }; sink dims ${manifest.sink.dims ? manifest.sink.dims.join(', ') : 'unknown (run vasink find-sink-dims)'}`,
  );
  return 0;
}
