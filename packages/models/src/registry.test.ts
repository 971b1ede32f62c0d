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
    const names = MODEL_FAMILIES.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['llava', 'llava-next', 'qwen2-vl']));
    for (const family of MODEL_FAMILIES) {
      expect(findFamily(family.name)).toBe(family);
      expect(family.label.length).toBeGreaterThan(0);
      expect(family.architectures.length).toBeGreaterThan(0);
      expect(Object.keys(family.fixtures.realShapeSizes).length).toBeGreaterThan(0);
    }
    expect(findFamily('llava-2')).toBeUndefined();
    const [llava, next, qwen] = ['llava', 'llava-next', 'qwen2-vl'].map((name) => findFamily(name)!);
    expect(describeFamilies([llava!, next!, qwen!])).toBe(
      'LLaVA-1.5 (LlavaForConditionalGeneration, LlavaLlamaForCausalLM), LLaVA-NeXT (LlavaNextForConditionalGeneration) and Qwen2-VL (Qwen2VLForConditionalGeneration)',
    );
    expect(describeFamilies([qwen!])).toBe('Qwen2-VL (Qwen2VLForConditionalGeneration)');
    expect(llava!.fixtures.realShapeSizes).toEqual({ '7b': 'llava-hf/llava-1.5-7b-hf', '13b': 'llava-hf/llava-1.5-13b-hf' });
    expect(next!.fixtures.realShapeSizes).toEqual({
      'vicuna-7b': 'llava-hf/llava-v1.6-vicuna-7b-hf',
      'vicuna-13b': 'llava-hf/llava-v1.6-vicuna-13b-hf',
      'mistral-7b': 'llava-hf/llava-v1.6-mistral-7b-hf',
    });
    expect(qwen!.fixtures.realShapeSizes).toEqual({ '2b': 'Qwen/Qwen2-VL-2B-Instruct', '7b': 'Qwen/Qwen2-VL-7B-Instruct' });
  });

  it('refuses a checkpoint of no registered family, naming its architecture and what vasink converts', () => {
    expect(() => familyOfConfig({ architectures: ['InternVLChatModel'], model_type: 'internvl_chat' }, 'ckpt/config.json')).toThrow(
      `unsupported architecture in ckpt/config.json: architectures InternVLChatModel, model_type internvl_chat; vasink converts ${describeFamilies()}`,
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
