import type { Value } from '@vasink/onnx-graph';
import { assertSinkDims } from '@vasink/sink-detect';
import { type Float32Tensor, type TypedTensor, type Uint8Tensor, createTensor } from '@vasink/tensor';
import { type AttentionIntervention, type AttentionMethod, DECODER_IO, type InterventionStep } from '@vasink/transformer-graph';
import { eligibleQueries } from './eligible-queries.js';
import { DEFAULT_VAR_PRESET, VAR_PRESETS, type VarConfig, validateVarConfig, varLayerMask, varParamsRow } from './var-config.js';
import { emitVarLayer, emitVarShared } from './var-layer-step-graph.js';
import { varLayerStep } from './var-layer-step.js';

declare module '@vasink/transformer-graph' {
  interface InterventionSettingsMap {
    /** Visual Attention Redistribution (ICLR 2025): after the softmax, sink attention moves onto visual non-sinks. */
    var: VarConfig;
  }
}

/** VAR's decoder inputs and outputs (DESIGN §2 contract). */
export const VAR_IO = {
  /** `[layers, batch, cached_tokens]` uint8: the carried sink flags. */
  pastSinkFlags: 'past_sink_flags',
  /** `[]` bool: the new tokens are prompt tokens (detect sinks among them). */
  detect: 'var_detect',
  /** `[batch, new_tokens]` uint8 eligible queries. */
  queryMask: 'var_query_mask',
  /** `[batch, 4]` float32: τ, ρ, p, m. */
  params: 'var_params',
  /** `[batch, layers]` uint8: VAR on in that layer for that row. */
  layers: 'var_layers',
  /** `[sink_dims]` int64 D_sink. */
  sinkDims: 'var_sink_dims',
  presentSinkFlags: 'present_sink_flags',
  diagnosticScore: (layer: number) => `var_score.${layer}`,
  diagnosticSelected: (layer: number) => `var_selected.${layer}`,
  diagnosticMoved: (layer: number) => `var_moved.${layer}`,
} as const;

/** Values of VAR's inputs shared by the graph and the reference: eligible queries, params and layer masks per row. */
function rowInputs(step: InterventionStep, rows: readonly (VarConfig | undefined)[]) {
  const { batch, total, queries, model } = step;
  const queryMask = eligibleQueries({
    imageMask: createTensor('uint8', [batch, total], step.imageMask),
    attentionMask: createTensor('uint8', [batch, total], step.attentionMask),
    newTokens: queries,
    phase: step.phase,
  });
  const params = new Float32Array(batch * 4);
  // A VAR-off row still detects sinks (for diagnostics) with the default preset's τ; its layers stay off.
  rows.forEach((row, b) => params.set(varParamsRow(row ?? VAR_PRESETS[DEFAULT_VAR_PRESET]), b * 4));
  const layers = new Uint8Array(batch * model.numLayers);
  rows.forEach((row, b) => row && layers.set(varLayerMask(row, { numLayers: model.numLayers, sinkStartLayer: model.sinkStartLayer }), b * model.numLayers));
  // With every row off the graph still takes sink dims; any valid index will do.
  const sinkDims = model.sinkDims.length > 0 ? model.sinkDims : [0];
  return { queryMask, params: createTensor('float32', [batch, 4], params), layers: createTensor('uint8', [batch, model.numLayers], layers), sinkDims };
}

/**
 * VAR as an attention intervention (DESIGN §1): after each softmax, sink
 * detection on the new prompt tokens (flags carried between steps),
 * image-centric head selection and redistribution, per row and layer.
 */
