import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint, writeSafetensors } from '@vasink/safetensors';
import type { TypedTensor } from '@vasink/tensor';
import { MICRO_TEXT, microWeights, writeMicroLlava } from './__fixtures__/micro-llava.js';
import { MissingVisionTowerError } from './errors.js';
import { type LlavaLayout, llavaLayoutNaming, readLlavaCheckpoint } from './llava-checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('llavaLayoutNaming', () => {
  it.each([
    ['llava-hf-legacy', 'language_model.model.layers.3.mlp.up_proj.weight', 'language_model.lm_head.weight', 'vision_tower.vision_model.pre_layrnorm.weight', 'multi_modal_projector.linear_2.bias'],
    ['llava-hf', 'model.language_model.layers.3.mlp.up_proj.weight', 'lm_head.weight', 'model.vision_tower.vision_model.pre_layrnorm.weight', 'model.multi_modal_projector.linear_2.bias'],
    ['original', 'model.layers.3.mlp.up_proj.weight', 'lm_head.weight', 'vision_model.pre_layrnorm.weight', 'model.mm_projector.2.bias'],
  ] as const)('%s', (layout: LlavaLayout, layer, head, vision, projector) => {
    const naming = llavaLayoutNaming(layout);
    expect(naming.decoder('layers.3.mlp.up_proj.weight')).toBe(layer);
    expect(naming.decoder('lm_head.weight')).toBe(head);
    expect(naming.vision('vision_model.pre_layrnorm.weight')).toBe(vision);
    expect(naming.projector('multi_modal_projector.linear_2.bias')).toBe(projector);
  });
  it('maps a linear projector (LLaVA v1) to mm_projector itself', () => {
    expect(llavaLayoutNaming('original', 1).projector('multi_modal_projector.linear_1.weight')).toBe('model.mm_projector.weight');
  });
});

describe('readLlavaCheckpoint', () => {
  it.each(['llava-hf-legacy', 'llava-hf', 'original'] as const)('detects the %s layout by its tensor names', async (layout) => {
    const { dir, visionTower } = await writeMicroLlava(join(root, layout), layout);
    const checkpoint = await readLlavaCheckpoint(dir, visionTower ? { visionTower } : {});
    try {
      expect(checkpoint.layout).toBe(layout);
      expect(checkpoint.config.text).toEqual(MICRO_TEXT);
      expect(checkpoint.visionTowerDir).toBe(visionTower);
      const embed = await checkpoint.decoderWeights.source.read(checkpoint.decoderWeights.naming('embed_tokens.weight'));
      expect(embed.dims).toEqual([32064, 32]);
    } finally {
      await checkpoint.close();
    }
  });

  it("reads an original release that carries its tower's weights (model.vision_tower.vision_tower.*), sized by the tower's config", async () => {
    const { dir, visionTower } = await writeMicroLlava(join(root, 'embedded'), 'original');
    // Move the tower's tensors into the main checkpoint; keep only the tower's config.json.
    const main = await openCheckpoint(dir);
    const tower = await openCheckpoint(visionTower!);
    const tensors: [string, TypedTensor][] = [];
    for (const name of main.names()) tensors.push([name, await main.read(name)]);
    for (const name of tower.names().filter((n) => n.startsWith('vision_model.'))) tensors.push([`model.vision_tower.vision_tower.${name}`, await tower.read(name)]);
    await main.close();
    await tower.close();
    await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    const configOnly = join(root, 'clip-config-only');
    mkdirSync(configOnly);
    writeFileSync(join(configOnly, 'config.json'), readFileSync(join(visionTower!, 'config.json')));

    await expect(readLlavaCheckpoint(dir)).rejects.toThrow(MissingVisionTowerError);
    const checkpoint = await readLlavaCheckpoint(dir, { visionTower: configOnly });
    try {
      expect(checkpoint.visionTowerDir).toBeUndefined();
      const reference = microWeights().visionWeights.get('vision_model.pre_layrnorm.weight')!;
      const name = checkpoint.visionWeights.vision.naming('vision_model.pre_layrnorm.weight');
      expect(name).toBe('model.vision_tower.vision_tower.vision_model.pre_layrnorm.weight');
      expect(Array.from((await checkpoint.visionWeights.vision.source.read(name)).data as Float32Array)).toEqual(Array.from(reference.data as Float32Array));
    } finally {
      await checkpoint.close();
    }
  });
});
