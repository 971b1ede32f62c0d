// Golden vectors made by running the released VAR logic (MICV-yonsei/VisAttnSink,
// src/logic/logic.py) itself under Debian's python3-torch; see tooling/golden/README.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageCentricRows } from '@vasink/head-select';
import { sinkScore, sinkFlags } from '@vasink/sink-detect';
import { type Float32Tensor, createTensor } from '@vasink/tensor';
import { eligibleQueries } from './eligible-queries.js';
import { resolveVarConfig, varLayerMask, varParamsRow } from './var-config.js';
import { varLayerStep } from './var-layer-step.js';

interface JsonTensor {
  dims: number[];
  data: number[];
}
interface GoldenStep {
  phase: 'prefill' | 'decode';
  step?: number;
  attention: JsonTensor;
  selected: [number, number, number][];
  output: JsonTensor;
}
interface GoldenCase {
  name: string;
  params: { tau: number; rhoCode: number; pCode: number; summ: number };
  numLayers: number;
  numHeads: number;
  hiddenSize: number;
  sinkDims: number[];
  imageStart: number;
  imageLength: number;
  promptLength: number;
  layers: { layer: number; hidden: JsonTensor; sinkIndices: number[]; steps: GoldenStep[] }[];
}

const golden = JSON.parse(
  readFileSync(new URL('./__fixtures__/official-logic-golden.json', import.meta.url), 'utf8'),
) as { source: { commit: string }; cases: GoldenCase[] };

const float32 = (t: JsonTensor): Float32Tensor => createTensor('float32', t.dims, Float32Array.from(t.data));

describe('official-code convention equals the released logic.py', () => {
  it('has golden cases covering prefill and decode', () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(3);
    expect(golden.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  for (const c of golden.cases) {
    describe(c.name, () => {
      const config = resolveVarConfig({
        preset: 'official-code',
        tau: c.params.tau,
        rho: c.params.rhoCode,
        p: c.params.pCode,
        minImageAttention: c.params.summ,
        convention: 'official-code',
      });
      const layerMask = varLayerMask(config, { numLayers: c.numLayers });
      const tokens = c.promptLength;
      const imageMaskOver = (keys: number) =>
        createTensor('uint8', [1, keys], Array.from({ length: keys }, (_, k) => (k >= c.imageStart && k < c.imageStart + c.imageLength ? 1 : 0)));
      const realMask = (keys: number) => createTensor('uint8', [1, keys], new Array(keys).fill(1));

      it('finds the same sink tokens (DimProspector)', () => {
        for (const layer of c.layers) {
          const flags = sinkFlags({ score: sinkScore(float32(layer.hidden), c.sinkDims), tau: config.tau });
          const ours = [...flags.data].flatMap((f, t) => (f ? [t] : []));
          expect(ours, `layer ${layer.layer}`).toEqual([...layer.sinkIndices].sort((a, b) => a - b));
        }
      });

      it('selects the same rows as HeadFork (before its prefill query filter)', () => {
        for (const layer of c.layers) {
          const flags = sinkFlags({ score: sinkScore(float32(layer.hidden), c.sinkDims), tau: config.tau });
          for (const step of layer.steps) {
            const attention = float32(step.attention);
            const keys = attention.dims[3]!;
            const queries = attention.dims[2]!;
            const keyFlags = createTensor('uint8', [1, keys]);
            keyFlags.data.set(flags.data);
            const rows = imageCentricRows({
              attention,
              sinkFlags: keyFlags,
              imageMask: imageMaskOver(keys),
              queryMask: createTensor('uint8', [1, queries], new Array(queries).fill(1)),
              rho: config.rho,
              minImageAttention: config.minImageAttention,
            });
            const ours: string[] = [];
            rows.selected.data.forEach((s, i) => {
              if (s) ours.push(`0,${Math.floor(i / queries)},${i % queries}`);
            });
            expect(ours.sort(), `layer ${layer.layer} ${step.phase} ${step.step ?? ''}`).toEqual(
              step.selected.map((s) => s.join(',')).sort(),
            );
          }
        }
      });

      it('redistributes to the same attention at prefill and at every decode step', () => {
        for (const layer of c.layers) {
          expect(layerMask[layer.layer], 'official-code acts on every layer from 2 on, the last included').toBe(1);
          let pastFlags = createTensor('uint8', [1, 0]);
          let hidden = float32(layer.hidden);
          for (const step of layer.steps) {
            const attention = float32(step.attention);
            const [, , queries, keys] = attention.dims as [number, number, number, number];
            const imageMask = imageMaskOver(keys);
            const attentionMask = realMask(keys);
            const out = varLayerStep({
              hidden: step.phase === 'prefill' ? hidden : createTensor('float32', [1, 1, c.hiddenSize]),
              attention,
              pastSinkFlags: pastFlags,
              detect: step.phase === 'prefill',
              attentionMask,
              imageMask,
              queryMask: eligibleQueries({ imageMask, attentionMask, newTokens: queries, phase: step.phase }),
              params: createTensor('float32', [1, 4], varParamsRow(config)),
              layerActive: [layerMask[layer.layer]!],
              sinkDims: c.sinkDims,
            });
            const expected = step.output.data;
            let worst = 0;
            out.attention.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected[i]!))));
            expect(worst, `layer ${layer.layer} ${step.phase} ${step.step ?? ''}`).toBeLessThan(1e-6);
            pastFlags = out.sinkFlags;
            hidden = createTensor('float32', [1, 1, c.hiddenSize]);
          }
          expect(pastFlags.dims[1]).toBeGreaterThan(tokens);
        }
      });
    });
  }
});
