import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlavaNextAdapterSettings } from './convert.js';
import { type RgbImage, createRgbImage, decodeImage, encodePng } from '@vasink/image';
import { type GenerationResult, type ModelManifest, type PreparedRequest, type VarStepDiagnostics, VisionLanguageModel, collect } from '@vasink/runtime';
import { type TypedTensor, fromOrtTensor, toFloat32 } from '@vasink/tensor';
import { resolveVarConfig } from '@vasink/var';
import { anyresFeatureOrder, anyresLayout } from './anyres.js';
import { readLlavaCheckpoint } from './llava-checkpoint.js';
import { parseLlavaConfig } from './llava-config.js';
import { llavaNextAdapterSettings, llavaNextFamily } from './llava-family.js';
import { mistralInstructPrompt } from './llava-prompt.js';
import { type TinyLlavaCheckpoint, writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';
import { VISION_IO, visionWeightSource } from './vision-graph.js';
import { referenceLlavaVision } from './vision-reference.js';
import { visionWeightShapes } from './vision-weights.js';

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-next-'));
let tiny: TinyLlavaCheckpoint;
let manifest: ModelManifest<LlavaNextAdapterSettings>;
let model: VisionLanguageModel;
let image: RgbImage;
let prepared: PreparedRequest;
let imageStart: number;
const hallucination = resolveVarConfig({ preset: 'hallucination' });

/** A 300 × 200 picture through PNG and the real decoder: the 2 × 2 pinpoint, unpadded to 8 × 12 tile tokens. */
async function testImage(): Promise<RgbImage> {
  const rgb = new Uint8Array(300 * 200 * 3);
  for (let y = 0; y < 200; y++) for (let x = 0; x < 300; x++) rgb.set([(x * 255) / 299, (y * 255) / 199, (x * y) % 256], (y * 300 + x) * 3);
  return decodeImage(await encodePng(createRgbImage(300, 200, rgb)));
}

const generateRows = (rows: { var?: typeof hallucination }[], maxNewTokens = 6): Promise<GenerationResult<VarStepDiagnostics>[]> =>
  collect(model.generate(prepared, { rows, maxNewTokens, diagnostics: true }));

beforeAll(async () => {
  tiny = await writeTinyLlavaCheckpoint(join(root, 'checkpoint'), { size: 'tiny', variant: 'llava-next' });
  manifest = await llavaNextFamily.convert({ source: tiny.dir, target: join(root, 'model'), dtype: 'float32' });
  model = await VisionLanguageModel.load(join(root, 'model'), { families: [llavaNextFamily] });
  image = await testImage();
  prepared = await model.prepare({ question: 'What is shown in this picture?', images: [image] });
  imageStart = prepared.prompt.imageMask.indexOf(1);
});

afterAll(async () => {
  await model?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('LLaVA-NeXT: tiny checkpoint → convert → VisionLanguageModel', () => {
  it('writes the llava-hf LLaVA-NeXT layout and converts it as family llava-next', () => {
    const config = JSON.parse(readFileSync(join(tiny.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['LlavaNextForConditionalGeneration']);
    expect(config.image_grid_pinpoints).toEqual([[84, 168], [168, 84], [168, 168], [252, 84], [84, 252]]);
    expect(manifest.family).toBe('llava-next');
    const settings = llavaNextAdapterSettings(manifest);
    expect(settings.pinpoints).toEqual(tiny.pinpoints);
    expect([settings.imageSize, settings.patchSize, settings.promptFormat]).toEqual([84, 14, 'vicuna_v1']);
    expect(manifest.sink.dims).toEqual([...tiny.sinkDims]);
  });

  it('expands the image into the processor token count: base view + unpadded tiles + a newline per row', () => {
    const layout = anyresLayout(300, 200, { imageSize: 84, patchSize: 14, pinpoints: tiny.pinpoints! });
    expect(layout.bestResolution).toEqual([168, 168]);
    expect(layout.unpadded).toMatchObject({ rows: 8, cols: 12 });
    expect(layout.tokens).toBe(36 + 8 * 13);
    expect(prepared.prompt.imageMask.reduce((a, b) => a + b, 0)).toBe(layout.tokens);
    expect(prepared.images.panels[0]!.map((p) => [p.label, p.rows, p.cols])).toEqual([
      ['base', 6, 6],
      ['tiles', 8, 12],
    ]);
  });

  it('computes the packed image features as referenceLlavaVision does (tiles, unpadding, image_newline)', async () => {
    const checkpoint = await readLlavaCheckpoint(tiny.dir);
    try {
      const source = visionWeightSource(checkpoint.visionWeights);
      const weights = new Map<string, TypedTensor>();
      for (const name of visionWeightShapes(checkpoint.config).keys()) weights.set(name, await source.read(name));
      const images = await llavaNextFamily.prepareImages([image], manifest);
      const pixels = toFloat32(fromOrtTensor(images.feeds[VISION_IO.pixelValues] as never));
      const order = (images.feeds[VISION_IO.featureOrder] as { data: BigInt64Array }).data;
      const expected = referenceLlavaVision({ config: checkpoint.config, weights, pixelValues: pixels, featureOrder: order });
      const d = tiny.text.hiddenSize;
      const tokens = images.tokensPerImage[0]!;
      const features = prepared.embeds.subarray(imageStart * d, (imageStart + tokens) * d);
      let worst = 0;
      let scale = 0;
      expected.data.forEach((e, i) => {
        worst = Math.max(worst, Math.abs((features[i] as number) - e));
        scale = Math.max(scale, Math.abs(e));
      });
      expect(expected.dims).toEqual([tokens, d]);
      expect(worst / scale).toBeLessThan(1e-4);
    } finally {
      await checkpoint.close();
    }
  });

  it('finds BOS and the planted patches of the base view and of every tile kept by the unpadding as sinks', async () => {
    const [, withVar] = await generateRows([{}, { var: hallucination }], 1);
    const layout = anyresLayout(image.width, image.height, { imageSize: 84, patchSize: 14, pinpoints: tiny.pinpoints! });
    const perTile = layout.grid * layout.grid;
    const order = anyresFeatureOrder(layout, 0, layout.tiles * perTile);
    const planted = order.flatMap((row, k) => (row < layout.tiles * perTile && tiny.sinkPatches.includes(row % perTile) ? [imageStart + k] : []));
    expect(planted.length).toBeGreaterThan(tiny.sinkPatches.length);
    const sinks = withVar!.diagnostics[0]?.sinkPositions?.[1] ?? [];
    expect(sinks).toHaveLength(tiny.text.numLayers);
    sinks.forEach((layerSinks, l) => expect(layerSinks).toEqual(l < 2 ? [] : [0, ...planted]));
  });

  it('redistributes at prefill and decode; VAR changes the logits; greedy output is the same across runs', async () => {
    const first = await generateRows([{}, { var: hallucination }]);
    const second = await generateRows([{}, { var: hallucination }]);
    expect(second.map((r) => r.ids)).toEqual(first.map((r) => r.ids));
    const [base, withVar] = first as [GenerationResult<VarStepDiagnostics>, GenerationResult<VarStepDiagnostics>];
    for (const step of withVar.diagnostics) {
      expect((step?.selectedPerHead?.[1] ?? []).flat().some((n) => n > 0)).toBe(true);
      expect((step?.moved?.[1] ?? []).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    const difference = Math.max(...base.topLogits[0]!.map((t, i) => Math.abs(t.logit - (withVar.topLogits[0]![i]?.logit ?? 0))));
    expect(difference).toBeGreaterThan(1e-2);
  });
});

describe('LLaVA-NeXT configs and prompts', () => {
  const nextConfig = (extra: Record<string, unknown> = {}) => ({
    architectures: ['LlavaNextForConditionalGeneration'],
    model_type: 'llava_next',
    text_config: { model_type: 'mistral', sliding_window: null, rope_theta: 1e6, vocab_size: 32064 },
    ...extra,
  });

  it('reads the anyres pinpoints (transformers default when absent) and a Mistral backbone with GQA', () => {
    const config = parseLlavaConfig(nextConfig(), { file: 'config.json' });
    expect(config.anyres?.pinpoints).toEqual([[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
    expect(config.textModelType).toBe('mistral');
    expect([config.text.numHeads, config.text.numKvHeads, config.text.intermediateSize, config.text.rope.theta]).toEqual([32, 8, 14336, 1e6]);
  });

  it('refuses pinpoints that are not tower multiples, CLS-keeping features, and a sliding window', () => {
    expect(() => parseLlavaConfig(nextConfig({ image_grid_pinpoints: [[336, 500]] }), { file: 'config.json' })).toThrow(
      /image_grid_pinpoints must be a non-empty list of \[height, width\] pairs, each a positive multiple of the vision tower's image_size 336/,
    );
    expect(() => parseLlavaConfig(nextConfig({ vision_feature_select_strategy: 'full' }), { file: 'config.json' })).toThrow(/LLaVA-NeXT .* needs "default"/);
    expect(() => parseLlavaConfig(nextConfig({ text_config: { model_type: 'mistral', sliding_window: 4096 } }), { file: 'config.json' })).toThrow(
      /sliding_window is 4096/,
    );
  });

  it('writes the mistral_instruct format as LLaVA conversation.py does', () => {
    expect(mistralInstructPrompt('What is this?', 1)).toBe('[INST] <image>\nWhat is this? [/INST]');
    expect(
      mistralInstructPrompt('Its colour?', 1, {
        history: [
          { role: 'user', text: 'What is this?', images: 1 },
          { role: 'assistant', text: 'A cat.' },
        ],
      }),
    ).toBe('[INST] <image>\nWhat is this? [/INST] A cat. </s>[INST] Its colour? [/INST]');
    expect(mistralInstructPrompt('Hi', 0, { system: 'Be brief.' })).toBe('[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]');
  });
});
