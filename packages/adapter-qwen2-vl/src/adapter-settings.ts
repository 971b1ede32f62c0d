import type { ModelManifest } from '@vasink/runtime';
import type { Qwen2VlTensorLayout } from './checkpoint-layout.js';
import { Qwen2VlConfigError } from './errors.js';
import type { Qwen2VlImageSettings } from './preprocessor-config.js';
import type { Qwen2VlVisionConfig } from './qwen2vl-config.js';

/** What the qwen2-vl adapter stores in `manifest.adapter` at conversion and reads back at run time. */
export interface Qwen2VlAdapterSettings<V = Qwen2VlVisionConfig> {
  /** Preprocessing, from the checkpoint's `preprocessor_config.json` (min/max pixels, patch and merge sizes, mean/std). */
  readonly image: Qwen2VlImageSettings;
  readonly imageTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** The vision tower converted (for inspection and `find-sink-dims`). */
  readonly vision: V;
  /** Tensor naming of the source checkpoint. */
  readonly tensorLayout: Qwen2VlTensorLayout;
  /** System message of the default prompt format. */
  readonly systemPrompt: string;
}

/** The system message Qwen2-VL's chat template inserts when a conversation has none. */
export const QWEN2_VL_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** The adapter settings of a qwen2-vl manifest; throws naming the field when one is missing. */
export function qwen2vlSettings(manifest: ModelManifest): Qwen2VlAdapterSettings {
  const settings = manifest.adapter as Partial<Qwen2VlAdapterSettings>;
  const id = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const triple = (x: unknown) => Array.isArray(x) && x.length === 3 && x.every((v) => typeof v === 'number' && Number.isFinite(v));
  const image = settings.image as Partial<Qwen2VlImageSettings> | undefined;
  const checks: [string, boolean][] = [
    ['image', typeof image === 'object' && image !== null],
    ['imageTokenId', id(settings.imageTokenId)],
    ['visionStartTokenId', id(settings.visionStartTokenId)],
    ['visionEndTokenId', id(settings.visionEndTokenId)],
    ...(['minPixels', 'maxPixels', 'patchSize', 'temporalPatchSize', 'mergeSize', 'rescaleFactor'] as const).map((f): [string, boolean] => [`image.${f}`, positive(image?.[f])]),
    ['image.imageMean', triple(image?.imageMean)],
    ['image.imageStd', triple(image?.imageStd)],
  ];
  const field = checks.find(([, ok]) => !ok)?.[0];
  if (field !== undefined) {
    throw new Qwen2VlConfigError(`manifest.json: adapter.${field} is missing or invalid; convert the checkpoint again with this vasink`, { field });
  }
  return { systemPrompt: QWEN2_VL_SYSTEM_PROMPT, ...settings } as Qwen2VlAdapterSettings;
}
