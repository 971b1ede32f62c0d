import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RgbImage, decodeImage, encodePng } from '@vasink/image';
import { type GenerationResult, type PreparedRequest, type VarStepDiagnostics, VisionLanguageModel, collect, createOnnxDecoderStep } from '@vasink/runtime';
import { openCheckpoint } from '@vasink/safetensors';
import { type TypedTensor, type Uint8Tensor, createTensor } from '@vasink/tensor';
import { normRelativeError } from '@vasink/test-utils';
import { decoderWeightShapes, interventionReferences, referenceDecoderStep } from '@vasink/transformer-graph';
import { VAR_IO, type VarConfig, resolveVarConfig, varIntervention } from '@vasink/var';
import { decoderNaming } from './checkpoint-layout.js';
import { qwen2vlFamily } from './family.js';
import { type TinyQwen2VlCheckpoint, tinyQwen2VlTestImage, writeTinyQwen2VlCheckpoint } from './tiny-checkpoint.js';

// The real pipeline on the tiny checkpoint: write → convert → load → prepare → generate.
const scratch = mkdtempSync(join(tmpdir(), 'vasink-q2vl-e2e-'));
let tiny: TinyQwen2VlCheckpoint;
let model: VisionLanguageModel;
let first: RgbImage;
let second: RgbImage;
const hallucination: VarConfig = resolveVarConfig({ preset: 'hallucination' });
const QUESTION = 'Is there a white square in the picture?';
/** Least attention mass VAR must move per VAR layer, summed over heads and eligible queries. */
const MIN_MOVED = { prefill: 3, decode: 0.2 };

beforeAll(async () => {
  tiny = await writeTinyQwen2VlCheckpoint(join(scratch, 'hf'));
  await qwen2vlFamily.convert({ source: tiny.dir, target: join(scratch, 'model'), dtype: 'float32', sinkDims: tiny.sinkDims });
  model = await VisionLanguageModel.load(join(scratch, 'model'), { families: [qwen2vlFamily] });
  // Decoded PNGs, as a user's files would arrive. White merge windows are the planted visual sinks.
  first = await decodeImage(await encodePng(tinyQwen2VlTestImage({ width: 140, height: 112, brightWindows: [[0, 1], [2, 3]] })));
  second = await decodeImage(await encodePng(tinyQwen2VlTestImage({ width: 168, height: 84, brightWindows: [[1, 4]], seed: 9 })));
});
afterAll(async () => {
  await model?.close();
  rmSync(scratch, { recursive: true, force: true });
});


const generateBoth = (prepared: PreparedRequest, maxNewTokens = 4) =>
  collect(model.generate(prepared, { rows: [{}, { var: hallucination }], diagnostics: true, maxNewTokens }));

/** The steps' diagnostics of one row (the loop shares them between rows). */
const stepsOf = (result: GenerationResult<VarStepDiagnostics>) => result.diagnostics.filter((d): d is VarStepDiagnostics => d !== undefined);
const VAR_LAYERS = [2, 3, 4];

function expectRedistribution(results: GenerationResult<VarStepDiagnostics>[], sinks: number[], eligible: number) {
  const [base, withVar] = results as [GenerationResult<VarStepDiagnostics>, GenerationResult<VarStepDiagnostics>];
  const steps = stepsOf(withVar);
  const prefill = steps[0]!;
  expect(prefill.phase).toBe('prefill');
  // Sinks of the VAR row (layers ≥ 2) are exactly the planted positions.
  for (let l = 2; l < 6; l++) expect(prefill.sinkPositions![1]![l], `layer ${l}`).toEqual(sinks);
  for (const [s, step] of steps.entries()) {
    const queries = step.phase === 'prefill' ? eligible : 1;
    for (let l = 0; l < 6; l++) {
      const heads = step.selectedPerHead![1]![l]!;
      const moved = step.moved![1]![l]!;
      // Base row: nothing selected, nothing moved.
      expect(step.selectedPerHead![0]![l]!.every((n) => n === 0)).toBe(true);
      expect(step.moved![0]![l]).toBe(0);
      if (!VAR_LAYERS.includes(l)) {
        expect(heads.every((n) => n === 0), `layer ${l} is not a VAR layer`).toBe(true);
        continue;
      }
      // Some heads take every eligible query, others none: image-centric heads differ from the rest.
      expect(heads.filter((n) => n === queries).length, `step ${s} layer ${l}`).toBeGreaterThan(0);
      expect(heads.filter((n) => n === 0).length, `step ${s} layer ${l}`).toBeGreaterThan(0);
      expect(moved, `step ${s} layer ${l}`).toBeGreaterThan(step.phase === 'prefill' ? MIN_MOVED.prefill : MIN_MOVED.decode);
    }
  }
  expect(steps.filter((d) => d.phase === 'decode').length).toBeGreaterThanOrEqual(1);
  // VAR changes the logits.
  expect(withVar.logProbs).not.toEqual(base.logProbs);
  expect(withVar.ids.length + base.ids.length).toBeGreaterThan(2);
}

