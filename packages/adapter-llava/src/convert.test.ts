import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRgbImage } from '@vasink/image';
import { inspectModel, readModel } from '@vasink/onnx-graph';
import { type ConvertProgress, MissingFileError, type ModelManifest, VisionLanguageModel, collect } from '@vasink/runtime';
import { createTensor } from '@vasink/tensor';
import { WeightMismatchError } from '@vasink/transformer-graph';
import { MICRO_TEXT, MICRO_VISION, microWeights, writeMicroLlava } from './__fixtures__/micro-llava.js';
import { LlavaConfigError, MissingVisionTowerError, UnsupportedCheckpointError } from './errors.js';
import { llavaFamily, llavaNextFamily } from './llava-family.js';

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-convert-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const image = createRgbImage(40, 30, new Uint8Array(40 * 30 * 3).map((_, i) => (i * 37) % 256));

/** Convert, load, and greedily answer one question: the first step's top logits and the ids. */
async function answer(source: string, options: { visionTower?: string; dtype?: 'float32' | 'float16'; name: string }) {
  const target = join(root, `${options.name}-model`);
  const manifest = await llavaFamily.convert({
    source,
    target,
    dtype: options.dtype ?? 'float32',
    ...(options.visionTower ? { visionTower: options.visionTower } : {}),
  });
  const model = await VisionLanguageModel.load(target, { families: [llavaFamily] });
  try {
    const prepared = await model.prepare({ question: 'Describe it.', images: [image] });
    const [result] = await collect(model.generate(prepared, { rows: [{}], maxNewTokens: 3, topLogits: 8 }));
    return { manifest, target, prepared, result: result! };
  } finally {
    await model.close();
  }
}

