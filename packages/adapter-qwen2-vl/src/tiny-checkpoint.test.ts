import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '@vasink/runtime';
import { openCheckpoint } from '@vasink/safetensors';
import { validateDecoderConfig } from '@vasink/transformer-graph';
import { detectTensorLayout } from './checkpoint-layout.js';
import { parseQwen2VlImageSettings } from './preprocessor-config.js';
import { parseQwen2VlConfig } from './qwen2vl-config.js';
import { QWEN2_VL_CHAT_TEMPLATE, TINY_QWEN2_VL_SPECS, tinyQwen2VlTestImage, writeTinyQwen2VlCheckpoint } from './tiny-checkpoint.js';

const scratch = mkdtempSync(join(tmpdir(), 'vasink-q2vl-tiny-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('writeTinyQwen2VlCheckpoint', () => {
  it('both sizes describe valid models; hidden ≥ 512 so that τ = 20 can fire', () => {
    for (const spec of Object.values(TINY_QWEN2_VL_SPECS)) {
      validateDecoderConfig(spec.text);
      expect(spec.text.hiddenSize).toBeGreaterThanOrEqual(512);
      expect(spec.sinkDims.every((d) => d < spec.text.hiddenSize)).toBe(true);
    }
  });

  it('writes the released layout: config, bfloat16 tensors, Qwen2 tokenizer with the Qwen2-VL chat template, small pixel bounds', async () => {
    const written = await writeTinyQwen2VlCheckpoint(join(scratch, 'legacy'), { vocabSize: 256 });
    const config = parseQwen2VlConfig(json(join(written.dir, 'config.json')));
    expect(config.text).toEqual({ ...TINY_QWEN2_VL_SPECS.tiny.text, vocabSize: 256 });
    expect(config.vision).toEqual(TINY_QWEN2_VL_SPECS.tiny.vision);
    expect(parseQwen2VlImageSettings(json(join(written.dir, 'preprocessor_config.json')))).toMatchObject({ minPixels: 3136, maxPixels: 25088 });
    expect(json(join(written.dir, 'chat_template.json')).chat_template).toBe(QWEN2_VL_CHAT_TEMPLATE);
    const checkpoint = await openCheckpoint(written.dir);
    expect(detectTensorLayout(checkpoint.names())).toBe('legacy');
    expect((await checkpoint.info('visual.patch_embed.proj.weight')).shape).toEqual([64, 3, 2, 14, 14]);
    expect(new Set(await Promise.all(checkpoint.names().map(async (n) => (await checkpoint.info(n)).dtype)))).toEqual(new Set(['BF16']));
    expect(checkpoint.has('lm_head.weight')).toBe(false);
    await checkpoint.close();
    const tokenizer = await loadTokenizer(written.dir);
    expect(tokenizer.chatTemplate).toBe(QWEN2_VL_CHAT_TEMPLATE);
    expect(tokenizer.tokenToId('<|image_pad|>')).toBe(151655);
    expect(tokenizer.tokenToId('<|video_pad|>')).toBe(151656);
    // Qwen2-VL's tokenizer stops at <|video_pad|>: the later Qwen3 tokens are gone.
    expect(tokenizer.tokenToId('<think>')).toBeUndefined();
    expect(tokenizer.eosTokenId).toBe(151645);
  });

  it('writes the newer layout on request: text_config and model.language_model.* / model.visual.* names', async () => {
    const written = await writeTinyQwen2VlCheckpoint(join(scratch, 'current'), { vocabSize: 256, layout: 'current' });
    const raw = json(join(written.dir, 'config.json'));
    expect(raw.text_config).toMatchObject({ hidden_size: 512, num_hidden_layers: 6 });
    expect(raw.hidden_size).toBeUndefined();
    expect(parseQwen2VlConfig(raw).text).toEqual({ ...TINY_QWEN2_VL_SPECS.tiny.text, vocabSize: 256 });
    const checkpoint = await openCheckpoint(written.dir);
    expect(detectTensorLayout(checkpoint.names())).toBe('current');
    expect(checkpoint.has('model.visual.merger.mlp.2.weight')).toBe(true);
    await checkpoint.close();
  });

  it('test images put white blocks on whole merge windows', () => {
    const image = tinyQwen2VlTestImage({ width: 56, height: 84, brightWindows: [[2, 1]] });
    const pixel = (x: number, y: number) => image.data[(y * 56 + x) * 3] as number;
    expect(pixel(28, 56)).toBe(255);
    expect(pixel(55, 83)).toBe(255);
    expect(pixel(27, 56)).toBeLessThan(170);
    expect(pixel(28, 55)).toBeLessThan(170);
    expect(() => tinyQwen2VlTestImage({ width: 56, height: 56, brightWindows: [[2, 0]] })).toThrow('window [2, 0] is outside a 56x56 image');
  });
});
