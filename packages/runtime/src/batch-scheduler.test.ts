import { ATTENTION_INTERVENTIONS } from './methods.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '@vasink/onnx-graph';
import { normRelativeError } from '@vasink/test-utils';
import { WeightStore, buildDecoderGraph, buildEmbeddingGraph, memoryWeightSource, randomDecoderWeights } from '@vasink/transformer-graph';
import * as ort from 'onnxruntime-node';
import { PLANTED_DECODER_CONFIG, PLANTED_SINK_DIMS, idTokenizer, plantedPresets, plantedPrompt } from './__fixtures__/planted-decoder.js';
import { BatchScheduler } from './batch-scheduler.js';
import { DecoderBatch, type DecoderPromptRow } from './decoder-batch.js';
import { type GenerationEvent, type GenerationResult, collect } from './generate.js';
import { argmax } from './sampler.js';
import { contrastLogits, vcdContrast } from '@vasink/vcd';

const config = PLANTED_DECODER_CONFIG;
const SINK_DIMS = PLANTED_SINK_DIMS;
const tokenizer = idTokenizer;
const { hallucination, general } = plantedPresets;
const prompt = plantedPrompt;

describe('DecoderBatch and BatchScheduler (continuous batching)', () => {
  let decoder: ort.InferenceSession;
  let embedSession: ort.InferenceSession;
  const embed = async (ids: readonly number[]) => {
    const out = await embedSession.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
    return out.inputs_embeds!.data as Float32Array;
  };
  const newBatch = (kvMergeTokens = 3) => new DecoderBatch({ decoder, config, embed, sinkDims: SINK_DIMS, kvMergeTokens });
  beforeAll(async () => {
    const weights = randomDecoderWeights(config, { seed: 4 });
    const store = () => new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' });
    decoder = await ort.InferenceSession.create(encodeModel(await buildDecoderGraph({ config, weights: store(), interventions: ATTENTION_INTERVENTIONS })));
    embedSession = await ort.InferenceSession.create(encodeModel(await buildEmbeddingGraph({ config, weights: store() })));
  });
  afterAll(async () => {
    await Promise.all([decoder.release(), embedSession.release()]);
  });

  /** Greedy logits of a prompt run alone: the prefill's, then one per decode step. */
  async function alone(p: DecoderPromptRow, steps: number): Promise<Float32Array[]> {
    const batch = newBatch(1000);
    const first = await batch.add([p]);
    const logits = [first.logits[0]!];
    for (let s = 0; s < steps; s++) {
      const out = await batch.decode(new Map([[first.rows[0]!, argmax(logits.at(-1)!)]]));
      logits.push(out.logits[0]!);
    }
    return logits;
  }

  it('rows joining mid-decode and leaving early get the logits of their single-row runs (≤ 1e-5), VAR on/off and presets mixed', async () => {
    // Lengths chosen so that both joins pad: the second join is longer than the running rows, the third shorter.
    const prompts = [prompt(1, 9, 1, 5, hallucination), prompt(2, 25, 2, 14, general), prompt(3, 6, 1, 3), prompt(4, 12, 3, 6, hallucination)];
    const steps = 24;
    const reference = await Promise.all(prompts.map((p) => alone(p, steps)));
    const batch = newBatch(3); // merges of the recent block interleave with joins and leaves
    const seen = prompts.map(() => [] as Float32Array[]);
    const idOf = new Map<number, number>();
    const record = (out: { rows: readonly number[]; logits: readonly Float32Array[] }) => out.rows.forEach((id, b) => seen[idOf.get(id)!]!.push(out.logits[b]!));
    const join = async (indices: number[]) => {
      const out = await batch.add(indices.map((i) => prompts[i]!));
      out.rows.forEach((id, k) => idOf.set(id, indices[k]!));
      record(out);
    };
    const decode = async () => {
      const tokens = new Map(batch.rows.map((id) => [id, argmax(seen[idOf.get(id)!]!.at(-1)!)]));
      record(await batch.decode(tokens));
    };
    await join([0]);
    for (let s = 0; s < 4; s++) await decode();
    await join([1, 2]); // longer than the running row: it is padded on the left
    for (let s = 0; s < 3; s++) await decode();
    const rowOf = (index: number) => [...idOf].find(([, i]) => i === index)![0];
    batch.remove([rowOf(0)]); // leaves early: the others' padding shrinks
    await join([3]);
    expect(batch.rows.map((id) => idOf.get(id))).toEqual([1, 2, 3]);
    for (let s = 0; s < 5; s++) await decode();
    batch.remove([rowOf(2)]);
    while (seen[3]!.length <= 12) await decode();
    seen.forEach((logits, i) => {
      expect(logits.length, `prompt ${i}`).toBeGreaterThan(3);
      logits.forEach((l, s) => expect(normRelativeError(l, reference[i]![s]!), `prompt ${i} step ${s}`).toBeLessThanOrEqual(1e-5));
    });
    batch.dispose();
  });

  it('a row cannot see another row: changing one prompt leaves the other rows bit-for-bit', async () => {
    const a = prompt(5, 10, 2, 5, hallucination);
    const run = async (other: DecoderPromptRow) => {
      const batch = newBatch(2);
      const out = await batch.add([a, other]);
      const logits = [out.logits[0]!];
      let last = out;
      for (let s = 0; s < 6; s++) {
        last = await batch.decode(new Map(last.rows.map((id, b) => [id, argmax(last.logits[b]!)])));
        logits.push(last.logits[0]!);
      }
      return logits;
    };
    // Same length, different content, image span and VAR: a leak of KV, sink flags or positions would show in row 0.
    const one = await run(prompt(6, 10, 1, 8, general));
    const two = await run(prompt(7, 10, 4, 3));
    one.forEach((l, s) => expect(Array.from(l), `step ${s}`).toEqual(Array.from(two[s]!)));
  });

  it('the scheduler streams every request its single-request tokens, with rows joining, leaving and aborting', async () => {
    const prompts = [prompt(1, 9, 1, 5, hallucination), prompt(2, 25, 2, 14, general), prompt(3, 6, 1, 3), prompt(4, 12, 3, 6)];
    const lengths = [20, 6, 14, 9];
    const single = async (p: DecoderPromptRow, maxNewTokens: number) => {
      const scheduler = new BatchScheduler({ batch: newBatch(), tokenizer, maxRows: 1 });
      return (await collect(scheduler.submit([p], { maxNewTokens })))[0]!;
    };
    const reference = await Promise.all(prompts.map((p, i) => single(p, lengths[i]!)));
    const scheduler = new BatchScheduler({ batch: newBatch(), tokenizer, maxRows: 3 });
    const order: string[] = [];
    const gather = async (index: number, events: AsyncIterable<GenerationEvent>) => {
      const kept: GenerationEvent[] = [];
      for await (const event of events) {
        order.push(`${index}${event.done ? '.' : ''}`);
        kept.push(event);
      }
      return collect((async function* () { yield* kept; })());
    };
    // Request 0 starts alone; 1 and 2 arrive while it decodes; 3 waits for a free row (maxRows 3).
    const first = scheduler.submit([prompts[0]!], { maxNewTokens: lengths[0]! });
    const iterator = first[Symbol.asyncIterator]();
    const head: GenerationEvent[] = [];
    for (let i = 0; i < 3; i++) head.push((await iterator.next()).value as GenerationEvent);
    const rest = gather(0, { [Symbol.asyncIterator]: () => iterator });
    const others = [1, 2, 3].map((i) => gather(i, scheduler.submit([prompts[i]!], { maxNewTokens: lengths[i]! })));
    const results: GenerationResult[][] = await Promise.all([rest, ...others]);
    const tokens = (r: GenerationResult) => r.ids;
    expect([...head.map((e) => (e.kind === 'token' ? e.id : -1)), ...tokens(results[0]![0]!)]).toEqual(reference[0]!.ids);
    [1, 2, 3].forEach((i) => {
      expect(tokens(results[i]![0]!), `request ${i}`).toEqual(reference[i]!.ids);
      results[i]![0]!.topLogits.forEach((top, s) =>
        top.forEach((t, k) => expect(Math.abs(t.logit - reference[i]!.topLogits[s]![k]!.logit)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(t.logit)))),
      );
    });
    // Request 1 joined while 0 was decoding, and 3 only once a row was free.
    expect(order.indexOf('1')).toBeLessThan(order.indexOf('0.'));
    expect(order.indexOf('3')).toBeGreaterThan(Math.min(order.indexOf('1.'), order.indexOf('2.')));
    expect(scheduler.stats.rows).toBe(0);
    expect(scheduler.stats.rowSteps / scheduler.stats.decodeSteps).toBeGreaterThan(1.5);

    // An aborted request ends with an abort event and frees its row; a request that stops reading frees its row too.
    const controller = new AbortController();
    const events: GenerationEvent[] = [];
    const keep = collect(scheduler.submit([prompts[2]!], { maxNewTokens: lengths[2]! }));
    for await (const event of scheduler.submit([prompts[0]!, prompts[3]!], { maxNewTokens: 50, signal: controller.signal })) {
      events.push(event);
      if (events.length === 4) controller.abort();
    }
    expect(events.filter((e) => e.kind === 'abort').map((e) => e.row).sort()).toEqual([0, 1]);
    for await (const event of scheduler.submit([prompts[1]!], { maxNewTokens: 50 })) if (event.step === 2) break;
    expect((await keep)[0]!.ids).toEqual(reference[2]!.ids);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(scheduler.stats.rows).toBe(0);
    scheduler.close();
    await expect(collect(scheduler.submit([prompts[0]!], { maxNewTokens: 2 }))).rejects.toThrow(/closed/);
  });

  it('refuses a bad request at submit, naming the problem, and keeps serving the others', async () => {
    const scheduler = new BatchScheduler({ batch: newBatch(), tokenizer, maxRows: 2 });
    await expect(collect(scheduler.submit([], { maxNewTokens: 2 }))).rejects.toThrow('at least one prompt row');
    await expect(collect(scheduler.submit([prompt(1, 4, 1, 2)], { maxNewTokens: 0 }))).rejects.toThrow('maxNewTokens must be a positive integer');
    await expect(collect(scheduler.submit([{ embeds: new Float32Array(65) }], { maxNewTokens: 2 }))).rejects.toThrow('not a positive multiple of hidden size 64');
    expect(() => new BatchScheduler({ batch: newBatch(), tokenizer, maxRows: 0 })).toThrow('maxRows must be a positive integer');
    const [ok] = await collect(scheduler.submit([prompt(1, 4, 1, 2)], { maxNewTokens: 3 }));
    expect(ok!.ids).toHaveLength(3);
    scheduler.close();
  });

  it('a contrast row samples from (1 + α)·l − α·l′ of its own and its counterpart\'s logits, both fed the same tokens; α = 0 is the row alone', async () => {
    const own = prompt(5, 14, 2, 6, hallucination);
    const counterpart = prompt(6, 14, 2, 6, hallucination); // stands for the noised image: other image features, same layout
    const settings = vcdContrast({ alpha: 1, beta: 0.1 });
    const steps = 6;
    const scheduler = new BatchScheduler({ batch: newBatch(), tokenizer, maxRows: 4 });
    const [contrasted] = await collect(scheduler.submit([{ ...own, contrast: { settings, counterpart } }], { maxNewTokens: steps, topLogits: 0 }));
    // Reference: both rows alone, fed the contrast's tokens one by one.
    const pair = newBatch(1000);
    let out = await pair.add([own, counterpart]);
    const expected: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = argmax(contrastLogits(out.logits[0]!, out.logits[1]!, settings));
      expected.push(next);
      out = await pair.decode(new Map(out.rows.map((id) => [id, next])));
    }
    expect(contrasted!.ids).toEqual(expected);
    // The contrast chose differently from the row alone somewhere (else this test would not tell).
    const [plain] = await collect(scheduler.submit([own], { maxNewTokens: steps }));
    expect(plain!.ids).not.toEqual(expected);
    const [zero] = await collect(scheduler.submit([{ ...own, contrast: { settings: vcdContrast({ alpha: 0 }), counterpart } }], { maxNewTokens: steps }));
    expect(zero!.ids).toEqual(plain!.ids);
    expect(scheduler.stats.rows).toBe(0); // both rows of each contrast left
    await expect(collect(scheduler.submit([{ ...own, contrast: { settings: vcdContrast({ beta: 2 }), counterpart } }], { maxNewTokens: 2 }))).rejects.toThrow(/beta .* must be in \(0, 1\], got 2/);
  });
});
