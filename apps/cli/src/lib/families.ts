import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { llavaFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import type { ModelFamily } from '@vasink/runtime';
import { UsageError } from './usage.js';

/** Every model family this CLI can convert and run. */
export const FAMILIES: readonly ModelFamily[] = [llavaFamily, qwen2vlFamily];

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
  const family = FAMILIES.find((f) => f.matches(config));
  if (!family) {
    const architectures = Array.isArray(config.architectures) ? config.architectures.join(', ') : 'none';
    throw new UsageError(
      `unsupported architecture in ${join(dir, 'config.json')}: architectures ${architectures}, model_type ${String(config.model_type)}; vasink converts LLaVA-1.5 (LlavaForConditionalGeneration, LlavaLlamaForCausalLM) and Qwen2-VL (Qwen2VLForConditionalGeneration)`,
    );
  }
  return family;
}
