import {
  REAL_SHAPE_LLAVA_SIZES,
  type RealShapeLlavaCheckpointOptions,
  type RealShapeLlavaSize,
  writeRealShapeLlavaCheckpoint,
  writeTinyLlavaCheckpoint,
} from '@vasink/adapter-llava';
import {
  REAL_SHAPE_QWEN2_VL_SIZES,
  type RealShapeQwen2VlSize,
  writeRealShapeQwen2VlCheckpoint,
  writeTinyQwen2VlCheckpoint,
} from '@vasink/adapter-qwen2-vl';
import { progressBar } from '../lib/progress.js';
import { UsageError, numberFlag, parseCommand } from '../lib/usage.js';

const HELP = `usage: vasink fixture llava <dir> [--size tiny|bench|7b|13b] [--layers <n>] [--seed <n>]
       vasink fixture qwen2-vl <dir> [--size tiny|bench|2b|7b] [--layers <n>] [--seed <n>]

Write a random checkpoint in the real Hugging Face layout (config.json,
safetensors, real tokenizer files, preprocessor config) with massive
activations planted in its sink dimensions.

sizes:
  tiny, bench   small crafted models whose sinks and image-centric heads behave
                like a trained model's: 'tiny' runs in seconds, 'bench' is larger
  7b, 13b       (llava) the exact tensors, shapes, float16 dtype, shards and files
                of llava-hf/llava-1.5-7b-hf / -13b-hf, random weights
                (13.2 GiB / 24.9 GiB on disk)
  2b, 7b        (qwen2-vl) the same for Qwen/Qwen2-VL-2B-Instruct / -7B-Instruct,
                bfloat16 (4.1 GiB / 15.4 GiB on disk)

Real-shape sizes are written streaming (memory stays well below 1 GiB) with
progress on stderr. --layers <n> writes only the first n decoder and vision
layers (config.json says n): a quick check of names, shapes and sharding.
`;

/** Where a streaming write stands (`@vasink/safetensors`' CheckpointWriteProgress). */
type WriteProgress = Parameters<NonNullable<RealShapeLlavaCheckpointOptions['onProgress']>>[0];

const FAMILIES = {
  llava: { tiny: writeTinyLlavaCheckpoint, real: REAL_SHAPE_LLAVA_SIZES as readonly string[] },
  'qwen2-vl': { tiny: writeTinyQwen2VlCheckpoint, real: REAL_SHAPE_QWEN2_VL_SIZES as readonly string[] },
} as const;

export async function runFixture(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { size: { type: 'string' }, seed: { type: 'string' }, layers: { type: 'string' } }, HELP, { min: 2, max: 2 });
  if (!parsed) return 0;
  const [family, dir] = parsed.positionals as [string, string];
  if (family !== 'llava' && family !== 'qwen2-vl') throw new UsageError(`unknown model family "${family}": use llava or qwen2-vl`);
  const { real } = FAMILIES[family];
  const size = (parsed.values.size as string | undefined) ?? 'tiny';
  const sizes = ['tiny', 'bench', ...real];
  if (!sizes.includes(size)) throw new UsageError(`--size must be ${sizes.slice(0, -1).join(', ')} or ${sizes.at(-1)} for ${family}, got "${size}"`);
  const seed = numberFlag(parsed.values.seed as string | undefined, 'seed', { integer: true, min: 0 });
  const layers = numberFlag(parsed.values.layers as string | undefined, 'layers', { integer: true, min: 1 });
  const seedOption = seed === undefined ? {} : { seed };

  if (size === 'tiny' || size === 'bench') {
    if (layers !== undefined) throw new UsageError(`--layers applies to the real-shape sizes (${real.join(', ')}), not to ${size}`);
    await FAMILIES[family].tiny(dir, { size, ...seedOption });
    process.stderr.write(`wrote a ${size} ${family} checkpoint to ${dir}\n`);
    return 0;
  }

  const bar = progressBar(`fixture ${family} ${size}`);
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  let shown = -1;
  const onProgress = (p: WriteProgress) => {
    const done = mib(p.bytesWritten);
    const finished = p.tensorsWritten === p.tensorCount;
    // One line per MiB at most, and 100 % only once, when the last tensor is complete.
    if (done === shown || (done === mib(p.totalBytes) && !finished)) return;
    shown = done;
    bar.update(done, mib(p.totalBytes), `MiB, tensor ${p.tensorsWritten}/${p.tensorCount} ${p.file} ${p.tensor}`);
  };
  const options = { ...seedOption, ...(layers === undefined ? {} : { layers }), onProgress };
  const written =
    family === 'llava'
      ? await writeRealShapeLlavaCheckpoint(dir, { size: size as RealShapeLlavaSize, ...options })
      : await writeRealShapeQwen2VlCheckpoint(dir, { size: size as RealShapeQwen2VlSize, ...options });
  const shards = written.files.filter((f) => f.endsWith('.safetensors')).length;
  bar.finish(
    `wrote ${written.repo}'s layout${layers === undefined ? '' : ` (first ${layers} layer${layers === 1 ? '' : 's'})`} to ${dir}: ${(written.totalBytes / 2 ** 30).toFixed(2)} GiB of tensors in ${shards} shard${shards === 1 ? '' : 's'}, sink dims ${written.sinkDims.join(', ')}`,
  );
  return 0;
}
