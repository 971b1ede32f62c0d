import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD } from '@vasink/image';
import { loadTokenizer } from '@vasink/runtime';
import { type Checkpoint, type CheckpointWriteProgress, openCheckpoint, planShards } from '@vasink/safetensors';
import { type TypedTensor, bfloat16ArrayToFloat32, seededUniform } from '@vasink/tensor';
import { assertDecoderWeights, checkpointWeightSource, decoderWeightShapes } from '@vasink/transformer-graph';
import { assertVisionWeights, decoderNaming, detectTensorLayout, visionNaming, visionWeightShapes } from './checkpoint-layout.js';
import { checkpointSinkDims, qwen2vlSinkSettings } from './convert.js';
import { parseQwen2VlImageSettings } from './preprocessor-config.js';
import { parseQwen2VlConfig } from './qwen2vl-config.js';
import {
  QWEN2_VL_MAX_SHARD_BYTES,
  type RealShapeQwen2VlCheckpoint,
  realShapeQwen2VlConfigJson,
  realShapeQwen2VlTensors,
  writeRealShapeQwen2VlCheckpoint,
} from './real-shape-checkpoint.js';
import { referenceVisionTower } from './vision-reference.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const released = { '2b': fixture('qwen2-vl-2b-instruct.config.json'), '7b': fixture('qwen2-vl-7b-instruct.config.json') } as const;

/** Every tensor of a released Qwen2-VL checkpoint, stored name → shape, from the adapter's own shape tables. */
function releasedTensorShapes(configJson: Record<string, unknown>): Map<string, readonly number[]> {
  const config = parseQwen2VlConfig(configJson);
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

describe('real-shape Qwen2-VL checkpoints: names, shapes and shards of the full models', () => {
  it('config.json is the released one (plus the vasink extension), layer counts shortened on request', () => {
    for (const size of ['2b', '7b'] as const) {
      const { vasink, ...config } = realShapeQwen2VlConfigJson({ size });
      expect(config).toEqual(released[size]);
      // Qwen2-1.5B has no published sink dims: the 2B names its planted ones; the 7B's are Qwen2-7B's profile.
      if (size === '2b') expect(vasink).toMatchObject({ sink_dims: [458, 1101] });
      else expect(vasink).not.toHaveProperty('sink_dims');
      const short = realShapeQwen2VlConfigJson({ size, layers: 2 });
      expect(short).toMatchObject({ num_hidden_layers: 2, vision_config: { depth: 2 }, vasink: { sink_dims: size === '2b' ? [458, 1101] : [458, 2570] } });
    }
  });

  it('every tensor of Qwen2-VL-2B/7B-Instruct, bfloat16, in 2 and 5 shards of at most 4 GB split in state_dict order', () => {
    const published = { '2b': [3_988_529_152, 429_442_048], '7b': [3_898_589_184, 3_864_715_264, 3_864_715_264, 3_864_736_768, 1_089_994_752] };
    for (const size of ['2b', '7b'] as const) {
      const tensors = realShapeQwen2VlTensors({ size });
      const expected = releasedTensorShapes(released[size]);
      expect(new Map(tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
      expect(tensors).toHaveLength(expected.size);
      expect(new Set(tensors.map((t) => t.dtype))).toEqual(new Set(['bfloat16']));
      expect(tensors.some((t) => t.name === 'lm_head.weight')).toBe(size === '7b');
      expect(tensors[0]?.name).toBe('visual.patch_embed.proj.weight');
      // As published: 3.99 GB + 429 MB for 2B; 3.9, 3.86, 3.86, 3.86 and 1.09 GB for 7B.
      const plan = planShards(tensors, QWEN2_VL_MAX_SHARD_BYTES);
      expect(plan.map((shard) => shard.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 2, 0))).toEqual(published[size]);
    }
  });

  it('refuses an unknown size or a layer count the model does not have', () => {
    expect(() => realShapeQwen2VlTensors({ size: '72b' as '7b' })).toThrow('unknown real-shape Qwen2-VL size "72b": use 2b or 7b');
    expect(() => realShapeQwen2VlTensors({ size: '2b', layers: 29 })).toThrow('layers must be an integer from 1 to 28');
  });
});

describe('writeRealShapeQwen2VlCheckpoint (2B shapes, 1 layer)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vasink-q2vl-real-'));
  let written: RealShapeQwen2VlCheckpoint;
  let checkpoint: Checkpoint;
  const progress: CheckpointWriteProgress[] = [];
  beforeAll(async () => {
    // 0.7 GB on disk: the 151,936-row embedding is full size whatever the layer count.
    written = await writeRealShapeQwen2VlCheckpoint(join(root, 'qwen2-vl-2b'), { size: '2b', layers: 1, maxShardBytes: 300_000_000, onProgress: (p) => progress.push(p) });
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
      expect([info.dtype, info.shape], name).toEqual(['BF16', shape]);
    }
    await checkpoint.validate();
    const index = JSON.parse(readFileSync(join(written.dir, 'model.safetensors.index.json'), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(index.metadata.total_size).toBe(written.totalBytes);
    expect(written.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(written.files.slice(0, 2)));
    for (const file of ['generation_config.json', 'preprocessor_config.json', 'chat_template.json', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(written.dir, file)), file).toBe(true);
    }
    expect(progress.at(-1)).toMatchObject({ tensorsWritten: expected.size, bytesWritten: written.totalBytes, totalBytes: written.totalBytes });
  });

  it('passes the checks conversion runs first: config, tensor layout, decoder and vision weights, image settings, tokenizer, sink dims', async () => {
    const raw = JSON.parse(readFileSync(join(written.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = parseQwen2VlConfig(raw);
    expect(config.text).toMatchObject({ hiddenSize: 1536, numLayers: 1, numHeads: 12, numKvHeads: 2, intermediateSize: 8960, vocabSize: 151936, tieWordEmbeddings: true });
    expect(config.vision).toMatchObject({ depth: 1, embedDim: 1280, outHiddenSize: 1536 });
    const layout = detectTensorLayout(checkpoint.names());
    expect(layout).toBe('legacy');
    const source = checkpointWeightSource(checkpoint);
    await assertDecoderWeights(config.text, source, decoderNaming('legacy'));
    await assertVisionWeights(config.vision, source, visionNaming('legacy'));
    expect(parseQwen2VlImageSettings(JSON.parse(readFileSync(join(written.dir, 'preprocessor_config.json'), 'utf8')) as Record<string, unknown>)).toMatchObject({
      minPixels: 3136,
      maxPixels: 12845056,
    });
    const tokenizer = await loadTokenizer(written.dir);
    expect(tokenizer.tokenToId('<|image_pad|>')).toBe(151655);
    expect(qwen2vlSinkSettings(1536, 1, checkpointSinkDims(raw, 'config.json'))).toMatchObject({ dims: [458, 1101], source: 'user' });
  });

  it('plants the first-token sink on <|im_start|> and keeps every layer off the sink dims', async () => {
    const [firstSink, imageSink] = written.sinkDims;
    const rows = await readRows(checkpoint, 'model.embed_tokens.weight', 151643, 3);
    const imStart = rows.subarray(1536, 3072);
    expect(imStart[firstSink]).toBe(100);
    expect(φ(imStart, firstSink)).toBeGreaterThan(35);
    expect(φ(rows.subarray(0, 1536), firstSink)).toBeLessThan(6);
    expect(φ(rows.subarray(0, 1536), imageSink)).toBeLessThan(6);
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
    const tower = (pixelValues: Float32Array) => referenceVisionTower({ config: vision, weights, pixelValues, gridThw: [[1, 2, 2]] });
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
