import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelManifest, ModelDirectoryError, readManifest, writeManifest } from './model-manifest.js';

const manifest: ModelManifest = {
  format: 'vasink-model',
  formatVersion: 1,
  family: 'llava',
  architecture: 'LlavaForConditionalGeneration',
  dtype: 'float32',
  decoder: {
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 16,
    intermediateSize: 128,
    vocabSize: 100,
    rmsNormEps: 1e-5,
    rope: { type: 'default', theta: 10000 },
    attentionBias: false,
    tieWordEmbeddings: false,
  },
  graphs: { vision: 'vision.onnx', embed: 'embed.onnx', decoder: 'decoder.onnx', decoderDiagnostics: 'decoder-diagnostics.onnx' },
  weights: ['weights.bin'],
  sink: { dims: [3, 9], startLayer: 2, backbone: null, source: 'user' },
  tokens: { imageTokenId: 32000, eosTokenIds: [2], bosTokenId: 1 },
  adapter: { imageSize: 336 },
  source: { path: '/tmp/x', convertedAt: '2026-11-21T00:00:00Z', producer: 'vasink' },
};

describe('model manifest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-manifest-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('round-trips', async () => {
    await writeManifest(dir, manifest);
    expect(await readManifest(dir)).toEqual(manifest);
  });

  it('names what is wrong with a directory that is not a converted model', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vasink-empty-'));
    await expect(readManifest(empty)).rejects.toThrow(`${empty} is not a converted vasink model (no manifest.json); convert a checkpoint first`);
    await writeFile(join(empty, 'manifest.json'), '{ nope');
    await expect(readManifest(empty)).rejects.toThrow(/manifest.json is not valid JSON/);
    await writeFile(join(empty, 'manifest.json'), JSON.stringify({ ...manifest, formatVersion: 7 }));
    await expect(readManifest(empty)).rejects.toThrow(/format version 7; this vasink reads version 1/);
    await writeFile(join(empty, 'manifest.json'), JSON.stringify({ ...manifest, decoder: { ...manifest.decoder, numKvHeads: 3 } }));
    await expect(readManifest(empty)).rejects.toThrow(/num_attention_heads \(4\) is not a multiple of num_key_value_heads \(3\)/);
    await writeFile(join(empty, 'manifest.json'), JSON.stringify({ hello: 1 }));
    await expect(readManifest(empty)).rejects.toThrow(ModelDirectoryError);
    await rm(empty, { recursive: true, force: true });
  });
});
