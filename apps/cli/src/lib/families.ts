import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_FAMILIES, familyOfConfig } from '@vasink/models';
import type { ModelFamily } from '@vasink/runtime';
import { UsageError } from './usage.js';

/** Every model family this CLI can convert and run (the registry of `@vasink/models`). */
export const FAMILIES: readonly ModelFamily[] = MODEL_FAMILIES;

/** The registered family names as a list for messages: `llava or qwen2-vl`. */
export function familyNames(): string {
  const names = FAMILIES.map((f) => f.name);
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** The family of a Hugging Face checkpoint directory, from its config.json. */
export async function familyOfCheckpoint(dir: string): Promise<ModelFamily> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw new UsageError(`${dir} has no config.json: give a Hugging Face checkpoint directory`);
  }
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`${join(dir, 'config.json')} is not valid JSON: ${(error as Error).message}`);
  }
  return familyOfConfig(config, join(dir, 'config.json'));
}
