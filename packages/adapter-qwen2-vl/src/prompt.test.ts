import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelManifest, type PreparedImages, type Tokenizer, checkedManifest, loadTokenizer } from '@vasink/runtime';
import { qwen2vlFamily } from './family.js';
import { QWEN2_VL_SYSTEM_PROMPT, type Qwen2VlAdapterSettings, qwen2vlSettings } from './adapter-settings.js';
import { QWEN2_VL_IMAGE_DEFAULTS } from './preprocessor-config.js';
import { prepareQwen2VlPrompt, qwen2vlChatPrompt } from './prompt.js';
import type { Qwen2VlImagesExtra } from './prepare-images.js';
import { mropePositionIds } from './rope-index.js';
import { TINY_QWEN2_VL_SPECS, writeQwen2VlTokenizer } from './tiny-checkpoint.js';
import type { GridThw } from './vision-inputs.js';

const scratch = mkdtempSync(join(tmpdir(), 'vasink-q2vl-prompt-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let tokenizer: Tokenizer;
beforeAll(async () => {
  await writeQwen2VlTokenizer(scratch);
  tokenizer = await loadTokenizer(scratch);
});

const adapter: Qwen2VlAdapterSettings = {
  image: QWEN2_VL_IMAGE_DEFAULTS,
  imageTokenId: 151655,
  visionStartTokenId: 151652,
  visionEndTokenId: 151653,
  vision: TINY_QWEN2_VL_SPECS.tiny.vision,
  tensorLayout: 'legacy',
  systemPrompt: QWEN2_VL_SYSTEM_PROMPT,
};
// Only the fields a family reads matter here; the rest of a manifest is the runtime's.
const onDisk = (settings: object) => ({ family: 'qwen2-vl', adapter: settings }) as Pick<ModelManifest, 'family' | 'adapter'> as ModelManifest;
const manifest = checkedManifest(qwen2vlFamily, onDisk(adapter));

function images(grids: GridThw[]): PreparedImages<Qwen2VlImagesExtra> {
  return {
    feeds: {},
    tokensPerImage: grids.map(([t, h, w]) => (t * h * w) / 4),
    panels: [],
    extra: { gridThw: grids },
  };
}

describe('prepareQwen2VlPrompt', () => {
  it('writes the Qwen2-VL chat format and expands the image pad to the merged token count', () => {
    const prompt = prepareQwen2VlPrompt({ question: 'What is in the picture?', images: images([[1, 8, 10]]), manifest, tokenizer, template: 'default' });
    expect(prompt.text).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is in the picture?<|im_end|>\n<|im_start|>assistant\n',
    );
    // Token ids of transformers' Qwen2 tokenizer for that text, with 20 image tokens.
    const head = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 151652];
    const tail = [151653, 3838, 374, 304, 279, 6802, 30, 151645, 198, 151644, 77091, 198];
    expect(prompt.inputIds).toEqual([...head, ...new Array(20).fill(151655), ...tail]);
    expect(Array.from(prompt.imageMask)).toEqual([...new Array(15).fill(0), ...new Array(20).fill(1), ...new Array(12).fill(0)]);
    expect(prompt.stopStrings).toEqual(['<|im_end|>']);
    // Text before the image counts 0..14; the 4 x 5 grid starts at 15; the text after resumes at 15 + 5.
    expect(prompt.nextPosition).toBe(20 + 12);
    const t = Array.from(prompt.positionIds!.subarray(0, 47), Number);
    const h = Array.from(prompt.positionIds!.subarray(47, 94), Number);
    const w = Array.from(prompt.positionIds!.subarray(94), Number);
    expect(t.slice(14, 17)).toEqual([14, 15, 15]);
    expect(h.slice(15, 35)).toEqual([15, 15, 15, 15, 15, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18]);
    expect(w.slice(15, 21)).toEqual([15, 16, 17, 18, 19, 15]);
    expect([t[35], h[35], w[35], t[46]]).toEqual([20, 20, 20, 31]);
  });

  it('renders a conversation (system message, earlier turns, images per turn) as the chat template does', () => {
    const grids: GridThw[] = [
      [1, 8, 10],
      [1, 6, 12],
    ];
    const prepared = images(grids);
    const history = [
      { role: 'user', text: 'What is this?', images: 1 },
      { role: 'assistant', text: 'A cat.' },
    ] as const;
    const plain = prepareQwen2VlPrompt({ question: 'And this?', system: 'Be brief.', history, images: prepared, manifest, tokenizer, template: 'default' });
    expect(plain.text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n' +
        '<|im_start|>assistant\nA cat.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>And this?<|im_end|>\n<|im_start|>assistant\n',
    );
    const chat = prepareQwen2VlPrompt({ question: 'And this?', system: 'Be brief.', history, images: prepared, manifest, tokenizer, template: 'chat' });
    expect(chat.text).toBe(plain.text);
    expect(chat.inputIds).toEqual(plain.inputIds);
    expect(plain.positionIds).toEqual(
      mropePositionIds({ inputIds: plain.inputIds, imageGrids: grids, imageTokenId: 151655, visionStartTokenId: 151652, spatialMergeSize: 2 }).positionIds,
    );
    // Without a system message the template inserts the default one, as the default format does.
    const noSystem = prepareQwen2VlPrompt({ question: 'And this?', history, images: prepared, manifest, tokenizer, template: 'chat' });
    expect(noSystem.text).toBe(prepareQwen2VlPrompt({ question: 'And this?', history, images: prepared, manifest, tokenizer, template: 'default' }).text);
    expect(noSystem.text.startsWith('<|im_start|>system\nYou are a helpful assistant.<|im_end|>')).toBe(true);
  });

  it("renders the checkpoint's chat template to the same prompt, for one and two images", () => {
    for (const grids of [[[1, 8, 10]], [[1, 8, 10], [1, 6, 12]]] as GridThw[][]) {
      const prepared = images(grids);
      const chat = prepareQwen2VlPrompt({ question: 'Compare them.', images: prepared, manifest, tokenizer, template: 'chat' });
      const plain = prepareQwen2VlPrompt({ question: 'Compare them.', images: prepared, manifest, tokenizer, template: 'default' });
      expect(chat.text).toBe(plain.text);
      expect(chat.inputIds).toEqual(plain.inputIds);
      expect(chat.inputIds.filter((id) => id === 151655)).toHaveLength(grids.reduce((n, [t, h, w]) => n + (t * h * w) / 4, 0));
      expect(chat.positionIds).toEqual(
        mropePositionIds({ inputIds: chat.inputIds, imageGrids: grids, imageTokenId: 151655, visionStartTokenId: 151652, spatialMergeSize: 2 }).positionIds,
      );
    }
    expect(qwen2vlChatPrompt({ question: 'Q', images: 2, systemPrompt: 'S' })).toBe(
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>Q<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('builds a text-only prompt with plain positions', () => {
    const prompt = prepareQwen2VlPrompt({ question: 'Hi', images: images([]), manifest, tokenizer, template: 'default' });
    expect(prompt.imageMask.every((m) => m === 0)).toBe(true);
    expect(prompt.nextPosition).toBe(prompt.inputIds.length);
  });

  it('refuses a question holding the image placeholder, and images without grids', () => {
    expect(() => prepareQwen2VlPrompt({ question: 'look <|image_pad|>', images: images([[1, 2, 2]]), manifest, tokenizer, template: 'default' })).toThrow(
      'the prompt holds 2 <|image_pad|> tokens for 1 images',
    );
    const { extra: _, ...noGrid } = images([[1, 2, 2]]);
    expect(() => prepareQwen2VlPrompt({ question: 'Q', images: noGrid, manifest, tokenizer, template: 'default' })).toThrow('carry no grid_thw');
  });

  it('reads the manifest settings only when every field the images and prompt use is there', () => {
    expect(qwen2vlSettings(manifest).imageTokenId).toBe(151655);
    const broken = (change: object) => onDisk({ ...adapter, ...change });
    expect(() => qwen2vlSettings(broken({ image: { ...QWEN2_VL_IMAGE_DEFAULTS, maxPixels: 'many' } }))).toThrow(
      'manifest.json: adapter.image.maxPixels is missing or invalid (expected a positive number); convert the checkpoint again with this vasink',
    );
    expect(() => qwen2vlSettings(broken({ visionEndTokenId: -1 }))).toThrow('adapter.visionEndTokenId is missing or invalid');
    expect(() => qwen2vlSettings(broken({ image: undefined }))).toThrow('adapter.image is missing or invalid');
    expect(() => qwen2vlSettings(broken({ vision: { ...adapter.vision, numHeads: 0 } }))).toThrow('adapter.vision.numHeads is missing or invalid (expected an integer ≥ 1)');
    expect(() => qwen2vlSettings(broken({ tensorLayout: 'new' }))).toThrow('adapter.tensorLayout is missing or invalid (expected "legacy" or "current")');
    expect(() => qwen2vlSettings({ ...onDisk(adapter), family: 'llava' })).toThrow('the model is a llava model, not qwen2-vl');
    const { systemPrompt: _, ...older } = adapter;
    expect(qwen2vlSettings(onDisk(older)).systemPrompt).toBe(QWEN2_VL_SYSTEM_PROMPT);
  });
});
