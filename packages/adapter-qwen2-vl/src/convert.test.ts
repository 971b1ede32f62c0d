import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectModel, readModel } from '@vasink/onnx-graph';
import { MissingSinkDimsError, type PreparedRequest, VisionLanguageModel, checkedManifest, collect, readManifest } from '@vasink/runtime';
import { openSafetensors } from '@vasink/safetensors';
import { WeightMismatchError } from '@vasink/transformer-graph';
import { resolveVarConfig } from '@vasink/var';
import { InferenceSession } from 'onnxruntime-node';
import { QWEN2_VL_MODEL_FILES, convertQwen2Vl, withImagePixels } from './convert.js';
import { QWEN2_VL_IMAGE_DEFAULTS } from './preprocessor-config.js';
import { Float16RangeError, Qwen2VlConfigError, UnsupportedArchitectureError } from './errors.js';
import { qwen2vlFamily } from './family.js';
import { type TinyQwen2VlCheckpoint, tinyQwen2VlTestImage, writeTinyQwen2VlCheckpoint } from './tiny-checkpoint.js';

// A small vocabulary keeps these conversions fast; nothing here tokenizes text.
const VOCAB = 1024;
const scratch = mkdtempSync(join(tmpdir(), 'vasink-q2vl-convert-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let legacy: TinyQwen2VlCheckpoint;
beforeAll(async () => {
  legacy = await writeTinyQwen2VlCheckpoint(join(scratch, 'legacy'), { vocabSize: VOCAB, seed: 3 });
});

/** A copy of the checkpoint (files symlinked, as in a Hugging Face cache) with some JSON files edited. */
function variant(name: string, edit: Record<string, (json: Record<string, unknown>) => unknown>, drop: string[] = []): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const file of readdirSync(legacy.dir)) {
    if (drop.includes(file)) continue;
    const editor = edit[file];
    if (editor) writeFileSync(join(dir, file), JSON.stringify(editor(JSON.parse(readFileSync(join(legacy.dir, file), 'utf8')))));
    else symlinkSync(join(legacy.dir, file), join(dir, file));
  }
  return dir;
}

const convert = (source: string, target: string, extra: { dtype?: 'float32' | 'float16'; sinkDims?: readonly number[] } = {}) =>
  convertQwen2Vl({ source, target: join(scratch, target), dtype: extra.dtype ?? 'float32', ...(extra.sinkDims ? { sinkDims: extra.sinkDims } : {}) });

