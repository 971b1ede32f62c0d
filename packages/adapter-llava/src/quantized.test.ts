import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRgbImage, decodeImage, encodePng } from '@vasink/image';
import { type GenerationResult, type ModelManifest, type VarStepDiagnostics, VisionLanguageModel, collect } from '@vasink/runtime';
import { resolveVarConfig } from '@vasink/var';
import { llavaFamily } from './llava-family.js';
import { type TinyLlavaCheckpoint, writeTinyLlavaCheckpoint } from './tiny-checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-quant-'));
const hallucination = resolveVarConfig({ preset: 'hallucination' });
let tiny: TinyLlavaCheckpoint;

interface Run {
  manifest: ModelManifest;
  /** Row 0 VAR off, row 1 VAR on (hallucination): 16 greedy tokens each. */
  results: GenerationResult<VarStepDiagnostics>[];
  /** Per layer, the sink positions found at prefill (VAR row). */
  sinks: readonly (readonly number[])[];
  bytes: number;
}
/** `int8-exact`: accuracy level 0 (float32 activations); the others the CPU default, level 4 (int8 activations per block). */
const VARIANTS = { fp32: undefined, 'int8-exact': { bits: 8, accuracyLevel: 0 }, int8: { bits: 8 }, int4: { bits: 4 } } as const;
type Variant = keyof typeof VARIANTS;
const runs: Partial<Record<Variant, Run>> = {};

/** Length of the common prefix of two token lists. */
function agreeingPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && a[n] === b[n]) n++;
  return n;
}

async function convertAndRun(name: Variant): Promise<Run> {
  const target = join(root, name);
  const quant = VARIANTS[name];
  const manifest = await llavaFamily.convert({ source: tiny.dir, target, dtype: 'float32', ...(quant ? { quant } : {}) });
  const model = await VisionLanguageModel.load(target, { families: [llavaFamily], decoder: 'diagnostic' });
  try {
    const rgb = new Uint8Array(300 * 200 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 251;
    const prepared = await model.prepare({ question: 'What is shown in this picture?', images: [await decodeImage(await encodePng(createRgbImage(300, 200, rgb)))] });
    const results = await collect(model.generate(prepared, { rows: [{}, { var: hallucination }], maxNewTokens: 16, diagnostics: true }));
    const sinks = results[1]!.diagnostics[0]?.sinkPositions?.[1] ?? [];
    return { manifest, results, sinks, bytes: statSync(join(target, 'weights.bin')).size };
  } finally {
    await model.close();
  }
}

beforeAll(async () => {
  tiny = await writeTinyLlavaCheckpoint(join(root, 'checkpoint'), { size: 'tiny' });
  for (const name of Object.keys(VARIANTS) as Variant[]) runs[name] = await convertAndRun(name);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('quantized LLaVA (convert --quant) on the tiny planted checkpoint', () => {
  it('records the scheme: every linear layer and the embedding table quantized, nothing left float', () => {
    const { manifest } = runs.int4!;
    // Decoder: 7 projections per layer, the LM head and the embedding table. Vision: q, k, v, out, fc1, fc2 of
    // every layer run (feature layer −2: all but the last), and the projector's 2 linear layers.
    const decoderTensors = 7 * tiny.text.numLayers + 2;
    const visionTensors = 6 * (tiny.vision.numLayers - 1) + 2;
    expect(manifest.quantization).toEqual({
      scheme: 'int4',
      bits: 4,
      blockSize: 32,
      accuracyLevel: 4,
      quantizedTensors: decoderTensors + visionTensors,
      floatTensors: [],
    });
    expect(runs['int8-exact']!.manifest.quantization).toMatchObject({ scheme: 'int8', accuracyLevel: 0 });
    expect(runs.fp32!.manifest.quantization).toBeUndefined();
    // int4 weights take about an eighth of float32's bytes (norms, biases, patch and position embeddings stay float32).
    expect(runs.int4!.bytes / runs.fp32!.bytes).toBeLessThan(0.2);
    expect(runs.int8!.bytes / runs.fp32!.bytes).toBeLessThan(0.32);
  });

  it('int8 (accuracy level 0) finds the same sinks per layer and gives the same 16 greedy tokens as float32, with and without VAR', () => {
    const fp32 = runs.fp32!;
    const int8 = runs['int8-exact']!;
    expect(fp32.sinks.slice(2).every((s) => s.length > 1)).toBe(true);
    expect(int8.sinks).toEqual(fp32.sinks);
    expect(int8.results.map((r) => r.ids)).toEqual(fp32.results.map((r) => r.ids));
    expect(fp32.results.every((r) => r.ids.length === 16)).toBe(true);
    // VAR really acts in the quantized graph: heads selected at prefill.
    const selected = int8.results[1]!.diagnostics[0]?.selectedPerHead?.[1]?.flat() ?? [];
    expect(selected.some((n) => n > 0)).toBe(true);
  });

  it('int8 and int4 at the CPU default (accuracy level 4) find the same sinks per layer; their greedy agreement is reported', () => {
    const fp32 = runs.fp32!;
    const report: string[] = [];
    for (const name of ['int8', 'int4'] as const) {
      const run = runs[name]!;
      expect(run.sinks, name).toEqual(fp32.sinks);
      // Greedy tokens agree until the first divergence (this random model's logits are nearly flat); after it the contexts differ.
      const agreement = run.results.map((r, row) => agreeingPrefix(r.ids, fp32.results[row]!.ids));
      expect(agreement[0], name).toBeGreaterThan(name === 'int8' ? 8 : 0);
      // Same first token: top-1 agreement at prefill, both rows.
      expect(run.results.map((r) => r.ids[0]), name).toEqual(fp32.results.map((r) => r.ids[0]));
      report.push(`${name}: identical greedy prefix of 16 tokens — VAR off ${agreement[0]}, VAR on ${agreement[1]}`);
    }
    console.info(report.join('\n'));
  });
});
