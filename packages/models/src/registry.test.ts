import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VisionLanguageModel, collect } from '@vasink/runtime';
import { MODEL_FAMILIES, describeFamilies, familyOfConfig, findFamily } from './registry.js';

describe('the model family registry', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-models-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names each family once, with the architectures and real-shape sizes its messages and fixtures use', () => {
    expect(MODEL_FAMILIES.map((f) => f.name)).toEqual(['llava', 'llava-next', 'qwen2-vl']);
    expect(findFamily('qwen2-vl')?.label).toBe('Qwen2-VL');
    expect(findFamily('qwen2.5-vl')).toBeUndefined();
    expect(describeFamilies()).toBe(
      'LLaVA-1.5 (LlavaForConditionalGeneration, LlavaLlamaForCausalLM), LLaVA-NeXT (LlavaNextForConditionalGeneration) and Qwen2-VL (Qwen2VLForConditionalGeneration)',
    );
    expect(findFamily('llava-next')?.fixtures.realShapeSizes).toEqual({
      'vicuna-7b': 'llava-hf/llava-v1.6-vicuna-7b-hf',
      'vicuna-13b': 'llava-hf/llava-v1.6-vicuna-13b-hf',
      'mistral-7b': 'llava-hf/llava-v1.6-mistral-7b-hf',
    });
    expect(findFamily('llava')?.fixtures.realShapeSizes).toEqual({ '7b': 'llava-hf/llava-1.5-7b-hf', '13b': 'llava-hf/llava-1.5-13b-hf' });
    expect(findFamily('qwen2-vl')?.fixtures.realShapeSizes).toEqual({ '2b': 'Qwen/Qwen2-VL-2B-Instruct', '7b': 'Qwen/Qwen2-VL-7B-Instruct' });
  });

  it('refuses a checkpoint of no registered family, naming its architecture and what vasink converts', () => {
    expect(() => familyOfConfig({ architectures: ['Qwen2_5_VLForConditionalGeneration'], model_type: 'qwen2_5_vl' }, 'ckpt/config.json')).toThrow(
      'unsupported architecture in ckpt/config.json: architectures Qwen2_5_VLForConditionalGeneration, model_type qwen2_5_vl; vasink converts LLaVA-1.5 (LlavaForConditionalGeneration, LlavaLlamaForCausalLM), LLaVA-NeXT (LlavaNextForConditionalGeneration) and Qwen2-VL (Qwen2VLForConditionalGeneration)',
    );
  });

  for (const family of MODEL_FAMILIES) {
    it(`${family.name}: its tiny fixture is recognised by the registry, converts, loads and generates`, async () => {
      const checkpoint = join(dir, `${family.name}-hf`);
      const target = join(dir, `${family.name}-model`);
      await family.fixtures.writeTiny(checkpoint, { size: 'tiny' });
      const config = JSON.parse(await readFile(join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(familyOfConfig(config)).toBe(family);
      const manifest = await family.convert({ source: checkpoint, target, dtype: 'float32' });
      expect(manifest.family).toBe(family.name);
      const model = await VisionLanguageModel.load(target, { families: MODEL_FAMILIES, device: 'cpu', memory: false });
      try {
        const image = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 37) % 256) };
        const prepared = await model.prepare({ question: 'What is in the image?', images: [image] });
        const [answer] = await collect(model.generate(prepared, { rows: [{}], maxNewTokens: 2 }));
        expect(answer!.ids.length).toBeGreaterThan(0);
      } finally {
        await model.close();
      }
    });
  }
});
