import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExternalDataFile, writeModel } from '@vasink/onnx-graph';
import { openCheckpoint, writeSafetensors } from '@vasink/safetensors';
import { createTensor, fromFloat32, toFloat32, type TypedTensor } from '@vasink/tensor';
import { createModelRunner } from '@vasink/test-utils';
import * as ort from 'onnxruntime-node';
import { DecoderConfigError, validateDecoderConfig } from './decoder-config.js';
import { DECODER_IO, buildDecoderGraph, buildEmbeddingGraph } from './decoder-graph.js';
import { randomDecoderWeights } from './random-weights.js';
import { WeightStore } from './weight-store.js';
import { WeightMismatchError, assertDecoderWeights, checkpointWeightSource, memoryWeightSource } from './weights.js';
import { tinyConfig } from './testing/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'vasink-tg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Baseline-graph feeds for one prefill of `tokens` tokens, batch 1. */
function prefillFeeds(config: ReturnType<typeof tinyConfig>, embeds: TypedTensor, tokens: number) {
  const feeds: Record<string, TypedTensor> = {
    [DECODER_IO.inputsEmbeds]: embeds,
    [DECODER_IO.attentionMask]: createTensor('int64', [1, tokens], new BigInt64Array(tokens).fill(1n)),
    [DECODER_IO.positionIds]: createTensor('int64', [1, tokens], Array.from({ length: tokens }, (_, i) => i)),
  };
  for (let l = 0; l < config.numLayers; l++) {
    for (const name of [DECODER_IO.pastKey(l), DECODER_IO.pastValue(l), DECODER_IO.recentKey(l), DECODER_IO.recentValue(l)]) {
      feeds[name] = createTensor(embeds.dtype as 'float32', [1, config.numKvHeads, 0, config.headDim]);
    }
  }
  return feeds;
}

describe('weight validation', () => {
  const config = tinyConfig();
  it('accepts complete weights and names every problem otherwise, before any graph exists', async () => {
    const weights = randomDecoderWeights(config);
    await expect(assertDecoderWeights(config, memoryWeightSource(weights))).resolves.toBeUndefined();
    weights.delete('layers.1.mlp.up_proj.weight');
    weights.set('layers.0.self_attn.q_proj.weight', createTensor('float32', [3, 3]));
    weights.set('norm.weight', createTensor('int32', [config.hiddenSize]));
    const attempt = assertDecoderWeights(config, memoryWeightSource(weights), (n) => `model.${n}`);
    await expect(attempt).rejects.toThrow(WeightMismatchError);
    const problems = await attempt.catch((e: WeightMismatchError) => e.details.problems as string[]);
    expect(problems).toContain('missing tensor model.layers.1.mlp.up_proj.weight');
    const plain = assertDecoderWeights(config, memoryWeightSource(weights));
    await expect(plain).rejects.toThrow('layers.0.self_attn.q_proj.weight has shape [3, 3], config expects [64, 64]');
    await expect(assertDecoderWeights(config, memoryWeightSource(weights))).rejects.toThrow('norm.weight is int32, expected a floating dtype');
  });

  it('rejects configs that cannot describe a decoder', () => {
    expect(() => validateDecoderConfig({ ...config, numKvHeads: 3 })).toThrow(
      'decoder config: num_attention_heads (4) is not a multiple of num_key_value_heads (3)',
    );
    expect(() => validateDecoderConfig({ ...config, hiddenSize: undefined as never }, 'config.json')).toThrow(
      'config.json: hiddenSize must be a positive integer, got undefined',
    );
    expect(() => validateDecoderConfig({ ...config, rope: { type: 'mrope', theta: 1e6, section: [2, 2, 2] } })).toThrow(DecoderConfigError);
  });
});