export const varIntervention: AttentionIntervention<'var'> = {
  name: 'var',
  label: 'VAR',
  inputNames: [VAR_IO.pastSinkFlags, VAR_IO.detect, VAR_IO.queryMask, VAR_IO.params, VAR_IO.layers, VAR_IO.sinkDims],
  carried: { input: VAR_IO.pastSinkFlags, output: VAR_IO.presentSinkFlags },

  validate(settings, model) {
    validateVarConfig(settings);
    assertSinkDims(model.sinkDims, model.hiddenSize);
  },

  emit({ g, config, attentionMask, imageMask, diagnostics }) {
    const numLayers = config.numLayers;
    const heads = config.numHeads;
    const pastSinkFlags = g.input(VAR_IO.pastSinkFlags, 'uint8', [numLayers, 'batch', 'cached_tokens']);
    const shared = emitVarShared(g, {
      detect: g.input(VAR_IO.detect, 'bool', []),
      imageMask,
      queryMask: g.input(VAR_IO.queryMask, 'uint8', ['batch', 'new_tokens']),
      params: g.input(VAR_IO.params, 'float32', ['batch', 4]),
      layers: g.input(VAR_IO.layers, 'uint8', ['batch', numLayers]),
      sinkDims: g.input(VAR_IO.sinkDims, 'int64', ['sink_dims']),
      attentionMask,
    });
    const queryCount = diagnostics ? g.reduceSum(g.cast(shared.queryMask, 'float32'), [1], true) : undefined;
    const presentFlags: Value[] = [];
    return {
      afterSoftmax(probs, { layer, hidden, meanSquare }) {
        const step = emitVarLayer(g, shared, { layer, hidden, meanSquare, attention: probs, pastSinkFlags: g.gather(pastSinkFlags, layer, 0) });
        presentFlags.push(g.unsqueeze(step.sinkFlags, [0]));
        if (queryCount) {
          g.output(step.score, { name: VAR_IO.diagnosticScore(layer), dtype: 'float32', dims: ['batch', 'new_tokens'] });
          const views = step.diagnostics();
          g.output(g.cast(views.selected, 'uint8'), { name: VAR_IO.diagnosticSelected(layer), dtype: 'uint8', dims: ['batch', heads, 'new_tokens'] });
          g.output(views.moved, { name: VAR_IO.diagnosticMoved(layer), dtype: 'float32', dims: ['batch', heads, 'new_tokens'] });
          // Mean attention row of the step's eligible queries: [batch, heads, total_tokens].
          const weightsPerQuery = g.reshape(g.cast(shared.queryMask, 'float32'), [0, 1, 1, -1]);
          const summed = g.squeeze(g.matMul(weightsPerQuery, step.attention), [2]);
          const mean = g.div(summed, g.unsqueeze(g.max(queryCount, 1), [2]));
          g.output(mean, { name: DECODER_IO.diagnosticAttention(layer), dtype: 'float32', dims: ['batch', heads, 'total_tokens'] });
          // The layer input of each row's first new token (the sink-dimension finder reads BOS here).
          const layerHidden = g.reshape(hidden, g.concat([g.shape(shared.queryMask), g.ints([config.hiddenSize])], 0));
          g.output(g.gather(layerHidden, 0, 1), { name: DECODER_IO.diagnosticFirstHidden(layer), dtype: 'float32', dims: ['batch', config.hiddenSize] });
        }
        return step.attention;
      },
      finish() {
        g.output(g.concat(presentFlags, 0), { name: VAR_IO.presentSinkFlags, dtype: 'uint8', dims: [numLayers, 'batch', 'total_tokens'] });
      },
    };
  },

  feeds(step, rows) {
    const { queryMask, params, layers, sinkDims } = rowInputs(step, rows);
    return {
      [VAR_IO.detect]: createTensor('bool', [], [step.phase === 'prefill' ? 1 : 0]),
      [VAR_IO.queryMask]: queryMask,
      [VAR_IO.params]: params,
      [VAR_IO.layers]: layers,
      [VAR_IO.sinkDims]: createTensor('int64', [sinkDims.length], BigInt64Array.from(sinkDims, BigInt)),
    };
  },

  reference(step, rows, carried) {
    const { batch, total, queries, model } = step;
    const past = total - queries;
    const { queryMask, params, layers, sinkDims } = rowInputs(step, rows);
    const pastFlags = carried ?? createTensor('uint8', [model.numLayers, batch, 0]);
    const flags = new Uint8Array(model.numLayers * batch * total);
    const diagnostics: Record<string, TypedTensor> = {};
    return {
      afterSoftmax(probs: Float32Tensor, { layer, hidden }) {
        const result = varLayerStep({
          hidden,
          attention: probs,
          pastSinkFlags: createTensor('uint8', [batch, past], pastFlags.data.subarray(layer * batch * past, (layer + 1) * batch * past)),
          detect: step.phase === 'prefill',
          attentionMask: createTensor('uint8', [batch, total], step.attentionMask),
          imageMask: createTensor('uint8', [batch, total], step.imageMask),
          queryMask,
          params,
          layerActive: Array.from({ length: batch }, (_, b) => layers.data[b * model.numLayers + layer] as number),
          sinkDims,
        });
        flags.set(result.sinkFlags.data, layer * batch * total);
        diagnostics[VAR_IO.diagnosticScore(layer)] = result.score;
        diagnostics[VAR_IO.diagnosticSelected(layer)] = result.selected;
        diagnostics[VAR_IO.diagnosticMoved(layer)] = result.moved;
        return result.attention;
      },
      outputs: () => ({ [VAR_IO.presentSinkFlags]: createTensor('uint8', [model.numLayers, batch, total], flags) as Uint8Tensor, ...diagnostics }),
    };
  },
};

/** VAR as users pick it (the `general` preset unless flags say otherwise). */
export const varMethod: AttentionMethod = {
  name: 'var',
  label: 'VAR',
  paper: 'Kang et al., See What You Are Told: Visual Attention Sink in Large Multimodal Models (ICLR 2025)',
  repository: 'https://github.com/MICV-yonsei/VisAttnSink',
  edits: 'post-softmax probabilities of image-centric heads: part of the visual sinks\' attention moves onto the other image tokens',
  parameters: 'preset general: τ 20, ρ 0.8, p 0.6, m 0.2, layers [2, L − 1)',
  cost: '~40 small ops per layer after the softmax; no extra rows',
  batchRows: 1,
  intervention: varIntervention,
  defaults: () => ({ var: VAR_PRESETS[DEFAULT_VAR_PRESET] }),
  describe: ({ var: c }) => (c ? `VAR τ=${c.tau} ρ=${+c.rho.toFixed(4)} p=${+c.p.toFixed(4)} m=${c.minImageAttention}` : undefined),
};