describe('convertQwen2Vl', () => {
  it('converts the released layout into graphs sharing one weights.bin, with tokenizer files and a manifest', async () => {
    const stages = new Set<string>();
    const manifest = await convertQwen2Vl({
      source: legacy.dir,
      target: join(scratch, 'model'),
      dtype: 'float32',
      sinkDims: legacy.sinkDims,
      onProgress: (p) => stages.add(p.stage),
    });
    const dir = join(scratch, 'model');
    for (const file of [...Object.values(QWEN2_VL_MODEL_FILES), 'manifest.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.json', 'preprocessor_config.json']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect([...stages]).toEqual(['validate', 'weights', 'files', 'done']);
    expect(await readManifest(dir)).toEqual(manifest);
    expect(manifest).toMatchObject({
      family: 'qwen2-vl',
      architecture: 'Qwen2VLForConditionalGeneration',
      dtype: 'float32',
      decoder: { hiddenSize: 512, numLayers: 6, vocabSize: VOCAB, rope: { type: 'mrope', theta: 1e6, section: [8, 12, 12] }, attentionBias: true, tieWordEmbeddings: true },
      weights: ['weights.bin'],
      sink: { dims: [71, 333], startLayer: 2, backbone: null, source: 'user' },
      tokens: { imageTokenId: 151655, eosTokenIds: [151645, 151643] },
      adapter: { image: { minPixels: 3136, maxPixels: 25088, mergeSize: 2 }, imageTokenId: 151655, visionStartTokenId: 151652, tensorLayout: 'legacy' },
    });
    // Every graph keeps its weights in weights.bin; the tied embedding and both decoders share them (stored once).
    let external = 0;
    for (const graph of Object.values(manifest.graphs)) {
      const summary = inspectModel(readModel(join(dir, graph)));
      expect(summary.externalFiles).toEqual(['weights.bin']);
      external = Math.max(external, summary.externalBytes);
    }
    const parameters = [...(await openSafetensors(join(legacy.dir, 'model.safetensors'))).header.tensors].reduce((n, t) => n + t.byteLength / 2, 0);
    const size = statSync(join(dir, 'weights.bin')).size;
    expect(size).toBeGreaterThanOrEqual(parameters * 4);
    expect(size).toBeLessThan(parameters * 4 * 1.01);
  });

  it('converts the newer layout (text_config, model.language_model.*, model.visual.*) from shards to the same model', async () => {
    const current = await writeTinyQwen2VlCheckpoint(join(scratch, 'current'), { vocabSize: VOCAB, seed: 3, layout: 'current', maxShardBytes: 1_000_000 });
    expect(current.files.filter((f) => f.startsWith('model-'))).not.toHaveLength(0);
    const config = JSON.parse(readFileSync(join(current.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.text_config).toBeDefined();
    const a = await convert(legacy.dir, 'm-legacy', { sinkDims: legacy.sinkDims });
    const b = await convert(current.dir, 'm-current', { sinkDims: current.sinkDims });
    expect(b.decoder).toEqual(a.decoder);
    expect(b.adapter.tensorLayout).toBe('current');
    // Same weights under other names: identical image features.
    const features = async (dir: string) => {
      const manifest = checkedManifest(qwen2vlFamily, await readManifest(join(scratch, dir)));
      const images = await qwen2vlFamily.prepareImages([tinyQwen2VlTestImage({ width: 56, height: 56, brightWindows: [[0, 0]] })], manifest);
      const session = await InferenceSession.create(join(scratch, dir, manifest.graphs.vision));
      const result = (await session.run(images.feeds)).image_features!.data as Float32Array;
      await session.release();
      return result;
    };
    expect(await features('m-current')).toEqual(await features('m-legacy'));
  });

  it('records no sink dims for an unknown backbone, and the model then refuses VAR pointing to find-sink-dims', async () => {
    // The tiny checkpoint names its planted dims in config.json (vasink.sink_dims); without them the backbone is unknown.
    expect((await convert(legacy.dir, 'named-sinks')).sink).toMatchObject({ dims: [...legacy.sinkDims], source: 'user' });
    const plain = variant('plain-config', { 'config.json': ({ vasink: _, ...c }) => c });
    const manifest = await convert(plain, 'no-sinks');
    expect(manifest.sink).toEqual({ dims: null, startLayer: 2, backbone: null, source: 'none' });
    const model = await VisionLanguageModel.load(join(scratch, 'no-sinks'), { families: [qwen2vlFamily] });
    const request: PreparedRequest = {
      prompt: { inputIds: [1, 2], imageMask: new Uint8Array(2), text: '' },
      images: { feeds: {}, tokensPerImage: [], panels: [] },
      embeds: new Float32Array(2 * 512),
      visionMs: 0,
    };
    const run = model.generate(request, { rows: [{}, { var: resolveVarConfig({ preset: 'hallucination' }) }], maxNewTokens: 1 });
    await expect(run.next()).rejects.toThrow(MissingSinkDimsError);
    await expect(model.generate(request, { rows: [{ var: resolveVarConfig({}) }], maxNewTokens: 1 }).next()).rejects.toThrow(/vasink find-sink-dims --model/);
    // Dims given at load time make the same model usable.
    const withDims = await VisionLanguageModel.load(join(scratch, 'no-sinks'), { families: [qwen2vlFamily], sinkDims: legacy.sinkDims });
    expect(withDims.sinkDims).toEqual(legacy.sinkDims);
    await Promise.all([model.close(), withDims.close()]);
  });

  it('replaces the processor pixel bounds on request, checking them', () => {
    const settings = QWEN2_VL_IMAGE_DEFAULTS;
    expect(withImagePixels(settings, undefined)).toBe(settings);
    expect(withImagePixels(settings, { max: 28 * 28 * 64 })).toMatchObject({ minPixels: 56 * 56, maxPixels: 28 * 28 * 64 });
    expect(withImagePixels(settings, { min: 28 * 28 * 8, max: 28 * 28 * 8 })).toMatchObject({ minPixels: 6272, maxPixels: 6272 });
    expect(() => withImagePixels(settings, { min: 5000, max: 4000 })).toThrow('image min pixels 5000 is above max pixels 4000');
    expect(() => withImagePixels(settings, { min: 100, max: 700 })).toThrow(/below one merged patch \(28² = 784 pixels\)/);
    expect(() => withImagePixels(settings, { max: 1.5 })).toThrow(/positive integer/);
  });

  it('refuses bad checkpoints before building anything, naming the field, file or tensor', async () => {
    const cases: [string, string, RegExp | string, new (...args: never[]) => Error][] = [
      [variant('qwen25', { 'config.json': (c) => ({ ...c, architectures: ['Qwen2_5_VLForConditionalGeneration'], model_type: 'qwen2_5_vl' }) }), 'x1', 'describes Qwen2_5_VLForConditionalGeneration, not Qwen2VLForConditionalGeneration', UnsupportedArchitectureError],
      [variant('no-hidden', { 'config.json': ({ hidden_size: _, ...c }) => c }), 'x2', /no-hidden\/config.json has no hidden_size/, Qwen2VlConfigError],
      [variant('wide-mlp', { 'config.json': (c) => ({ ...c, intermediate_size: 2048 }) }), 'x3', 'model.layers.1.mlp.gate_proj.weight has shape [1024, 512], config expects [2048, 512]', WeightMismatchError],
      [variant('deeper', { 'config.json': (c) => ({ ...c, vision_config: { ...(c.vision_config as object), depth: 3 } }) }), 'x4', 'missing tensor visual.blocks.2.norm1.weight', WeightMismatchError],
      [variant('merge3', { 'preprocessor_config.json': (c) => ({ ...c, merge_size: 3 }) }), 'x5', /merge_size 3 disagrees with config.json's vision_config \(2\)/, Qwen2VlConfigError],
      [variant('no-tokenizer', {}, ['tokenizer.json']), 'x6', /has no tokenizer.json/, Qwen2VlConfigError],
    ];
    for (const [source, target, message, type] of cases) {
      const attempt = convert(source, target);
      await expect(attempt, target).rejects.toThrow(message);
      await expect(convert(source, target)).rejects.toBeInstanceOf(type);
      expect(existsSync(join(scratch, target)), `${target} must not be created`).toBe(false);
    }
    await expect(convert(legacy.dir, 'x7', { sinkDims: [512] })).rejects.toThrow('sink dim 512 is not an integer in [0, 512)');
  });

  it('converts to float16 when every weight fits, and refuses naming the tensor that does not', async () => {
    const manifest = await convert(legacy.dir, 'fp16', { dtype: 'float16', sinkDims: legacy.sinkDims });
    expect(manifest.dtype).toBe('float16');
    const half = statSync(join(scratch, 'fp16', 'weights.bin')).size;
    expect(half).toBeLessThan(statSync(join(scratch, 'model', 'weights.bin')).size * 0.6);
    // It runs: image features close to float32's, and a VAR generation step on CPU.
    const image = tinyQwen2VlTestImage({ width: 56, height: 84, brightWindows: [[1, 0]] });
    const features = async (dir: string) => {
      const model = await VisionLanguageModel.load(join(scratch, dir), { families: [qwen2vlFamily] });
      const images = await qwen2vlFamily.prepareImages([image], checkedManifest(qwen2vlFamily, model.manifest));
      const session = await InferenceSession.create(join(scratch, dir, model.manifest.graphs.vision));
      const out = (await session.run(images.feeds)).image_features!.data as Float32Array;
      const request: PreparedRequest = {
        prompt: { inputIds: [1, 2, 3, 4], imageMask: Uint8Array.of(0, 1, 1, 0), text: '' },
        images,
        embeds: Float32Array.from({ length: 4 * 512 }, (_, i) => (i < 512 ? out[i]! : Math.sin(i))),
        visionMs: 0,
      };
      const [result] = await collect(model.generate(request, { rows: [{ var: resolveVarConfig({}) }], maxNewTokens: 2 }));
      await Promise.all([session.release(), model.close()]);
      return { out, logProbs: result!.logProbs };
    };
    const wide = await features('model');
    const narrow = await features('fp16');
    const largest = wide.out.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
    expect(narrow.out.reduce((a, x, i) => Math.max(a, Math.abs(x - wide.out[i]!)), 0) / largest).toBeLessThan(1e-2);
    expect(narrow.logProbs.every(Number.isFinite)).toBe(true);

    // Plant 1e6 (bfloat16 0x4974) in one weight of a copy.
    const dir = variant('overflow', {}, ['model.safetensors']);
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, readFileSync(join(legacy.dir, 'model.safetensors')));
    const info = (await openSafetensors(file)).info('model.layers.3.mlp.up_proj.weight');
    const fd = openSync(file, 'r+');
    writeSync(fd, Uint8Array.of(0x74, 0x49), 0, 2, info.byteOffset + 10);
    closeSync(fd);
    await expect(convert(dir, 'x8', { dtype: 'float16' })).rejects.toThrow(Float16RangeError);
    await expect(convert(dir, 'x8', { dtype: 'float16' })).rejects.toThrow(
      'float16 cannot hold these weights: model.layers.3.mlp.up_proj.weight (largest magnitude 9.994e+5)',
    );
    expect(existsSync(join(scratch, 'x8'))).toBe(false);
    // float32 takes it.
    await expect(convert(dir, 'x9')).resolves.toMatchObject({ dtype: 'float32' });
  });
});