describe('weights on disk', () => {
  it('streams a safetensors checkpoint (bf16) into an external data file shared by the embedding and decoder graphs', async () => {
    const config = tinyConfig({ tieWordEmbeddings: true });
    const weights = randomDecoderWeights(config, { seed: 5 });
    // Store as bfloat16, as Qwen2 checkpoints are; the graph converts to float32.
    const bf16 = new Map([...weights].map(([name, t]) => [`model.${name}`, fromFloat32(toFloat32(t), 'bfloat16')]));
    await writeSafetensors(join(scratch, 'model.safetensors'), [...bf16]);
    const checkpoint = await openCheckpoint(scratch);
    const source = checkpointWeightSource(checkpoint);
    const naming = (n: string) => `model.${n}`;
    await assertDecoderWeights(config, source, naming);
    const data = ExternalDataFile.create(join(scratch, 'weights.bin'));
    const store = new WeightStore({ source, naming, dtype: 'float32', externalData: data });
    const embed = await buildEmbeddingGraph({ config, weights: store });
    const decoder = await buildDecoderGraph({ config, weights: store });
    data.close();
    writeModel(embed, join(scratch, 'embed.onnx'));
    writeModel(decoder, join(scratch, 'decoder.onnx'));
    await checkpoint.close();
    // The tied embedding is written once: the data file holds each weight once.
    const perWeight = [...weights.values()].reduce((a, t) => a + t.data.length * 4, 0);
    expect(data.size).toBeLessThan(perWeight + 64 * weights.size + 64);

    const embedSession = await ort.InferenceSession.create(join(scratch, 'embed.onnx'));
    const ids = new ort.Tensor('int64', new BigInt64Array([1n, 5n, 9n]), [1, 3]);
    const embeds = (await embedSession.run({ input_ids: ids })).inputs_embeds!;
    const table = toFloat32(bf16.get('model.embed_tokens.weight')!).data;
    expect([...(embeds.data as Float32Array).subarray(0, config.hiddenSize)]).toEqual([...table.subarray(64, 128)]);
    const decoderSession = await ort.InferenceSession.create(join(scratch, 'decoder.onnx'));
    const feeds = prefillFeeds(config, createTensor('float32', [1, 3, config.hiddenSize], embeds.data as Float32Array), 3);
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
    const logits = (await decoderSession.run(ortFeeds)).logits!;
    expect(logits.dims).toEqual([1, 1, config.vocabSize]);
    // Same graph from the same (bf16-rounded) weights held in memory gives the same logits.
    const inMemory = new Map([...bf16].map(([name, t]) => [name.slice('model.'.length), toFloat32(t)]));
    const runner = await createModelRunner(
      await buildDecoderGraph({ config, weights: new WeightStore({ source: memoryWeightSource(inMemory), dtype: 'float32' }) }),
    );
    const expected = (await runner.run(feeds)).logits!.data as Float32Array;
    expect([...(logits.data as Float32Array)]).toEqual([...expected]);
    await Promise.all([runner.release(), embedSession.release(), decoderSession.release()]);
  });
});

describe('float16 weights', () => {
  it('runs with float16 weights and KV cache, softmax and VAR in float32, close to the float32 graph', async () => {
    const config = tinyConfig();
    const weights = randomDecoderWeights(config, { seed: 9 });
    const build = (dtype: 'float32' | 'float16') =>
      buildDecoderGraph({ config, weights: new WeightStore({ source: memoryWeightSource(weights), dtype }) });
    const [wide, half] = await Promise.all([createModelRunner(await build('float32')), createModelRunner(await build('float16'))]);
    const embeds = createTensor('float32', [1, 6, config.hiddenSize], Float32Array.from({ length: 6 * config.hiddenSize }, (_, i) => Math.sin(i)));
    const a = (await wide.run(prefillFeeds(config, embeds, 6))).logits!.data as Float32Array;
    const out = await half.run(prefillFeeds(config, fromFloat32(embeds, 'float16'), 6));
    expect(out[DECODER_IO.presentKey(0)]!.dtype).toBe('float16');
    const b = out.logits!.data as Float32Array;
    const scale = Math.max(...a.map(Math.abs));
    const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    // float16 weights and activations, float32 accumulation: within a few parts per thousand.
    expect(worst / scale).toBeLessThan(2e-3);
    await Promise.all([wide.release(), half.release()]);
  });
});
