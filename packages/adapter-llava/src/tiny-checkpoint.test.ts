import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlavaAdapterSettings } from './convert.js';
import { type RgbImage, createRgbImage, decodeImage, encodePng } from '@vasink/image';
import {
  ATTENTION_INTERVENTIONS,
  type GenerationResult,
  type ModelManifest,
  type PreparedRequest,
  type VarStepDiagnostics,
  VisionLanguageModel,
  collect,
} from '@vasink/runtime';
import { type TypedTensor, createTensor, fromOrtTensor, toFloat32, toOrtTensor } from '@vasink/tensor';
import { DECODER_IO, type InterventionStep, decoderWeightShapes, interventionFeeds, interventionReferences, referenceDecoderStep } from '@vasink/transformer-graph';
import { VAR_IO, type VarConfig, resolveVarConfig } from '@vasink/var';
import { Tensor } from 'onnxruntime-node';
import { readLlavaCheckpoint } from './llava-checkpoint.js';
import { llavaFamily } from './llava-family.js';
import { type TinyLlavaCheckpoint, writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';
import { referenceLlavaVision } from './vision-reference.js';
import { visionWeightShapes } from './vision-weights.js';
import { visionWeightSource } from './vision-graph.js';

/** Least attention mass VAR must move per decode step (summed over heads and VAR layers). */
const MIN_MOVED_PER_DECODE_STEP = 0.3;

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-tiny-'));
let tiny: TinyLlavaCheckpoint;
let manifest: ModelManifest<LlavaAdapterSettings>;
let model: VisionLanguageModel;
let image: RgbImage;
let prepared: PreparedRequest;
let imageStart: number;
const hallucination = resolveVarConfig({ preset: 'hallucination' });
const general = resolveVarConfig({ preset: 'general' });
const timings: Record<string, number> = {};

/** A 300 × 200 test picture, through PNG and the real decoder. */
async function testImage(): Promise<RgbImage> {
  const rgb = new Uint8Array(300 * 200 * 3);
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 300; x++) rgb.set([(x * 255) / 299, (y * 255) / 199, (x * y) % 256], (y * 300 + x) * 3);
  }
  return decodeImage(await encodePng(createRgbImage(300, 200, rgb)));
}

async function generateRows(rows: { var?: VarConfig }[], maxNewTokens = 8): Promise<GenerationResult<VarStepDiagnostics>[]> {
  return collect(model.generate(prepared, { rows, maxNewTokens, diagnostics: true }));
}

beforeAll(async () => {
  let started = performance.now();
  tiny = await writeTinyLlavaCheckpoint(join(root, 'checkpoint'), { size: 'tiny' });
  timings.write = performance.now() - started;
  started = performance.now();
  manifest = await llavaFamily.convert({ source: tiny.dir, target: join(root, 'model'), dtype: 'float32' });
  timings.convert = performance.now() - started;
  model = await VisionLanguageModel.load(join(root, 'model'), { families: [llavaFamily] });
  image = await testImage();
  prepared = await model.prepare({ question: 'What is shown in this picture?', images: [image] });
  imageStart = prepared.prompt.imageMask.indexOf(1);
});

