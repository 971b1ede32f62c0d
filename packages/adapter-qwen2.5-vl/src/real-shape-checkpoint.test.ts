import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderNaming, detectTensorLayout, parseQwen2VlImageSettings, qwen2vlSinkSettings, visionNaming } from '@vasink/adapter-qwen2-vl';
import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { type WrittenFixture, loadTokenizer } from '@vasink/runtime';
import { type Checkpoint, type CheckpointWriteProgress, openCheckpoint, planShards } from '@vasink/safetensors';
import { type TypedTensor, bfloat16ArrayToFloat32, seededUniform } from '@vasink/tensor';
import { assertDecoderWeights, assertWeights, checkpointWeightSource, decoderWeightShapes } from '@vasink/transformer-graph';
import { parseQwen25VlConfig, visionWeightShapes } from './config.js';
import {
  REAL_SHAPE_QWEN2_5_VL_REPOS,
  type RealShapeQwen25VlCheckpoint,
  realShapeQwen25VlConfigJson,
  realShapeQwen25VlTensors,
  writeRealShapeQwen25VlCheckpoint,
} from './real-shape-checkpoint.js';
import { referenceQwen25VlVision } from './vision-reference.js';

type Json = Record<string, unknown>;

/** config.json of Qwen/Qwen2.5-VL-3B-Instruct as released on the Hugging Face hub (transcribed by hand). */
const RELEASED_3B: Json = {
  architectures: ['Qwen2_5_VLForConditionalGeneration'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  vision_token_id: 151654,
  image_token_id: 151655,
  video_token_id: 151656,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 11008,
  max_position_embeddings: 128000,
  max_window_layers: 70,
  model_type: 'qwen2_5_vl',
  num_attention_heads: 16,
  num_hidden_layers: 36,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.41.2',
  use_cache: true,
  use_sliding_window: false,
  vision_config: {
    depth: 32,
    hidden_act: 'silu',
    hidden_size: 1280,
    intermediate_size: 3420,
    num_heads: 16,
    in_chans: 3,
    out_hidden_size: 2048,
    patch_size: 14,
    spatial_merge_size: 2,
    spatial_patch_size: 14,
    window_size: 112,
    fullatt_block_indexes: [7, 15, 23, 31],
    tokens_per_second: 2,
    temporal_patch_size: 2,
  },
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  vocab_size: 151936,
};
/** Qwen/Qwen2.5-VL-7B-Instruct: the same file with Qwen2.5-7B's sizes. */
const RELEASED_7B: Json = {
  ...RELEASED_3B,
  hidden_size: 3584,
  intermediate_size: 18944,
  max_window_layers: 28,
  num_attention_heads: 28,
  num_hidden_layers: 28,
  num_key_value_heads: 4,
  tie_word_embeddings: false,
  vision_config: { ...(RELEASED_3B.vision_config as Json), out_hidden_size: 3584 },
  vocab_size: 152064,
};
const released = { '3b': RELEASED_3B, '7b': RELEASED_7B } as const;
const planted = { '3b': [614, 1789], '7b': [1162, 3051] } as const;

/** Every tensor of a released Qwen2.5-VL checkpoint, stored name → shape, from the adapter's own shape tables. */
function releasedTensorShapes(configJson: Json): Map<string, readonly number[]> {
  const config = parseQwen25VlConfig(configJson);
  const shapes = new Map<string, readonly number[]>();
  for (const [name, shape] of decoderWeightShapes(config.text)) shapes.set(decoderNaming('legacy')(name), shape);
  for (const [name, shape] of visionWeightShapes(config.vision)) shapes.set(visionNaming('legacy')(name), shape);
  return shapes;
}

const φ = (row: Float32Array, dim: number) => Math.abs(row[dim] as number) / Math.sqrt(row.reduce((s, x) => s + x * x, 0) / row.length + 1e-6);

/** Rows [start, start + count) of a bfloat16 tensor, read straight from its shard. */
async function readRows(checkpoint: Checkpoint, name: string, start: number, count = 1): Promise<Float32Array> {
  const info = await checkpoint.info(name);
  const rowBytes = info.shape.slice(1).reduce((a, b) => a * b, 1) * 2;
  const handle = await open(info.file, 'r');
  try {
    const bytes = new Uint8Array(rowBytes * count);
    await handle.read(bytes, 0, bytes.length, info.byteOffset + start * rowBytes);
    return bfloat16ArrayToFloat32(new Uint16Array(bytes.buffer));
  } finally {
    await handle.close();
  }
}

describe('real-shape Qwen2.5-VL checkpoints: names, shapes and shards of the full models', () => {
  it('config.json is the released one (plus the vasink extension), layer counts and full-attention blocks shortened on request', () => {
    expect(REAL_SHAPE_QWEN2_5_VL_REPOS).toEqual({ '3b': 'Qwen/Qwen2.5-VL-3B-Instruct', '7b': 'Qwen/Qwen2.5-VL-7B-Instruct' });
    for (const size of ['3b', '7b'] as const) {
      const { vasink, ...config } = realShapeQwen25VlConfigJson({ size });
      expect(config).toEqual(released[size]);
      // Qwen2.5 backbones have no published sink dims: the full-size fixture, like the real checkpoint, names none.
      expect(vasink).toMatchObject({ planted_sink_dims: planted[size] });
      expect(vasink).not.toHaveProperty('sink_dims');
      const short = realShapeQwen25VlConfigJson({ size, layers: 2 });
      expect(short).toMatchObject({ num_hidden_layers: 2, vision_config: { depth: 2, fullatt_block_indexes: [] }, vasink: { sink_dims: planted[size] } });
      expect(realShapeQwen25VlConfigJson({ size, layers: 16 })).toMatchObject({ vision_config: { depth: 16, fullatt_block_indexes: [7, 15] } });
      // The shortened fixture is a valid Qwen2.5-VL config.
      expect(parseQwen25VlConfig(short).vision).toMatchObject({ depth: 2, fullAttentionBlocks: [] });
    }
    // The layer count shortens both stacks, so the 3B's 32 vision blocks bound it; every full-attention block stays.
    expect(realShapeQwen25VlConfigJson({ size: '3b', layers: 32 })).toMatchObject({ num_hidden_layers: 32, vision_config: { fullatt_block_indexes: [7, 15, 23, 31] } });
  });

  it('every tensor of Qwen2.5-VL-3B/7B-Instruct, bfloat16, in 2 and 5 shards of at most 4 GB split in state_dict order', () => {
    const shards = { '3b': [3_982_579_712, 3_526_666_240], '7b': [3_900_171_264, 3_864_715_264, 3_864_715_264, 3_864_736_768, 1_089_994_752] };
    for (const size of ['3b', '7b'] as const) {
      const tensors = realShapeQwen25VlTensors({ size });
      const expected = releasedTensorShapes(released[size]);
      expect(new Map(tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
      expect(tensors).toHaveLength(expected.size);
      expect(new Set(tensors.map((t) => t.dtype))).toEqual(new Set(['bfloat16']));
      expect(tensors.some((t) => t.name === 'lm_head.weight')).toBe(size === '7b');
      // state_dict order: the vision tower (block 0 as Qwen2_5_VLVisionBlock registers it), the merger, the language model, the LM head.
      expect(tensors.slice(0, 4).map((t) => t.name)).toEqual([
        'visual.patch_embed.proj.weight',
        'visual.blocks.0.norm1.weight',
        'visual.blocks.0.norm2.weight',
        'visual.blocks.0.attn.qkv.weight',
      ]);
      const index = (name: string) => tensors.findIndex((t) => t.name === name);
      expect(index('visual.merger.mlp.2.bias') + 1).toBe(index('model.embed_tokens.weight'));
      expect(tensors.at(-1)?.name).toBe(size === '7b' ? 'lm_head.weight' : 'model.norm.weight');
      // 3.98 + 3.53 GB for 3B; 3.9, 3.86, 3.86, 3.86 and 1.09 GB for 7B (the sizes the hub lists).
      const plan = planShards(tensors, 4_000_000_000);
      expect(plan.map((shard) => shard.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0))).toEqual(shards[size]);
    }
  });

  it('refuses an unknown size or a layer count the model does not have', () => {
    expect(() => realShapeQwen25VlTensors({ size: '72b' as '7b' })).toThrow('unknown real-shape Qwen2.5-VL size "72b": use 3b or 7b');
    expect(() => realShapeQwen25VlTensors({ size: '3b', layers: 33 })).toThrow('layers must be an integer from 1 to 32');
    expect(() => realShapeQwen25VlConfigJson({ size: '7b', layers: 29 })).toThrow('layers must be an integer from 1 to 28');
    expect(() => realShapeQwen25VlConfigJson({ size: '7b', layers: 0 })).toThrow('got 0');
    expect(() => realShapeQwen25VlConfigJson({ size: '3b', layers: 1.5 })).toThrow('got 1.5');
  });
});

describe('writeRealShapeQwen25VlCheckpoint (3B shapes, 1 layer)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vasink-q25vl-real-'));
  let written: RealShapeQwen25VlCheckpoint;
  let checkpoint: Checkpoint;
  const progress: CheckpointWriteProgress[] = [];
  beforeAll(async () => {
    // 0.9 GB on disk: the 151,936-row embedding is full size whatever the layer count.
    written = await writeRealShapeQwen25VlCheckpoint(join(root, 'qwen2.5-vl-3b'), { size: '3b', layers: 1, maxShardBytes: 400_000_000, onProgress: (p) => progress.push(p) });
    checkpoint = await openCheckpoint(written.dir);
  }, 120_000);
  afterAll(async () => {
    await checkpoint?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the released files with every tensor at its real shape and dtype, and an index that matches the shards', async () => {
    const fixture: WrittenFixture = written;
    expect(fixture).toMatchObject({ repo: 'Qwen/Qwen2.5-VL-3B-Instruct', sinkDims: planted['3b'] });
    const configJson = JSON.parse(readFileSync(join(written.dir, 'config.json'), 'utf8')) as Json;
    const expected = releasedTensorShapes(configJson);
    expect(new Set(checkpoint.names())).toEqual(new Set(expected.keys()));
    for (const [name, shape] of expected) {
      const info = await checkpoint.info(name);
      expect([info.dtype, info.shape], name).toEqual(['BF16', shape]);
    }
    await checkpoint.validate();
    const index = JSON.parse(readFileSync(join(written.dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(written.totalBytes);
    expect(new Set(Object.keys(index.weight_map))).toEqual(new Set(expected.keys()));
    expect(written.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(written.files.slice(0, 2)));
    for (const file of ['generation_config.json', 'preprocessor_config.json', 'chat_template.json', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(written.dir, file)), file).toBe(true);
    }
    expect(progress.at(-1)).toMatchObject({ tensorsWritten: expected.size, bytesWritten: written.totalBytes, totalBytes: written.totalBytes });
  });

  it('passes the checks conversion runs first: config, tensor layout, decoder and vision weights, image settings, tokenizer, sink dims', async () => {
    const raw = JSON.parse(readFileSync(join(written.dir, 'config.json'), 'utf8')) as Json;
    const config = parseQwen25VlConfig(raw);
    expect(config.text).toMatchObject({ hiddenSize: 2048, numLayers: 1, numHeads: 16, numKvHeads: 2, intermediateSize: 11008, vocabSize: 151936, tieWordEmbeddings: true });
    expect(config.vision).toMatchObject({ depth: 1, embedDim: 1280, intermediateSize: 3420, outHiddenSize: 2048, windowSize: 112, fullAttentionBlocks: [] });
    expect(detectTensorLayout(checkpoint.names())).toBe('legacy');
    const source = checkpointWeightSource(checkpoint);
    await assertDecoderWeights(config.text, source, decoderNaming('legacy'));
    await assertWeights({ shapes: visionWeightShapes(config.vision), locate: (canonical) => ({ source, name: visionNaming('legacy')(canonical) }), what: 'vision weights' });
    const preprocessor = JSON.parse(readFileSync(join(written.dir, 'preprocessor_config.json'), 'utf8')) as Json;
    expect(preprocessor).toMatchObject({ image_processor_type: 'Qwen2VLImageProcessor', processor_class: 'Qwen2_5_VLProcessor' });
    expect(parseQwen2VlImageSettings(preprocessor)).toMatchObject({ minPixels: 3136, maxPixels: 12845056 });
    const tokenizer = await loadTokenizer(written.dir);
    expect(tokenizer.tokenToId('<|image_pad|>')).toBe(151655);
    // The shortened fixture names its planted dims; the full-size one, like the released checkpoint, leaves them to the finder.
    const named = (raw.vasink as { sink_dims: number[] }).sink_dims;
    expect(qwen2vlSinkSettings(2048, 1, named, 'qwen2_5_vl')).toMatchObject({ dims: [614, 1789], source: 'user' });
    expect(qwen2vlSinkSettings(2048, 36, undefined, 'qwen2_5_vl')).toMatchObject({ dims: null });
  });

  it('plants the first-token sink on <|im_start|> and keeps every layer off the sink dims', async () => {
    const [firstSink, imageSink] = written.sinkDims;
    const rows = await readRows(checkpoint, 'model.embed_tokens.weight', 151643, 3);
    const imStart = rows.subarray(2048, 4096);
    expect(imStart[firstSink]).toBe(100);
    expect(φ(imStart, firstSink)).toBeGreaterThan(35);
    expect(φ(rows.subarray(0, 2048), firstSink)).toBeLessThan(6);
    expect(φ(rows.subarray(0, 2048), imageSink)).toBeLessThan(6);
    for (const name of ['self_attn.o_proj.weight', 'mlp.down_proj.weight']) {
      for (const dim of written.sinkDims) expect((await readRows(checkpoint, `model.layers.0.${name}`, dim)).every((x) => x === 0), name).toBe(true);
    }
    const norm = await readRows(checkpoint, 'model.norm.weight', 0);
    expect(Array.from(norm).every((x, i) => x === (i === firstSink || i === imageSink ? 0 : 1))).toBe(true);
  });

  it('makes a window of four white patches a visual sink through the vision tower and the merger, and leaves a textured one alone', async () => {
    const [firstSink, imageSink] = written.sinkDims;
    const vision = written.config.vision;
    const weights = new Map<string, TypedTensor>();
    for (const name of visionWeightShapes(vision).keys()) weights.set(name, await checkpoint.readAsFloat32(visionNaming('legacy')(name)));
    const columns = 3 * 2 * 14 * 14;
    const window = (pixel: (channel: number, i: number) => number) =>
      Float32Array.from({ length: 4 * columns }, (_, i) => {
        const channel = Math.floor((i % columns) / (columns / 3));
        return (pixel(channel, i) - (CLIP_MEAN[channel] as number)) / (CLIP_STD[channel] as number);
      });
    const random = seededUniform(3);
    const tower = (pixelValues: Float32Array) => referenceQwen25VlVision({ config: vision, weights, pixelValues, gridThw: [[1, 2, 2]] });
    const white = tower(window(() => 1));
    expect(white[imageSink]).toBeGreaterThan(85);
    expect(white[imageSink]).toBeLessThan(115);
    expect(φ(white, imageSink)).toBeGreaterThan(25);
    const textured = tower(window(() => (30 + random() * 140) / 255));
    expect([textured[imageSink], textured[firstSink]]).toEqual([0, 0]);
    const rms = Math.sqrt(textured.reduce((s, x) => s + x * x, 0) / textured.length);
    expect(rms).toBeGreaterThan(0.1);
    expect(rms).toBeLessThan(2);
  }, 60_000);
});
