import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '@vasink/runtime';
import { type Checkpoint, type CheckpointWriteProgress, openCheckpoint, planShards } from '@vasink/safetensors';
import { float16ArrayToFloat32 } from '@vasink/tensor';
import { decoderWeightShapes } from '@vasink/transformer-graph';
import { LLAVA_HF_13B, LLAVA_HF_7B } from './__fixtures__/llava-hf-configs.js';
import { parseLlavaConfig } from './llava-config.js';
import { llavaLayoutNaming, readLlavaCheckpoint } from './llava-checkpoint.js';
import {
  LLAVA_HF_MAX_SHARD_BYTES,
  type RealShapeLlavaCheckpoint,
  realShapeLlavaConfigJson,
  realShapeLlavaTensors,
  writeRealShapeLlavaCheckpoint,
} from './real-shape-checkpoint.js';
import { VISION_PREFIX, visionWeightShapes } from './vision-weights.js';

/** Every tensor of a llava-hf LLaVA-1.5 checkpoint, stored name → shape, from the adapter's own shape tables. */
function releasedTensorShapes(configJson: Record<string, unknown>): Map<string, readonly number[]> {
  const config = parseLlavaConfig(configJson, { file: 'config.json' });
  const naming = llavaLayoutNaming('llava-hf-legacy');
  const shapes = new Map<string, readonly number[]>();
  for (const [name, shape] of decoderWeightShapes(config.text)) shapes.set(naming.decoder(name), shape);
  // The checkpoint holds every CLIP layer and post_layernorm, which the vision graph never reads.
  for (const [name, shape] of visionWeightShapes({ ...config, visionFeatureLayer: config.vision.numLayers })) {
    shapes.set(name.startsWith(VISION_PREFIX) ? naming.vision(name) : naming.projector(name), shape);
  }
  for (const part of ['weight', 'bias']) shapes.set(naming.vision(`${VISION_PREFIX}post_layernorm.${part}`), [config.vision.hiddenSize]);
  return shapes;
}

const φ = (row: Float32Array, dim: number) => Math.abs(row[dim] as number) / Math.sqrt(row.reduce((s, x) => s + x * x, 0) / row.length + 1e-6);

/** Rows [start, start + count) of a float16 tensor, read straight from its shard. */
async function readRows(checkpoint: Checkpoint, name: string, start: number, count = 1): Promise<Float32Array> {
  const info = await checkpoint.info(name);
  const rowBytes = (info.shape.slice(1).reduce((a, b) => a * b, 1) as number) * 2;
  const handle = await open(info.file, 'r');
  try {
    const bytes = new Uint8Array(rowBytes * count);
    await handle.read(bytes, 0, bytes.length, info.byteOffset + start * rowBytes);
    return float16ArrayToFloat32(new Uint16Array(bytes.buffer));
  } finally {
    await handle.close();
  }
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): enough for a sink check.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

