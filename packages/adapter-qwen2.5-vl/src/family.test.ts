import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QwenManifest, tinyQwen2VlTestImage, visionNaming } from '@vasink/adapter-qwen2-vl';
import { type RgbImage, decodeImage, encodePng } from '@vasink/image';
import { type GenerationResult, type ModelManifest, type VarStepDiagnostics, VisionLanguageModel, collect } from '@vasink/runtime';
import { openCheckpoint } from '@vasink/safetensors';
import type { TypedTensor } from '@vasink/tensor';
import { resolveVarConfig } from '@vasink/var';
import { type Qwen25VlVisionConfig, parseQwen25VlConfig, visionWeightShapes } from './config.js';
import { qwen25vlFamily } from './family.js';
import { qwen25vlSettings } from './prepare-images.js';
import { writeTinyQwen25VlCheckpoint } from './tiny-checkpoint.js';
import { VISION_IO } from './vision-graph.js';
import { referenceQwen25VlVision } from './vision-reference.js';

// The real pipeline on the tiny Qwen2.5-VL checkpoint: write → convert → load → prepare → generate.
const scratch = mkdtempSync(join(tmpdir(), 'vasink-q25vl-e2e-'));
let manifest: QwenManifest<Qwen25VlVisionConfig>;
let model: VisionLanguageModel;
let image: RgbImage;
let sinkDims: readonly [number, number];
const hallucination = resolveVarConfig({ preset: 'hallucination' });

beforeAll(async () => {
  const tiny = await writeTinyQwen25VlCheckpoint(join(scratch, 'hf'));
  sinkDims = tiny.sinkDims;
  manifest = await qwen25vlFamily.convert({ source: tiny.dir, target: join(scratch, 'model'), dtype: 'float32' });
  model = await VisionLanguageModel.load(join(scratch, 'model'), { families: [qwen25vlFamily] });
  // 5 × 4 merged tokens, windows of 2 × 2: the white merge units [0, 1] and [2, 3] sit in different windows.
  image = await decodeImage(await encodePng(tinyQwen2VlTestImage({ width: 140, height: 112, brightWindows: [[0, 1], [2, 3]] })));
});
afterAll(async () => {
  await model?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('qwen25vlFamily on the tiny checkpoint', () => {
  it('writes a Qwen2.5-VL checkpoint the family recognises and converts (sink dims from config.json)', () => {
    const config = JSON.parse(readFileSync(join(scratch, 'hf', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['Qwen2_5_VLForConditionalGeneration']);
    expect(qwen25vlFamily.matches(config)).toBe(true);
    const parsed = parseQwen25VlConfig(config);
    expect(parsed.vision).toMatchObject({ windowSize: 56, fullAttentionBlocks: [1, 3], embedDim: 64 });
    expect(manifest.family).toBe('qwen2.5-vl');
    expect(manifest.sink.dims).toEqual([...sinkDims]);
    // Read back from disk, the settings are checked field by field: the same as written.
    const onDisk = JSON.parse(readFileSync(join(scratch, 'model', 'manifest.json'), 'utf8')) as ModelManifest;
    expect(qwen25vlSettings(onDisk)).toEqual(manifest.adapter);
    expect(manifest.adapter.vision).toMatchObject({ windowSize: 56, patchSize: 14, spatialMergeSize: 2, fullAttentionBlocks: [1, 3] });
    expect(() => qwen25vlSettings({ ...onDisk, family: 'qwen2-vl' })).toThrow('the model is a qwen2-vl model, not qwen2.5-vl');
    const { windowSize: _, ...noWindow } = manifest.adapter.vision;
    expect(() => qwen25vlSettings({ ...onDisk, adapter: { ...manifest.adapter, vision: noWindow } })).toThrow(
      'manifest.json: adapter.vision.windowSize is missing or invalid (expected an integer ≥ 1); convert the checkpoint again with this vasink',
    );
    expect(() => qwen25vlSettings({ ...onDisk, adapter: { ...manifest.adapter, vision: { ...noWindow, windowSize: 56, fullAttentionBlocks: [1, -3] } } })).toThrow(
      'adapter.vision.fullAttentionBlocks is missing or invalid (expected a list of non-negative integers)',
    );
  });

  it('computes image features as referenceQwen25VlVision does, in the processor order', async () => {
    const images = await qwen25vlFamily.prepareImages([image], manifest);
    const checkpoint = await openCheckpoint(join(scratch, 'hf'));
    const weights = new Map<string, TypedTensor>();
    try {
      const naming = visionNaming('legacy');
      for (const name of visionWeightShapes(parsed().vision).keys()) weights.set(name, await checkpoint.read(naming(name)));
    } finally {
      await checkpoint.close();
    }
    // The reference takes the processor's order: prepare with Qwen2-VL's processor through the family's own extra.
    const gridThw = images.extra?.gridThw ?? [];
    expect(gridThw).toEqual([[1, 8, 10]]);
    const order = Array.from((images.feeds[VISION_IO.tokenOrder] as { data: BigInt64Array }).data, Number);
    expect(order).not.toEqual(order.map((_, i) => i)); // windows reorder this image
    const windowed = (images.feeds[VISION_IO.pixelValues] as { data: Float32Array }).data;
    // Undo the window order on the pixels to get the processor's rows back.
    const processor = new Float32Array(windowed.length);
    const row = 4 * 1176;
    order.forEach((position, unit) => processor.set(windowed.subarray(position * row, (position + 1) * row), unit * row));
    const expected = referenceQwen25VlVision({ config: parsed().vision, weights, pixelValues: processor, gridThw });
    const prepared = await model.prepare({ question: 'What is in the image?', images: [image] });
    const start = prepared.prompt.imageMask.indexOf(1);
    const d = manifest.decoder.hiddenSize;
    const features = prepared.embeds.subarray(start * d, (start + 20) * d);
    let worst = 0;
    let scale = 0;
    expected.forEach((e, i) => {
      worst = Math.max(worst, Math.abs((features[i] as number) - e));
      scale = Math.max(scale, Math.abs(e));
    });
    expect(worst / scale).toBeLessThan(1e-4);
  });

  it('sinks at the first token and the two white merge units; VAR selects heads and moves attention at prefill and decode; deterministic', async () => {
    const prepared = await model.prepare({ question: 'Is there a white square in the picture?', images: [image] });
    const start = prepared.prompt.imageMask.indexOf(1);
    expect(prepared.images.tokensPerImage).toEqual([20]);
    const run = () => collect(model.generate(prepared, { rows: [{}, { var: hallucination }], diagnostics: true, maxNewTokens: 4 }));
    const results = (await run()) as [GenerationResult<VarStepDiagnostics>, GenerationResult<VarStepDiagnostics>];
    const [base, withVar] = results;
    const prefill = withVar.diagnostics[0]!;
    for (let l = 2; l < 6; l++) expect(prefill.sinkPositions![1]![l], `layer ${l}`).toEqual([0, start + 1, start + 2 * 5 + 3]);
    for (const step of withVar.diagnostics) {
      expect((step?.selectedPerHead?.[1] ?? []).flat().some((n) => n > 0)).toBe(true);
      expect((step?.moved?.[1] ?? []).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    expect(withVar.diagnostics.some((d) => d?.phase === 'decode')).toBe(true);
    expect(withVar.logProbs).not.toEqual(base.logProbs);
    expect((await run()).map((r) => r.ids)).toEqual(results.map((r) => r.ids));
  });
});

function parsed() {
  return parseQwen25VlConfig(JSON.parse(readFileSync(join(scratch, 'hf', 'config.json'), 'utf8')) as Record<string, unknown>);
}