describe('convertLlava across layouts', () => {
  let legacy: Awaited<ReturnType<typeof answer>>;
  const progress: ConvertProgress[] = [];

  beforeAll(async () => {
    const { dir } = await writeMicroLlava(join(root, 'legacy'), 'llava-hf-legacy');
    const target = join(root, 'legacy-model');
    await llavaFamily.convert({ source: dir, target, dtype: 'float32', onProgress: (p) => progress.push(p) });
    legacy = await answer(dir, { name: 'legacy' });
  });

  it('writes four graphs over one shared weights.bin, the tokenizer files and the manifest', () => {
    const files = readdirSync(legacy.target).sort();
    expect(files).toEqual(
      [
        'chat_template.json',
        'decoder-diagnostics.onnx',
        'decoder.onnx',
        'embed.onnx',
        'manifest.json',
        'preprocessor_config.json',
        'special_tokens_map.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vision.onnx',
        'weights.bin',
      ].sort(),
    );
    for (const graph of ['vision.onnx', 'embed.onnx', 'decoder.onnx', 'decoder-diagnostics.onnx']) {
      expect(inspectModel(readModel(join(legacy.target, graph))).externalFiles).toEqual(['weights.bin']);
    }
    // Every tensor once: decoder + vision/projector tensors at float32, the embedding shared by embed and decoder.
    const decoderBytes = 4 * (2 * 32064 * 32 + 2 * (4 * 32 * 32 + 2 * 32 + 3 * 32 * 64) + 32);
    const d = MICRO_VISION.hiddenSize;
    const visionBytes = 4 * (d * 3 * 14 * 14 + d + 5 * d + 2 * d + (4 * (d * d + d) + 4 * d + 2 * 32 * d + 32 + d) + (32 * d + 32 + 32 * 32 + 32));
    const size = readFileSync(join(legacy.target, 'weights.bin')).byteLength;
    expect(size).toBeGreaterThanOrEqual(decoderBytes + visionBytes);
    expect(size).toBeLessThan(decoderBytes + visionBytes + 64 * 200);
  });

  it('writes a manifest the runtime reads: decoder config, tokens, adapter settings, no sink dims for an unknown backbone', () => {
    const manifest = legacy.manifest;
    expect(manifest).toMatchObject({
      family: 'llava',
      architecture: 'LlavaForConditionalGeneration',
      dtype: 'float32',
      decoder: MICRO_TEXT,
      graphs: { vision: 'vision.onnx', embed: 'embed.onnx', decoder: 'decoder.onnx', decoderDiagnostics: 'decoder-diagnostics.onnx' },
      weights: ['weights.bin'],
      sink: { dims: null, startLayer: 2, backbone: null, source: 'none' },
      tokens: { imageTokenId: 32000, eosTokenIds: [2], bosTokenId: 1 },
      adapter: { layout: 'llava-hf-legacy', imageSize: 28, patchSize: 14, tokensPerImage: 4, preprocess: 'pad', promptFormat: 'vicuna_v1', imageTokenInVocabulary: true },
    });
    expect(JSON.parse(readFileSync(join(legacy.target, 'manifest.json'), 'utf8'))).toEqual(manifest);
    expect(legacy.prepared.prompt.imageMask.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('refuses image pixel bounds: LLaVA-1.5 images have one fixed size', async () => {
    await expect(llavaFamily.convert({ source: '/nonexistent', target: '/nonexistent-too', dtype: 'float32', imagePixels: { max: 10_000 } })).rejects.toThrow(
      /square input or, for LLaVA-NeXT, to its image_grid_pinpoints .* apply to Qwen2-VL only/,
    );
  });

  it('reports progress per tensor, ending with every tensor read', () => {
    const last = progress.at(-1)!;
    expect(last.stage).toBe('done');
    expect(last.done).toBe(last.total);
    expect([...new Set(progress.map((p) => p.stage))]).toEqual(['validate', 'embed', 'decoder', 'decoder-diagnostics', 'vision', 'files', 'done']);
    expect(progress.filter((p) => p.detail).map((p) => p.done)).toEqual(Array.from({ length: last.total }, (_, i) => i + 1));
  });

  it('gives the same answer from the newer llava-hf names, sharded', async () => {
    const { dir } = await writeMicroLlava(join(root, 'new'), 'llava-hf', { maxShardBytes: 1_000_000 });
    expect(existsSync(join(dir, 'model.safetensors.index.json'))).toBe(true);
    const converted = await answer(dir, { name: 'new' });
    expect(converted.manifest.adapter.layout).toBe('llava-hf');
    expect(converted.result.ids).toEqual(legacy.result.ids);
    expect(converted.result.topLogits[0]).toEqual(legacy.result.topLogits[0]);
  });

  it('gives the same answer from the original release with its CLIP tower (placeholder image id)', async () => {
    const { dir, visionTower } = await writeMicroLlava(join(root, 'original'), 'original');
    const converted = await answer(dir, { name: 'original', visionTower: visionTower! });
    expect(converted.manifest.architecture).toBe('LlavaLlamaForCausalLM');
    expect(converted.manifest.tokens.imageTokenId).toBe(0);
    expect(converted.manifest.adapter).toMatchObject({ layout: 'original', imageTokenInVocabulary: false });
    expect(readdirSync(converted.target)).toContain('preprocessor_config.json');
    expect(converted.prepared.prompt.inputIds.filter((_, t) => !converted.prepared.prompt.imageMask[t])).toEqual(
      legacy.prepared.prompt.inputIds.filter((_, t) => !legacy.prepared.prompt.imageMask[t]),
    );
    expect(converted.result.ids).toEqual(legacy.result.ids);
    expect(converted.result.topLogits[0]).toEqual(legacy.result.topLogits[0]);
  });

  it('reads a Hugging Face cache snapshot of symlinks', async () => {
    const source = join(root, 'legacy');
    const repo = join(root, 'hub', 'models--vasink--micro-llava');
    const snapshot = join(repo, 'snapshots', '0123abcd');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    for (const [i, file] of readdirSync(source).entries()) {
      const blob = join(repo, 'blobs', `blob${i}`);
      writeFileSync(blob, readFileSync(join(source, file)));
      symlinkSync(relative(snapshot, blob), join(snapshot, file));
    }
    const converted = await answer(snapshot, { name: 'snapshot' });
    expect(converted.result.topLogits[0]).toEqual(legacy.result.topLogits[0]);
    expect(readFileSync(join(converted.target, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(source, 'tokenizer.json'), 'utf8'));
  });

  it('converts to float16 (graphs, embeddings and KV cache) close to float32', async () => {
    const converted = await answer(join(root, 'legacy'), { name: 'fp16', dtype: 'float16' });
    expect(converted.manifest.dtype).toBe('float16');
    const summary = inspectModel(readModel(join(converted.target, 'decoder.onnx')));
    expect(summary.inputs.find((i) => i.name === 'inputs_embeds')?.dtype).toBe('float16');
    const base = legacy.result.topLogits[0]!;
    const half = converted.result.topLogits[0]!;
    // float16 logits have ~0.004 resolution near 4.5: the float16 choice must be one of the
    // float32 near-ties (this model's top two differ by 6e-4), not necessarily the same id.
    const nearTop = base.filter((t) => base[0]!.logit - t.logit < 0.01).map((t) => t.id);
    expect(nearTop).toContain(half[0]?.id);
    for (const [i, top] of half.entries()) expect(Math.abs(top.logit - base[i]!.logit)).toBeLessThan(0.05 * Math.abs(base[0]!.logit) + 0.05);
  });

  it('records user sink dims', async () => {
    const target = join(root, 'user-dims-model');
    const manifest: ModelManifest = await llavaFamily.convert({ source: join(root, 'legacy'), target, dtype: 'float32', sinkDims: [3, 17] });
    expect(manifest.sink).toEqual({ dims: [3, 17], startLayer: 2, backbone: null, source: 'user' });
  });
});

describe('convertLlava errors, raised before anything is written', () => {
  const target = () => join(root, `never-${Math.random().toString(36).slice(2)}`);
  const expectNothingWritten = async (attempt: Promise<unknown>, error: new (...args: never[]) => Error, message: RegExp) => {
    const dir = target();
    await expect(attempt).rejects.toThrow(error);
    await expect(attempt).rejects.toThrow(message);
    expect(existsSync(dir)).toBe(false);
  };
  let dir: string;
  const config = () => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const writeConfig = (json: Record<string, unknown>) => writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  const convert = (overrides: { sinkDims?: number[]; visionTower?: string } = {}) => {
    const out = target();
    return { out, attempt: llavaFamily.convert({ source: dir, target: out, dtype: 'float32', ...overrides }) };
  };

  beforeAll(async () => {
    dir = (await writeMicroLlava(join(root, 'broken'), 'llava-hf-legacy')).dir;
  });

  it('names the architecture it does not convert', async () => {
    const original = config();
    try {
      writeConfig({ ...original, architectures: ['LlavaOnevisionForConditionalGeneration'], model_type: 'llava_onevision' });
      const { out, attempt } = convert();
      await expect(attempt).rejects.toThrow(UnsupportedCheckpointError);
      await expect(attempt).rejects.toThrow(/LlavaOnevisionForConditionalGeneration.*is not LLaVA; the LLaVA adapter converts/);
      expect(existsSync(out)).toBe(false);
      writeConfig({ ...original, text_config: { ...(original.text_config as object), model_type: 'gemma' } });
      await expect(convert().attempt).rejects.toThrow(/language model is "gemma"/);
      // Mistral backbones convert without a sliding window only (absent means MistralConfig's 4096).
      writeConfig({ ...original, text_config: { ...(original.text_config as object), model_type: 'mistral', max_position_embeddings: 32768 } });
      await expect(convert().attempt).rejects.toThrow(/text_config\.sliding_window is 4096 \(absent means MistralConfig's 4096\)/);
      // Without one, it converts, and the prompt format follows the backbone.
      writeConfig({ ...original, text_config: { ...(original.text_config as object), model_type: 'mistral', sliding_window: null } });
      const mistral = convert();
      expect((await mistral.attempt).adapter.promptFormat).toBe('mistral_instruct');
      rmSync(mistral.out, { recursive: true, force: true });
    } finally {
      writeConfig(original);
    }
  });

  it('refuses, as the other family, a checkpoint of LLaVA-1.5 / LLaVA-NeXT', async () => {
    const out = target();
    const attempt = llavaNextFamily.convert({ source: dir, target: out, dtype: 'float32' });
    await expect(attempt).rejects.toThrow(UnsupportedCheckpointError);
    await expect(attempt).rejects.toThrow(/is a LLaVA-1\.5 checkpoint \(LlavaForConditionalGeneration\), not LLaVA-NeXT: convert it as the llava family/);
    expect(existsSync(out)).toBe(false);
  });

  it('names the file and the field of an invalid config value', async () => {
    const original = config();
    writeConfig({ ...original, text_config: { ...(original.text_config as object), hidden_size: 'wide' } });
    const { out, attempt } = convert();
    await expect(attempt).rejects.toThrow(LlavaConfigError);
    await expect(attempt).rejects.toThrow(`${join(dir, 'config.json')}: text_config.hidden_size must be a positive integer, got "wide"`);
    expect(existsSync(out)).toBe(false);
    writeConfig({ ...original, vision_config: { ...(original.vision_config as object), image_size: 30 } });
    await expect(convert().attempt).rejects.toThrow('vision_config.image_size 30 is not a multiple of patch_size 14');
    // Absurd sizes are refused while the config is read, before anything is allocated (1e8 layers used to end in a RangeError).
    writeConfig({ ...original, text_config: { ...(original.text_config as object), num_hidden_layers: 1e8 } });
    await expect(convert().attempt).rejects.toThrow('text_config.num_hidden_layers must be at most 4194304 (no released model comes near), got 100000000');
    writeConfig({ ...original, text_config: { ...(original.text_config as object), num_hidden_layers: 100000 } });
    await expect(convert().attempt).rejects.toThrow('numLayers is 100000, over the 1024 vasink accepts');
    writeConfig(original);
  });

  it('lists missing and mis-shaped tensors, decoder and vision tower alike', async () => {
    const weights = microWeights();
    weights.decoderWeights.delete('layers.1.mlp.up_proj.weight');
    weights.visionWeights.set('vision_model.encoder.layers.0.mlp.fc1.weight', createTensor('float32', [3, 3]));
    const broken = (await writeMicroLlava(join(root, 'missing-tensors'), 'llava-hf-legacy', { weights })).dir;
    const out = target();
    const attempt = llavaFamily.convert({ source: broken, target: out, dtype: 'float32' });
    await expect(attempt).rejects.toThrow(WeightMismatchError);
    await expect(attempt).rejects.toThrow('missing tensor language_model.model.layers.1.mlp.up_proj.weight');
    const vision = microWeights();
    vision.visionWeights.set('vision_model.encoder.layers.0.mlp.fc1.weight', createTensor('float32', [3, 3]));
    const misShaped = (await writeMicroLlava(join(root, 'mis-shaped'), 'llava-hf-legacy', { weights: vision })).dir;
    await expect(llavaFamily.convert({ source: misShaped, target: out, dtype: 'float32' })).rejects.toThrow(
      'vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight has shape [3, 3], config expects [32, 16]',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('asks for the vision tower of an original release', async () => {
    const { dir: original } = await writeMicroLlava(join(root, 'original-alone'), 'original');
    const out = target();
    const attempt = llavaFamily.convert({ source: original, target: out, dtype: 'float32' });
    await expect(attempt).rejects.toThrow(MissingVisionTowerError);
    await expect(attempt).rejects.toThrow(/vasink\/tiny-clip-vit.*--vision-tower/);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects a missing tokenizer, a preprocessor sized for another tower, and sink dims outside the hidden size', async () => {
    renameSync(join(dir, 'tokenizer.json'), join(dir, 'tokenizer.json.away'));
    await expectNothingWritten(convert().attempt, MissingFileError, /tokenizer\.json not found/);
    renameSync(join(dir, 'tokenizer.json.away'), join(dir, 'tokenizer.json'));

    const preprocessor = readFileSync(join(dir, 'preprocessor_config.json'), 'utf8');
    writeFileSync(join(dir, 'preprocessor_config.json'), preprocessor.replace('"height": 28', '"height": 336').replace('"width": 28', '"width": 336'));
    await expectNothingWritten(convert().attempt, LlavaConfigError, /crop_size 336 differs from the vision tower's image_size 28/);
    writeFileSync(join(dir, 'preprocessor_config.json'), preprocessor);

    await expectNothingWritten(convert({ sinkDims: [5, 32] }).attempt, Error, /sink dim 32 is not an integer in \[0, 32\)/);
  });

  it('reports a checkpoint without safetensors weights', async () => {
    const empty = join(root, 'bin-only');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'config.json'), readFileSync(join(dir, 'config.json')));
    writeFileSync(join(empty, 'pytorch_model.bin'), 'not really');
    await expectNothingWritten(llavaFamily.convert({ source: empty, target: target(), dtype: 'float32' }), UnsupportedCheckpointError, /safetensors only/);
  });
});
