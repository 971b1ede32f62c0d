import { writeTinyLlavaCheckpoint } from '@vasink/adapter-llava';
import { writeTinyQwen2VlCheckpoint } from '@vasink/adapter-qwen2-vl';
import { UsageError, numberFlag, parseCommand } from '../lib/usage.js';

const HELP = `usage: vasink fixture <llava|qwen2-vl> <dir> [--size tiny|bench] [--seed <n>]

Write a small random checkpoint in the real Hugging Face layout (config.json,
safetensors, real tokenizer files, preprocessor config) with massive
activations planted in its sink dimensions, so sinks and image-centric heads
really occur. 'tiny' runs in seconds; 'bench' is larger.
`;

export async function runFixture(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { size: { type: 'string' }, seed: { type: 'string' } }, HELP, { min: 2, max: 2 });
  if (!parsed) return 0;
  const [family, dir] = parsed.positionals as [string, string];
  const size = (parsed.values.size as string | undefined) ?? 'tiny';
  if (size !== 'tiny' && size !== 'bench') throw new UsageError(`--size must be tiny or bench, got "${size}"`);
  const seed = numberFlag(parsed.values.seed as string | undefined, 'seed', { integer: true, min: 0 });
  const options = { size, ...(seed === undefined ? {} : { seed }) } as const;
  if (family === 'llava') await writeTinyLlavaCheckpoint(dir, options);
  else if (family === 'qwen2-vl') await writeTinyQwen2VlCheckpoint(dir, options);
  else throw new UsageError(`unknown model family "${family}": use llava or qwen2-vl`);
  process.stderr.write(`wrote a ${size} ${family} checkpoint to ${dir}\n`);
  return 0;
}
