import type { FixtureWriteProgress, ModelFamily } from '@vasink/runtime';
import { FAMILIES, familyNames } from '../lib/families.js';
import { progressBar } from '../lib/progress.js';
import { UsageError, numberFlag, parseCommand } from '../lib/usage.js';

const usageLines = () =>
  FAMILIES.map((f, i) => `${i === 0 ? 'usage:' : '      '} vasink fixture ${f.name} <dir> [--size tiny|bench|${Object.keys(f.fixtures.realShapeSizes).join('|')}] [--layers <n>] [--seed <n>]`).join('\n');
const sizeLines = () =>
  FAMILIES.map((f) => `  ${Object.keys(f.fixtures.realShapeSizes).join(', ').padEnd(12)}  (${f.name}) ${Object.values(f.fixtures.realShapeSizes).join(' / ')}`).join('\n');

const help = () => `${usageLines()}

Write a random checkpoint in the real Hugging Face layout (config.json,
safetensors, real tokenizer files, preprocessor config) with massive
activations planted in its sink dimensions.

sizes:
  tiny, bench   small crafted models whose sinks and image-centric heads behave
                like a trained model's: 'tiny' runs in seconds, 'bench' is larger
  real shapes   the exact tensors, shapes, dtypes, shards and files of a released
                checkpoint, random weights (LLaVA 7b 13.2 GiB, 13b 24.9 GiB;
                Qwen2-VL 2b 4.1 GiB, 7b 15.4 GiB on disk):
${sizeLines()}

Real-shape sizes are written streaming (memory stays well below 1 GiB) with
progress on stderr. --layers <n> writes only the first n decoder and vision
layers (config.json says n): a quick check of names, shapes and sharding.
`;

export async function runFixture(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { size: { type: 'string' }, seed: { type: 'string' }, layers: { type: 'string' } }, help(), { min: 2, max: 2 });
  if (!parsed) return 0;
  const [familyName, dir] = parsed.positionals as [string, string];
  const family: ModelFamily | undefined = FAMILIES.find((f) => f.name === familyName);
  if (!family) throw new UsageError(`unknown model family "${familyName}": use ${familyNames()}`);
  const real = Object.keys(family.fixtures.realShapeSizes);
  const size = (parsed.values.size as string | undefined) ?? 'tiny';
  const sizes = ['tiny', 'bench', ...real];
  if (!sizes.includes(size)) throw new UsageError(`--size must be ${sizes.slice(0, -1).join(', ')} or ${sizes.at(-1)} for ${family.name}, got "${size}"`);
  const seed = numberFlag(parsed.values.seed as string | undefined, 'seed', { integer: true, min: 0 });
  const layers = numberFlag(parsed.values.layers as string | undefined, 'layers', { integer: true, min: 1 });
  const seedOption = seed === undefined ? {} : { seed };

  if (size === 'tiny' || size === 'bench') {
    if (layers !== undefined) throw new UsageError(`--layers applies to the real-shape sizes (${real.join(', ')}), not to ${size}`);
    await family.fixtures.writeTiny(dir, { size, ...seedOption });
    process.stderr.write(`wrote a ${size} ${family.name} checkpoint to ${dir}\n`);
    return 0;
  }

  const bar = progressBar(`fixture ${family.name} ${size}`);
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  let shown = -1;
  const onProgress = (p: FixtureWriteProgress) => {
    const done = mib(p.bytesWritten);
    const finished = p.tensorsWritten === p.tensorCount;
    // One line per MiB at most, and 100 % only once, when the last tensor is complete.
    if (done === shown || (done === mib(p.totalBytes) && !finished)) return;
    shown = done;
    bar.update(done, mib(p.totalBytes), `MiB, tensor ${p.tensorsWritten}/${p.tensorCount} ${p.file} ${p.tensor}`);
  };
  const options = { ...seedOption, ...(layers === undefined ? {} : { layers }), onProgress };
  const written = await family.fixtures.writeRealShape(dir, { size, ...options });
  const shards = written.files.filter((f) => f.endsWith('.safetensors')).length;
  bar.finish(
    `wrote ${written.repo}'s layout${layers === undefined ? '' : ` (first ${layers} layer${layers === 1 ? '' : 's'})`} to ${dir}: ${(written.totalBytes / 2 ** 30).toFixed(2)} GiB of tensors in ${shards} shard${shards === 1 ? '' : 's'}, sink dims ${written.sinkDims.join(', ')}`,
  );
  return 0;
}