describe('real-shape LLaVA-1.5 checkpoints: names, shapes and shards of the full models', () => {
  it('config.json is the released one (plus the vasink extension), layer counts shortened on request', () => {
    for (const [size, released] of [
      ['7b', LLAVA_HF_7B],
      ['13b', LLAVA_HF_13B],
    ] as const) {
      const { vasink, ...config } = realShapeLlavaConfigJson({ size });
      expect(config).toEqual(released);
      expect(vasink).not.toHaveProperty('sink_dims'); // the LLaMA-2 profile names them
      const short = realShapeLlavaConfigJson({ size, layers: 2 });
      expect(short.text_config).toMatchObject({ num_hidden_layers: 2 });
      expect(short.vision_config).toMatchObject({ num_hidden_layers: 2 });
      expect(short.vasink).toMatchObject({ sink_dims: size === '7b' ? [1415, 2533] : [2100, 4743], sink_patches: [52, 236, 467] });
    }
  });

  it('every tensor of llava-1.5-7b-hf and -13b-hf, float16, in 3 and 6 shards of at most 5 GB split in state_dict order', () => {
    for (const [size, released, shards] of [
      ['7b', LLAVA_HF_7B, 3],
      ['13b', LLAVA_HF_13B, 6],
    ] as const) {
      const tensors = realShapeLlavaTensors({ size });
      const expected = releasedTensorShapes(released);
      expect(new Map(tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
      expect(tensors).toHaveLength(expected.size);
      expect(new Set(tensors.map((t) => t.dtype))).toEqual(new Set(['float16']));
      // state_dict order: vision tower, projector, language model; CLIP's attention registers k, v, q.
      expect(tensors[0]?.name).toBe('vision_tower.vision_model.embeddings.class_embedding');
      expect(tensors[5]?.name).toBe('vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.weight');
      expect(tensors.at(-1)?.name).toBe('language_model.lm_head.weight');
      const plan = planShards(tensors, LLAVA_HF_MAX_SHARD_BYTES);
      const bytes = plan.map((shard) => shard.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0));
      expect(plan).toHaveLength(shards);
      expect(bytes.every((b) => b <= 5e9)).toBe(true);
      if (size === '7b') {
        // As published: 4.99, 4.96 and 4.18 GB; 14,126,854,144 bytes of tensors.
        expect(bytes).toEqual([4_992_864_256, 4_957_863_936, 4_176_125_952]);
        expect(plan[0]?.at(-1)?.name).toBe('language_model.model.layers.10.self_attn.q_proj.weight');
      }
    }
  });

  it('refuses an unknown size or a layer count the model does not have', () => {
    expect(() => realShapeLlavaTensors({ size: '70b' as '7b' })).toThrow('unknown real-shape LLaVA size "70b": use 7b, 13b, vicuna-7b, vicuna-13b, mistral-7b');
    expect(() => realShapeLlavaTensors({ size: '7b', layers: 0 })).toThrow('layers must be an integer from 1 to 24');
    expect(() => realShapeLlavaTensors({ size: '13b', layers: 25 })).toThrow('layers must be an integer from 1 to 24');
  });
});

describe('writeRealShapeLlavaCheckpoint (7B shapes, 1 layer)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vasink-llava-real-'));
  let written: RealShapeLlavaCheckpoint;
  let checkpoint: Checkpoint;
  const progress: CheckpointWriteProgress[] = [];
  beforeAll(async () => {
    // 1 GB on disk: the embedding and LM head are full size whatever the layer count.
    written = await writeRealShapeLlavaCheckpoint(join(root, 'llava-7b'), { size: '7b', layers: 1, maxShardBytes: 400_000_000, onProgress: (p) => progress.push(p) });
    checkpoint = await openCheckpoint(written.dir);
  }, 120_000);
  afterAll(async () => {
    await checkpoint?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the released files with every tensor at its real shape and dtype, and an index that matches the shards', async () => {
    const configJson = JSON.parse(readFileSync(join(written.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const expected = releasedTensorShapes(configJson);
    expect(new Set(checkpoint.names())).toEqual(new Set(expected.keys()));
    for (const [name, shape] of expected) {
      const info = await checkpoint.info(name);
      expect([info.dtype, info.shape], name).toEqual(['F16', shape]);
    }
    await checkpoint.validate();
    const index = JSON.parse(readFileSync(join(written.dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(written.totalBytes);
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(written.files.filter((f) => f.endsWith('.safetensors'))));
    expect(written.files).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
    for (const file of ['generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.json']) {
      expect(existsSync(join(written.dir, file)), file).toBe(true);
    }
    const tokenizer = await loadTokenizer(written.dir);
    expect(tokenizer.tokenToId('<image>')).toBe(32000);
    expect(progress.at(-1)).toMatchObject({ tensorsWritten: expected.size, tensorCount: expected.size, bytesWritten: written.totalBytes, totalBytes: written.totalBytes });
    expect(new Set(progress.map((p) => p.file)).size).toBe(3);
  });

  it('is accepted by the adapter’s own checkpoint reader', async () => {
    const read = await readLlavaCheckpoint(written.dir);
    try {
      expect(read.layout).toBe('llava-hf-legacy');
      expect(read.config.text).toMatchObject({ hiddenSize: 4096, numLayers: 1, numHeads: 32, intermediateSize: 11008, vocabSize: 32064 });
      expect(read.config.vision).toMatchObject({ hiddenSize: 1024, numLayers: 1, imageSize: 336 });
      expect(read.config.sinkDims).toEqual([1415, 2533]);
    } finally {
      await read.close();
    }
  });

  it('plants a massive activation on BOS that no layer writes over, and the same seed gives the same tensors whatever the layer count', async () => {
    const [bosSink, visualSink] = written.sinkDims;
    const rows = await readRows(checkpoint, 'language_model.model.embed_tokens.weight', 0, 3);
    const bos = rows.subarray(4096, 8192);
    expect(bos[bosSink]).toBe(100);
    expect(φ(bos, bosSink)).toBeGreaterThan(60);
    expect(φ(rows.subarray(8192), bosSink)).toBeLessThan(6);
    expect(φ(rows.subarray(0, 4096), visualSink)).toBeLessThan(6);
    for (const name of ['self_attn.o_proj.weight', 'mlp.down_proj.weight']) {
      for (const dim of written.sinkDims) expect((await readRows(checkpoint, `language_model.model.layers.0.${name}`, dim)).every((x) => x === 0), name).toBe(true);
    }
    expect(Array.from(await readRows(checkpoint, 'language_model.model.norm.weight', 0))).toSatisfy((norm: number[]) =>
      norm.every((x, i) => x === (i === bosSink || i === visualSink ? 0 : 1)),
    );
    // Random weights are ~N(0, 0.02²): finite and small in float16.
    const head = await readRows(checkpoint, 'language_model.lm_head.weight', 100, 2);
    const std = Math.sqrt(head.reduce((s, x) => s + x * x, 0) / head.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);

    // The full model's embed_tokens holds the same first rows.
    const full = realShapeLlavaTensors({ size: '7b' }).find((t) => t.name === 'language_model.model.embed_tokens.weight');
    const block = new Uint16Array(3 * 4096);
    full?.fill({ rowStart: 0, rows: 3, rowLength: 4096, data: block });
    expect(float16ArrayToFloat32(block)).toEqual(rows);
  });

  it('turns the planted patches into visual sinks through the vision embeddings and the projector', async () => {
    const [bosSink, visualSink] = written.sinkDims;
    const dv = 1024;
    const d = 4096;
    const v = 'vision_tower.vision_model.';
    const patchWeights = await readRows(checkpoint, `${v}embeddings.patch_embedding.weight`, 0, dv);
    const columns = 3 * 14 * 14;
    // With 1 vision layer, feature layer −2 is hidden_states[0]: patch embedding + position embedding, then pre_layrnorm (weight 1, bias 0).
    const imageToken = async (patch: number, seed: number): Promise<Float32Array> => {
      const pixels = Float32Array.from({ length: columns }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 1.5);
      const position = await readRows(checkpoint, `${v}embeddings.position_embedding.weight`, patch + 1);
      const x = position.map((p, o) => {
        let sum = p;
        for (let c = 0; c < columns; c++) sum += (patchWeights[o * columns + c] as number) * (pixels[c] as number);
        return sum;
      });
      const mean = x.reduce((a, b) => a + b, 0) / dv;
      const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / dv + 1e-5);
      const feature = x.map((value) => (value - mean) / std);
      const hidden = new Float32Array(d);
      const linear1 = await readRows(checkpoint, 'multi_modal_projector.linear_1.weight', 0, d);
      const bias1 = await readRows(checkpoint, 'multi_modal_projector.linear_1.bias', 0, d);
      for (let o = 0; o < d; o++) {
        let sum = bias1[o] as number;
        for (let c = 0; c < dv; c++) sum += (linear1[o * dv + c] as number) * (feature[c] as number);
        hidden[o] = gelu(sum);
      }
      const out = new Float32Array(d);
      const bias2 = await readRows(checkpoint, 'multi_modal_projector.linear_2.bias', 0, d);
      for (let start = 0; start < d; start += 512) {
        const linear2 = await readRows(checkpoint, 'multi_modal_projector.linear_2.weight', start, 512);
        for (let o = 0; o < 512; o++) {
          let sum = bias2[start + o] as number;
          for (let c = 0; c < d; c++) sum += (linear2[o * d + c] as number) * (hidden[c] as number);
          out[start + o] = sum;
        }
      }
      return out;
    };
    for (const [i, patch] of written.sinkPatches.entries()) {
      const token = await imageToken(patch, i);
      expect(token[visualSink]).toBeGreaterThan(90);
      expect(token[visualSink]).toBeLessThan(110);
      expect(φ(token, visualSink)).toBeGreaterThan(40);
    }
    const ordinary = await imageToken(100, 7);
    expect([ordinary[visualSink], ordinary[bosSink]]).toEqual([0, 0]);
    const rms = Math.sqrt(ordinary.reduce((s, x) => s + x * x, 0) / d);
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(2);
    // No encoder layer reads or writes the mark.
    const layer = `${v}encoder.layers.0.`;
    for (const name of ['self_attn.out_proj.weight', 'mlp.fc2.weight']) expect((await readRows(checkpoint, `${layer}${name}`, 5)).every((x) => x === 0), name).toBe(true);
    const q = await readRows(checkpoint, `${layer}self_attn.q_proj.weight`, 0, dv);
    expect(Array.from({ length: dv }, (_, r) => q[r * dv + 5]).every((x) => x === 0)).toBe(true);
  }, 60_000);
});

describe('real-shape LLaVA-NeXT checkpoints (llava-v1.6-vicuna-7b/13b-hf, -mistral-7b-hf)', () => {
  it('every LLaVA-1.5 tensor name plus image_newline after the projector; Mistral with GQA; ≤ 5 GB shards', () => {
    for (const [size, shards, kvDim] of [
      ['vicuna-7b', 3, 4096],
      ['vicuna-13b', 6, 5120],
      ['mistral-7b', 4, 1024],
    ] as const) {
      const configJson = realShapeLlavaConfigJson({ size });
      const config = parseLlavaConfig(configJson, { file: 'config.json' });
      expect(config.architecture).toBe('LlavaNextForConditionalGeneration');
      expect(config.anyres?.pinpoints).toEqual([[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]);
      const tensors = realShapeLlavaTensors({ size });
      const expected = releasedTensorShapes(configJson);
      expected.set('image_newline', [config.text.hiddenSize]);
      expect(new Map(tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
      const names = tensors.map((t) => t.name);
      expect(names.indexOf('image_newline')).toBe(names.indexOf('multi_modal_projector.linear_2.bias') + 1);
      expect(tensors.find((t) => t.name === 'language_model.model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([kvDim, config.text.hiddenSize]);
      const plan = planShards(tensors, LLAVA_HF_MAX_SHARD_BYTES);
      expect(plan, size).toHaveLength(shards);
    }
    // Mistral has no sink-dimension profile: the fixture plants dims but, like a real checkpoint, does not name them.
    const mistral = realShapeLlavaConfigJson({ size: 'mistral-7b', layers: 1 });
    expect(mistral.vasink).toMatchObject({ planted_sink_dims: [2070, 3431] });
    expect(mistral.vasink).not.toHaveProperty('sink_dims');
    expect(parseLlavaConfig(mistral, { file: 'config.json' })).toMatchObject({ textModelType: 'mistral', sinkDims: undefined });
    expect(realShapeLlavaConfigJson({ size: 'vicuna-7b', layers: 1 }).vasink).toMatchObject({ sink_dims: [1415, 2533] });
  });
});
