import { ATTENTION_INTERVENTIONS } from './methods.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '@vasink/onnx-graph';
import { WeightStore, buildDecoderGraph, buildEmbeddingGraph, memoryWeightSource, randomDecoderWeights } from '@vasink/transformer-graph';
import * as ort from 'onnxruntime-node';
import { PLANTED_DECODER_CONFIG, PLANTED_SINK_DIMS, idTokenizer, plantedPresets, plantedPrompt } from './__fixtures__/planted-decoder.js';
import { collect, generate } from './generate.js';
import { type DecoderPromptRow, createOnnxDecoderStep } from './onnx-decoder-step.js';

const config = PLANTED_DECODER_CONFIG;
const SINK_DIMS = PLANTED_SINK_DIMS;
const tokenizer = idTokenizer;
const hallucination = plantedPresets.hallucination;
const prompt = (seed: number, tokens: number, imageStart: number, imageLength: number, withVar: boolean): DecoderPromptRow =>
  plantedPrompt(seed, tokens, imageStart, imageLength, withVar ? hallucination : undefined);

describe('createOnnxDecoderStep', () => {
  let decoder: ort.InferenceSession;
  let baseline: ort.InferenceSession;
  let embedSession: ort.InferenceSession;
  const embed = async (ids: readonly number[]) => {
    const out = await embedSession.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return out.inputs_embeds!.data as Float32Array;
  };
  beforeAll(async () => {
    const weights = randomDecoderWeights(config, { seed: 4 });
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    decoder = await ort.InferenceSession.create(encodeModel(await buildDecoderGraph({ config, weights: store(), interventions: ATTENTION_INTERVENTIONS, diagnostics: true })));
    baseline = await ort.InferenceSession.create(encodeModel(await buildDecoderGraph({ config, weights: store() })));
    embedSession = await ort.InferenceSession.create(encodeModel(await buildEmbeddingGraph({ config, weights: store() })));
  });
  afterAll(async () => {
    await Promise.all([decoder.release(), baseline.release(), embedSession.release()]);
  });

  const run = (prompts: DecoderPromptRow[], session = decoder, maxNewTokens = 6, kvMergeTokens?: number) =>
    collect(
      generate(createOnnxDecoderStep({ decoder: session, config, embed, prompts, sinkDims: SINK_DIMS, ...(kvMergeTokens ? { kvMergeTokens } : {}) }), {
        tokenizer,
        maxNewTokens,
        eosTokenIds: [],
      }),
    );

  it('a left-padded batch mixing VAR on and off gives each row its single-row tokens', async () => {
    const prompts = [prompt(1, 14, 2, 8, true), prompt(2, 9, 1, 5, true), prompt(3, 12, 3, 6, false)];
    const batched = await run(prompts);
    for (const [row, p] of prompts.entries()) {
      const [alone] = await run([p]);
      expect(batched[row]!.ids, `row ${row}`).toEqual(alone!.ids);
      batched[row]!.logProbs.forEach((lp, i) => expect(lp).toBeCloseTo(alone!.logProbs[i]!, 4));
    }
  });

  it('the two-block KV cache gives the same tokens and log-probs whenever the recent block is merged (every step, every 3, never)', async () => {
    const prompts = [prompt(1, 14, 2, 8, true), prompt(3, 12, 3, 6, false)];
    const never = await run(prompts, decoder, 10, 1000);
    for (const mergeTokens of [1, 3]) {
      const merged = await run(prompts, decoder, 10, mergeTokens);
      merged.forEach((r, row) => {
        expect(r.ids, `merge every ${mergeTokens}, row ${row}`).toEqual(never[row]!.ids);
        r.logProbs.forEach((lp, i) => expect(lp).toBeCloseTo(never[row]!.logProbs[i]!, 5));
      });
    }
    expect(() => createOnnxDecoderStep({ decoder, config, embed, prompts, sinkDims: SINK_DIMS, kvMergeTokens: 0 })).toThrow(/kvMergeTokens must be a positive integer/);
  });

  it('VAR changes the generation of a VAR row and reports sinks, selected heads and moved mass', async () => {
    const on = prompt(5, 16, 2, 10, true);
    const { var: _, ...off } = on;
    const [withVar] = await run([on], decoder, 8);
    const [without] = await run([off], decoder, 8);
    const [plain] = await run([off], baseline, 8);
    expect(without!.ids).toEqual(plain!.ids);
    expect(withVar!.logProbs).not.toEqual(without!.logProbs);
    const prefill = withVar!.diagnostics[0]!;
    expect(prefill.phase).toBe('prefill');
    // The planted tokens are sinks in every layer; the step reports positions within the prompt.
    // Layers before the sink start layer (2) report none; from there on, the planted tokens.
    prefill.sinkPositions![0]!.forEach((layer, l) => expect(layer).toEqual(l < 2 ? [] : [0, 3, 6]));
    const moved = prefill.moved![0]!;
    expect(moved[0]).toBe(0);
    expect(moved[1]).toBe(0);
    expect(moved[2]! + moved[3]!).toBeGreaterThan(0);
    expect(withVar!.diagnostics.slice(1).some((d) => d?.phase === 'decode' && d.moved![0]!.some((m) => m > 0))).toBe(true);
  });

  it('refuses bad prompts and VAR on a graph without VAR inputs, naming the problem', async () => {
    expect(() => createOnnxDecoderStep({ decoder, config, embed, prompts: [] })).toThrow('at least one prompt');
    expect(() => createOnnxDecoderStep({ decoder, config, embed, prompts: [{ embeds: new Float32Array(65) }] })).toThrow(
      'prompt 0: embeddings hold 65 values, not a positive multiple of hidden size 64',
    );
    expect(() => createOnnxDecoderStep({ decoder: baseline, config, embed, prompts: [prompt(1, 4, 1, 2, true)], sinkDims: SINK_DIMS })).toThrow(
      /VAR was requested but the decoder graph has no VAR inputs/,
    );
    expect(() => createOnnxDecoderStep({ decoder, config, embed, prompts: [prompt(1, 4, 1, 2, true)] })).toThrow(/sink dims are empty/);
    expect(() => createOnnxDecoderStep({ decoder, config, embed, prompts: [prompt(1, 4, 1, 2, true)], sinkDims: [64] })).toThrow(
      'sink dim 64 is not an integer in [0, 64)',
    );
  });

  it('stops on abort between steps', async () => {
    const controller = new AbortController();
    const events = generate(createOnnxDecoderStep({ decoder, config, embed, prompts: [prompt(1, 6, 1, 3, true)], sinkDims: SINK_DIMS }), {
      tokenizer,
      maxNewTokens: 50,
      eosTokenIds: [],
      signal: controller.signal,
    });
    const seen: string[] = [];
    for await (const event of events) {
      seen.push(event.kind);
      if (seen.length === 3) controller.abort();
    }
    expect(seen.at(-1)).toBe('abort');
    expect(seen.length).toBeLessThan(6);
  });
});
