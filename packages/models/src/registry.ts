import { llavaFamily, llavaNextFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import { qwen25vlFamily } from '@vasink/adapter-qwen2.5-vl';
import type { ModelFamily } from '@vasink/runtime';
import { VasinkError } from '@vasink/tensor';

/**
 * Every model family vasink converts and runs. The CLI, the server, the
 * evaluation and the examples read this list; help and error texts are made
 * from it. Adding a family: its adapter package implements `ModelFamily`
 * (conversion, images, prompt, fixtures) — then one line here.
 */
export const MODEL_FAMILIES: readonly ModelFamily[] = [llavaFamily, llavaNextFamily, qwen2vlFamily, qwen25vlFamily];

/** The family named `name` (as manifests and the command line write it), or undefined. */
export function findFamily(name: string): ModelFamily | undefined {
  return MODEL_FAMILIES.find((family) => family.name === name);
}

/** `LLaVA-1.5 (LlavaForConditionalGeneration, LlavaLlamaForCausalLM) and Qwen2-VL (Qwen2VLForConditionalGeneration)`. */
export function describeFamilies(families: readonly ModelFamily[] = MODEL_FAMILIES): string {
  const parts = families.map((family) => `${family.label} (${family.architectures.join(', ')})`);
  return parts.length <= 1 ? (parts[0] ?? 'nothing') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** Raised for a checkpoint no registered family converts. */
export class UnsupportedArchitectureError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'UNSUPPORTED_ARCHITECTURE', exposure: 'input', details });
  }
}

declare module '@vasink/tensor' {
  interface VasinkErrorCodes {
    UNSUPPORTED_ARCHITECTURE: true;
  }
}

/** The family of a Hugging Face `config.json` (`source` names it in the error). */
export function familyOfConfig(config: Readonly<Record<string, unknown>>, source = 'config.json', families: readonly ModelFamily[] = MODEL_FAMILIES): ModelFamily {
  const family = families.find((f) => f.matches(config));
  if (family) return family;
  const architectures = Array.isArray(config.architectures) ? config.architectures.map(String).join(', ') : 'none';
  throw new UnsupportedArchitectureError(
    `unsupported architecture in ${source}: architectures ${architectures}, model_type ${String(config.model_type)}; vasink converts ${describeFamilies(families)}`,
    { architectures, modelType: config.model_type },
  );
}