describe('qwen2vlFamily on the tiny checkpoint', () => {
  it('one image: sinks at the first token and the white windows; VAR selects heads and moves attention at prefill and decode', async () => {
    const prepared = await model.prepare({ question: QUESTION, images: [first] });
    const start = prepared.prompt.imageMask.indexOf(1);
    expect(prepared.images.tokensPerImage).toEqual([20]);
    expect(prepared.images.panels.map((panels) => panels.map(({ rows, cols }) => ({ rows, cols })))).toEqual([[{ rows: 4, cols: 5 }]]);
    const eligible = prepared.prompt.inputIds.length - start - 20;
    const results = await generateBoth(prepared);
    expectRedistribution(results, [0, start + 1, start + 13], eligible);
    // Greedy decoding is deterministic.
    const again = await generateBoth(prepared);
    expect(again.map((r) => r.ids)).toEqual(results.map((r) => r.ids));
    expect(again.map((r) => r.logProbs)).toEqual(results.map((r) => r.logProbs));
  });

  it('two images: sinks in both, the text between the images is eligible too', async () => {
    const prepared = await model.prepare({ question: QUESTION, images: [first, second] });
    const mask = prepared.prompt.imageMask;
    const starts = [...mask.keys()].filter((t) => mask[t] === 1 && mask[t - 1] !== 1);
    expect(starts).toHaveLength(2);
    expect(prepared.images.tokensPerImage).toEqual([20, 18]);
    const eligible = prepared.prompt.inputIds.length - starts[0]! - 38;
    const results = await generateBoth(prepared, 3);
    expectRedistribution(results, [0, starts[0]! + 1, starts[0]! + 13, starts[1]! + 10], eligible);
    // M-RoPE: the second image starts one past the first image's largest position.
    const positions = prepared.prompt.positionIds!;
    const n = prepared.prompt.inputIds.length;
    expect(Number(positions[starts[1]!])).toBe(starts[0]! + 5 + (starts[1]! - starts[0]! - 20));
    expect(prepared.prompt.nextPosition).toBe(Number(positions[n - 1]) + 1);
  });

  it("the 'chat' template (the checkpoint's chat template) gives the same prompt as 'default'", async () => {
    const chat = await model.prepare({ question: QUESTION, images: [first], template: 'chat' });
    const plain = await model.prepare({ question: QUESTION, images: [first] });
    expect(chat.prompt.inputIds).toEqual(plain.prompt.inputIds);
    expect(chat.embeds).toEqual(plain.embeds);
  });

  it('the ONNX decoder equals referenceDecoderStep with M-RoPE positions and VAR on, at prefill and one decode step (rel. error ≤ 1e-4)', async () => {
    const prepared = await model.prepare({ question: 'Why?', images: [first] });
    const { inputIds, imageMask, positionIds, nextPosition } = prepared.prompt;
    const config = model.manifest.decoder;
    const n = inputIds.length;
    const step = createOnnxDecoderStep({
      decoder: await model.diagnosticSession(),
      config,
      embed: (ids) => model.embedTokens(ids),
      prompts: [{ embeds: prepared.embeds, imageMask, positionIds: positionIds!, nextPosition: nextPosition!, var: hallucination }],
      sinkDims: tiny.sinkDims,
    });
    const onnxPrefill = (await step.prefill({})).logits[0]!;
    const next = 1234;
    const onnxDecode = (await step.decode({ rows: [0], ids: [next], finished: [] })).logits[0]!;

    const checkpoint = await openCheckpoint(tiny.dir);
    const weights = new Map<string, TypedTensor>();
    for (const name of decoderWeightShapes(config).keys()) weights.set(name, await checkpoint.read(decoderNaming('legacy')(name)));
    await checkpoint.close();
    const L = config.numLayers;
    const kv = () => createTensor('float32', [1, config.numKvHeads, 0, config.headDim]);
    const model_ = { numLayers: L, numHeads: config.numHeads, hiddenSize: config.hiddenSize, sinkDims: tiny.sinkDims, sinkStartLayer: 2 };
    const varHooks = (mask: Uint8Array, phase: 'prefill' | 'decode', queries: number, flags: Uint8Tensor) =>
      interventionReferences(
        [varIntervention],
        { phase, batch: 1, total: mask.length, queries, attentionMask: new Uint8Array(mask.length).fill(1), imageMask: mask, model: model_ },
        [{ var: hallucination }],
        new Map([[VAR_IO.pastSinkFlags, flags]]),
      );
    const prefill = referenceDecoderStep({
      config,
      weights,
      inputsEmbeds: createTensor('float32', [1, n, config.hiddenSize], prepared.embeds),
      attentionMask: new Array(n).fill(1),
      positionIds: positionIds!,
      past: Array.from({ length: L }, () => ({ key: kv(), value: kv() })),
      interventions: varHooks(imageMask, 'prefill', n, createTensor('uint8', [L, 1, 0])),
    });
    expect(normRelativeError(onnxPrefill, prefill.logits.data)).toBeLessThanOrEqual(1e-4);
    const decode = referenceDecoderStep({
      config,
      weights,
      inputsEmbeds: createTensor('float32', [1, 1, config.hiddenSize], await model.embedTokens([next])),
      attentionMask: new Array(n + 1).fill(1),
      positionIds: [nextPosition!, nextPosition!, nextPosition!],
      past: prefill.present,
      interventions: varHooks(Uint8Array.from([...imageMask, 0]), 'decode', 1, prefill.outputs[VAR_IO.presentSinkFlags] as Uint8Tensor),
    });
    expect(normRelativeError(onnxDecode, decode.logits.data)).toBeLessThanOrEqual(1e-4);
    // VAR acted in this step (the comparison covers redistribution, not only the plain decoder).
    expect(Array.from({ length: L }, (_, l) => decode.outputs[VAR_IO.diagnosticMoved(l)]!.data as Float32Array).some((moved) => moved.some((m) => m > 0))).toBe(true);
  });

  it('requests with different image sizes share one decoder batch (continuous batching) and each gets its single-request tokens', async () => {
    const requests = [
      { images: [first], question: QUESTION, rows: [{ var: hallucination }], maxNewTokens: 12 },
      { images: [second], question: 'What color is the top left corner?', rows: [{}], maxNewTokens: 5 },
      { images: [second, first], question: QUESTION, rows: [{}, { var: hallucination }], maxNewTokens: 9 },
    ];
    const alone: GenerationResult[][] = [];
    for (const r of requests) {
      const prepared = await model.prepare({ question: r.question, images: r.images });
      alone.push(await collect(model.generate(prepared, { rows: r.rows, maxNewTokens: r.maxNewTokens })));
    }
    const batched = await VisionLanguageModel.load(join(scratch, 'model'), { families: [qwen2vlFamily], maxBatchRows: 4 });
    try {
      const results = await Promise.all(
        requests.map(async (r) => collect(batched.generate(await batched.prepare({ question: r.question, images: r.images }), { rows: r.rows, maxNewTokens: r.maxNewTokens }))),
      );
      results.forEach((rows, i) =>
        rows.forEach((row, k) => {
          expect(row.ids, `request ${i} row ${k}`).toEqual(alone[i]![k]!.ids);
          row.topLogits.forEach((top, s) => top.forEach((t, j) => expect(Math.abs(t.logit - alone[i]![k]!.topLogits[s]![j]!.logit)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(t.logit)))));
        }),
      );
      const stats = batched.batchStats!;
      expect(stats.rowSteps / stats.decodeSteps, 'rows per decode step').toBeGreaterThan(1.5);
      expect(stats.rows).toBe(0);
    } finally {
      await batched.close();
    }
  });
});