afterAll(async () => {
  await model?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('writeTinyLlavaCheckpoint → convert → VisionLanguageModel', () => {
  it('writes the llava-hf layout and converts with the sink dims named in config.json', () => {
    const config = JSON.parse(readFileSync(join(tiny.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['LlavaForConditionalGeneration']);
    expect((config.text_config as Record<string, unknown>).hidden_size).toBe(512);
    expect(manifest.sink).toEqual({ dims: [...tiny.sinkDims], startLayer: 2, backbone: null, source: 'user' });
    expect(manifest.tokens.imageTokenId).toBe(32000);
    expect(prepared.prompt.imageMask.reduce((a, b) => a + b, 0)).toBe(tiny.tokensPerImage);
    const sizes = {
      checkpointMB: statSync(join(tiny.dir, 'model.safetensors')).size / 1e6,
      weightsMB: statSync(join(root, 'model', 'weights.bin')).size / 1e6,
    };
    console.info(`tiny LLaVA: write ${timings.write?.toFixed(0)} ms, convert ${timings.convert?.toFixed(0)} ms, checkpoint ${sizes.checkpointMB.toFixed(1)} MB, weights.bin ${sizes.weightsMB.toFixed(1)} MB`);
  });

  it('finds the planted sinks, BOS and the chosen patches, and nothing else, in every layer from the sink start layer on', async () => {
    const [, withVar] = await generateRows([{}, { var: hallucination }], 1);
    const sinks = withVar!.diagnostics[0]?.sinkPositions?.[1];
    const planted = [0, ...tiny.sinkPatches.map((p) => imageStart + p)];
    expect(sinks).toHaveLength(tiny.text.numLayers);
    // Layers before the start layer (2) have no sinks by definition and report none.
    (sinks ?? []).forEach((layerSinks, l) => expect(layerSinks).toEqual(l < 2 ? [] : planted));
  });

  it('redistributes some heads and not others, at prefill and at every decode step; hallucination selects more than general', async () => {
    const results = await generateRows([{}, { var: hallucination }, { var: general }]);
    const L = tiny.text.numLayers;
    const selected = (d: VarStepDiagnostics | undefined, row: number) => d?.selectedPerHead?.[row] ?? [];
    const report: string[] = [];
    for (const [row, name] of [[1, 'hallucination'], [2, 'general']] as const) {
      const diagnostics = results[row]!.diagnostics;
      expect(diagnostics).toHaveLength(8);
      diagnostics.forEach((step, i) => {
        const perLayer = selected(step, row);
        const heads = perLayer.flat();
        // Layers 0, 1 and the last are never VAR layers under these presets.
        for (const l of [0, 1, L - 1]) expect(perLayer[l]?.every((n) => n === 0)).toBe(true);
        expect(heads.some((n) => n > 0)).toBe(true);
        expect(heads.some((n) => n === 0)).toBe(true);
        const moved = (step?.moved?.[row] ?? []).reduce((a, b) => a + b, 0);
        if (i > 0) expect(moved).toBeGreaterThan(MIN_MOVED_PER_DECODE_STEP);
        if (i <= 1) report.push(`${name} ${step?.phase}: selected rows per layer ${JSON.stringify(perLayer.map((h) => h.reduce((a, b) => a + b, 0)))}, moved ${moved.toFixed(3)}`);
      });
    }
    // Exactly the crafted image-centric heads: 'image' (+ 'mixed' under hallucination) in layers 2 … L−2.
    const expectedHeads = (roles: readonly string[]) => tiny.headRoles.map((layerRoles, l) => layerRoles.map((role) => (l >= 2 && l < L - 1 && roles.includes(role) ? 1 : 0)));
    const decodeSelection = (row: number) => selected(results[row]!.diagnostics[1], row);
    expect(decodeSelection(1)).toEqual(expectedHeads(['image', 'mixed']));
    expect(decodeSelection(2)).toEqual(expectedHeads(['image']));
    // Base row: nothing selected, nothing moved.
    for (const step of results[0]!.diagnostics) expect(selected(step, 0).flat().every((n) => n === 0)).toBe(true);
    const count = (row: number) => selected(results[row]!.diagnostics[0], row).flat().reduce((a, b) => a + b, 0);
    expect(count(1)).toBeGreaterThan(count(2));
    console.info(report.join('\n'));
  });

  it('reprompt reuses the image features: the same question gives the same embeddings with no vision run, another keeps the image rows', async () => {
    const runs = model.visionRuns;
    const same = await model.reprompt(prepared, { question: 'What is shown in this picture?' });
    expect(same.prompt.inputIds).toEqual(prepared.prompt.inputIds);
    expect(same.embeds).toEqual(prepared.embeds);
    expect(same.visionMs).toBe(0);
    const longer = await model.reprompt(prepared, { question: 'Look closely. What is shown in this picture?' });
    expect(model.visionRuns).toBe(runs);
    expect(longer.prompt.inputIds.length).toBeGreaterThan(prepared.prompt.inputIds.length);
    const d = manifest.decoder.hiddenSize;
    const rows = (p: PreparedRequest) => [...p.prompt.imageMask.entries()].filter(([, m]) => m).map(([t]) => Array.from(p.embeds.subarray(t * d, (t + 1) * d)));
    expect(rows(longer)).toEqual(rows(prepared));
  });

  it('changes the logits with VAR, and greedy output is the same across runs', async () => {
    const first = await generateRows([{}, { var: hallucination }]);
    const second = await generateRows([{}, { var: hallucination }]);
    expect(second.map((r) => r.ids)).toEqual(first.map((r) => r.ids));
    expect(second.map((r) => r.text)).toEqual(first.map((r) => r.text));
    const [base, withVar] = first as [GenerationResult<VarStepDiagnostics>, GenerationResult<VarStepDiagnostics>];
    const difference = Math.max(...base.topLogits[0]!.map((t, i) => Math.abs(t.logit - (withVar.topLogits[0]![i]?.logit ?? 0))));
    expect(difference).toBeGreaterThan(1e-2);
    console.info(`first-token top-logit change under VAR: ${difference.toFixed(4)}; base "${base.text}" / VAR "${withVar.text}"`);
  });

  it("opens only the diagnostic decoder with decoder: 'diagnostic', and generates the same tokens through it", async () => {
    const rows = [{}, { var: hallucination }];
    const product = await collect(model.generate(prepared, { rows, maxNewTokens: 6 }));
    const single = await VisionLanguageModel.load(join(root, 'model'), { families: [llavaFamily], decoder: 'diagnostic' });
    try {
      const again = await single.prepare({ question: 'What is shown in this picture?', images: [image] });
      const through = await collect(single.generate(again, { rows, maxNewTokens: 6 }));
      expect(through.map((r) => r.ids)).toEqual(product.map((r) => r.ids));
      // Its steps carry the diagnostics anyway (the graph computes them).
      expect(through[1]!.diagnostics[0]?.selectedPerHead).toBeDefined();
      const inspection = await single.inspect(again, rows);
      expect(inspection.rows[1]!.layers[2]!.sinkPositions.length).toBeGreaterThan(0);
      expect(single.openDecoders).toEqual(['diagnostic']);
    } finally {
      await single.close();
    }
    expect(model.openDecoders).toEqual(['product', 'diagnostic']);
  });

  it('runs the prefill exactly as referenceDecoderStep: sink flags, selected rows, moved mass, logits', async () => {
    const { text } = tiny;
    const L = text.numLayers;
    const T = prepared.prompt.inputIds.length;
    const checkpoint = await readLlavaCheckpoint(tiny.dir);
    const weights = new Map<string, TypedTensor>();
    try {
      for (const name of decoderWeightShapes(text).keys()) weights.set(name, await checkpoint.decoderWeights.source.read(checkpoint.decoderWeights.naming(name)));
    } finally {
      await checkpoint.close();
    }
    const step: InterventionStep = {
      phase: 'prefill',
      batch: 1,
      total: T,
      queries: T,
      attentionMask: new Uint8Array(T).fill(1),
      imageMask: prepared.prompt.imageMask,
      model: { numLayers: L, numHeads: text.numHeads, hiddenSize: text.hiddenSize, sinkDims: tiny.sinkDims, sinkStartLayer: 2 },
    };
    const rows = [{ var: hallucination }];
    const empty = createTensor('float32', [1, text.numKvHeads, 0, text.headDim]);
    const noFlags = createTensor('uint8', [L, 1, 0]);
    const reference = referenceDecoderStep({
      config: text,
      weights,
      inputsEmbeds: createTensor('float32', [1, T, text.hiddenSize], prepared.embeds),
      attentionMask: step.attentionMask,
      positionIds: Array.from({ length: T }, (_, t) => t),
      past: Array.from({ length: L }, () => ({ key: empty, value: empty })),
      interventions: interventionReferences(ATTENTION_INTERVENTIONS, step, rows, new Map([[VAR_IO.pastSinkFlags, noFlags]])),
    });

    const feeds: Record<string, Tensor> = {
      [DECODER_IO.inputsEmbeds]: new Tensor('float32', prepared.embeds, [1, T, text.hiddenSize]),
      [DECODER_IO.attentionMask]: new Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      [DECODER_IO.positionIds]: new Tensor('int64', BigInt64Array.from({ length: T }, (_, t) => BigInt(t)), [1, T]),
      [DECODER_IO.imageMask]: new Tensor('uint8', prepared.prompt.imageMask, [1, T]),
      [VAR_IO.pastSinkFlags]: toOrtTensor(noFlags),
    };
    for (const [name, tensor] of Object.entries(interventionFeeds(ATTENTION_INTERVENTIONS, step, rows))) feeds[name] = toOrtTensor(tensor);
    for (let l = 0; l < L; l++) {
      for (const name of [DECODER_IO.pastKey(l), DECODER_IO.pastValue(l), DECODER_IO.recentKey(l), DECODER_IO.recentValue(l)]) {
        feeds[name] = new Tensor('float32', new Float32Array(0), [1, text.numKvHeads, 0, text.headDim]);
      }
    }
    const out = await (await model.diagnosticSession()).run(feeds);
    const onnx = (name: string) => fromOrtTensor(out[name] as never);

    expect(Array.from(onnx(VAR_IO.presentSinkFlags).data as Uint8Array)).toEqual(Array.from(reference.outputs[VAR_IO.presentSinkFlags]!.data as Uint8Array));
    let selectedRows = 0;
    let worstMoved = 0;
    for (let l = 0; l < L; l++) {
      const expectedSelected = reference.outputs[VAR_IO.diagnosticSelected(l)]!.data as Uint8Array;
      const expectedMoved = reference.outputs[VAR_IO.diagnosticMoved(l)]!.data as Float32Array;
      expect(Array.from(onnx(VAR_IO.diagnosticSelected(l)).data as Uint8Array)).toEqual(Array.from(expectedSelected));
      selectedRows += expectedSelected.reduce((a, b) => a + b, 0);
      const moved = onnx(VAR_IO.diagnosticMoved(l)).data as Float32Array;
      moved.forEach((m, i) => (worstMoved = Math.max(worstMoved, Math.abs(m - (expectedMoved[i] as number)))));
    }
    expect(selectedRows).toBeGreaterThan(0);
    expect(worstMoved).toBeLessThan(1e-4);
    const logits = onnx(DECODER_IO.logits).data as Float32Array;
    const scale = Math.max(...Array.from(reference.logits.data, Math.abs));
    const worstLogit = Math.max(...Array.from(logits, (x, i) => Math.abs(x - (reference.logits.data[i] as number))));
    expect(worstLogit / scale).toBeLessThan(1e-4);

    // The runtime's own prefill diagnostics agree with the reference's per-head counts.
    const [, withVar] = await generateRows([{}, { var: hallucination }], 1);
    const counts = Array.from({ length: L }, (_, l) => {
      const selected = reference.outputs[VAR_IO.diagnosticSelected(l)]!.data as Uint8Array;
      return Array.from({ length: text.numHeads }, (_, h) => selected.subarray(h * T, (h + 1) * T).reduce((a, b) => a + b, 0));
    });
    expect(withVar!.diagnostics[0]?.selectedPerHead?.[1]).toEqual(counts);
  });

  it('computes image features as referenceLlavaVision does, with the massive activation on the planted patches only', async () => {
    const checkpoint = await readLlavaCheckpoint(tiny.dir);
    const weights = new Map<string, TypedTensor>();
    try {
      const source = visionWeightSource(checkpoint.visionWeights);
      for (const name of visionWeightShapes(checkpoint.config).keys()) weights.set(name, await source.read(name));
      const images = await llavaFamily.prepareImages([image], manifest);
      const pixels = fromOrtTensor(images.feeds.pixel_values as never);
      const expected = referenceLlavaVision({ config: checkpoint.config, weights, pixelValues: toFloat32(pixels) });
      const d = tiny.text.hiddenSize;
      const features = prepared.embeds.subarray(imageStart * d, (imageStart + tiny.tokensPerImage) * d);
      let worst = 0;
      let scale = 0;
      expected.data.forEach((e, i) => {
        worst = Math.max(worst, Math.abs((features[i] as number) - e));
        scale = Math.max(scale, Math.abs(e));
      });
      expect(worst / scale).toBeLessThan(1e-4);
      const [, visualSinkDim] = tiny.sinkDims;
      for (let p = 0; p < tiny.tokensPerImage; p++) {
        const value = Math.abs(features[p * d + visualSinkDim] as number);
        if (tiny.sinkPatches.includes(p)) expect(value).toBeGreaterThan(80);
        else expect(value).toBeLessThan(1);
      }
    } finally {
      await checkpoint.close();
    }
  });
});
