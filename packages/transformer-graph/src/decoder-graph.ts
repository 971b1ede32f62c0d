import type { GraphBuilder, ModelProto, Value } from '@vasink/onnx-graph';
import { GraphBuilder as Builder } from '@vasink/onnx-graph';
import { InvalidArgumentError } from '@vasink/tensor';
import { type DecoderConfig, validateDecoderConfig } from './decoder-config.js';
import type { AnyIntervention, InterventionGraph, InterventionGraphContext } from './intervention.js';
import { emitEmbeddingLookup, emitLinear } from './linear.js';
import { emitApplyRotary, emitRotaryTables } from './rope.js';
import type { WeightStore } from './weight-store.js';

/** How attention is computed. */
export type DecoderAttention =
  /** eager attention: scores, softmax and context as plain ops, with the interventions' hooks around the softmax (the product graph). */
  | 'eager'
  /**
   * onnxruntime's fused com.microsoft.GroupQueryAttention, no intervention: the
   * fastest graph, for benchmarks. Rows must not be left-padded (GQA reads
   * lengths, not masks). No intervention can use it: they need the scores or probabilities.
   */
  | 'fused';

export interface DecoderGraphOptions {
  config: DecoderConfig;
  weights: WeightStore;
  attention?: DecoderAttention;
  /**
   * Attention interventions built into the graph (eager only), hooks applied in
   * this order; each takes per-row inputs, so one graph serves every method and
   * a row with all of them off computes the baseline.
   */
  interventions?: readonly AnyIntervention[];
  /** Add the interventions' diagnostic outputs (a separate graph: costs nothing when not built). */
  diagnostics?: boolean;
  producerName?: string;
}

/** Most negative float32: masked logits stay finite, so fully padded rows give no NaN. */
const MASKED = -3.4028234663852886e38;

/** Names of the decoder graph's inputs and outputs (DESIGN §2 contract). */
export const DECODER_IO = {
  inputsEmbeds: 'inputs_embeds',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  /** `[batch, total_tokens]` uint8 1 on image tokens: present when the graph has interventions. */
  imageMask: 'image_mask',
  pastKey: (layer: number) => `past_key_values.${layer}.key`,
  pastValue: (layer: number) => `past_key_values.${layer}.value`,
  recentKey: (layer: number) => `recent_key_values.${layer}.key`,
  recentValue: (layer: number) => `recent_key_values.${layer}.value`,
  logits: 'logits',
  presentKey: (layer: number) => `present.${layer}.key`,
  presentValue: (layer: number) => `present.${layer}.value`,
  /** Diagnostic graph: mean attention row of the step's eligible queries, `[batch, heads, total_tokens]`. */
  diagnosticAttention: (layer: number) => `var_attention.${layer}`,
  /** Diagnostic graph: the layer input of each row's first new token, `[batch, hidden]`. */
  diagnosticFirstHidden: (layer: number) => `hidden_first.${layer}`,
} as const;

/**
 * Build the decoder graph: one graph for prefill and decode with the KV cache
 * as inputs/outputs, the attention interventions (VAR, PAI, VAF…) inside
 * (DESIGN §2). Weights stream in one tensor at a time through `weights`.
 *
 * The KV cache comes in two blocks per layer (`eager` graphs):
 * `past_key_values` [B, kvH, P, hd], the settled bulk, only read, and
 * `recent_key_values` [B, kvH, R, hd], the newest tokens. Keys are ordered
 * past, recent, new (the attention mask spans P + R + Q). The graph outputs
 * `present` = recent ++ new [B, kvH, R + Q, hd] — never the bulk — and
 * attends to both blocks without concatenating them, so a decode step copies
 * no full cache: the caller appends `present` to the bulk every few dozen
 * tokens (one copy then). The `fused` graph keeps GroupQueryAttention's
 * one-block cache (`past` in, full `present` out).
 */
export async function buildDecoderGraph(options: DecoderGraphOptions): Promise<ModelProto> {
  const config = validateDecoderConfig(options.config);
  const { weights } = options;
  const mode = options.attention ?? 'eager';
  const interventions = options.interventions ?? [];
  if (mode === 'fused' && interventions.length > 0) {
    throw new InvalidArgumentError(`the fused attention graph cannot carry interventions (${interventions.map((i) => i.name).join(', ')}): they need the scores or probabilities`);
  }
  const dtype = weights.dtype;
  const io = DECODER_IO;
  const g: GraphBuilder = new Builder({ name: 'decoder' });
  const { hiddenSize: d, numHeads: heads, numKvHeads: kvHeads, headDim: hd, numLayers } = config;
  const groups = heads / kvHeads;

  const inputsEmbeds = g.input(io.inputsEmbeds, dtype, ['batch', 'new_tokens', d]);
  const attentionMask = g.input(io.attentionMask, 'int64', ['batch', 'total_tokens']);
  const positionIds =
    config.rope.type === 'mrope'
      ? g.input(io.positionIds, 'int64', [3, 'batch', 'new_tokens'])
      : g.input(io.positionIds, 'int64', ['batch', 'new_tokens']);
  const past = Array.from({ length: numLayers }, (_, l) => ({
    key: g.input(io.pastKey(l), dtype, ['batch', kvHeads, 'past_tokens', hd]),
    value: g.input(io.pastValue(l), dtype, ['batch', kvHeads, 'past_tokens', hd]),
  }));
  const recent =
    mode === 'fused'
      ? undefined
      : Array.from({ length: numLayers }, (_, l) => ({
          key: g.input(io.recentKey(l), dtype, ['batch', kvHeads, 'recent_tokens', hd]),
          value: g.input(io.recentValue(l), dtype, ['batch', kvHeads, 'recent_tokens', hd]),
        }));
  // Shared per graph: shapes, the additive causal + padding mask, rotary tables.
  const embedsShape = g.shape(inputsEmbeds);
  const tokensShape = g.slice(embedsShape, [0], [2]);
  const newTokens = g.shape(inputsEmbeds, { start: 1, end: 2 });
  const totalTokens = g.shape(attentionMask, { start: 1, end: 2 });
  const batchDim = g.shape(inputsEmbeds, { start: 0, end: 1 });
  const scoresShape = g.concat([batchDim, g.ints([heads]), newTokens, totalTokens], 0);
  const groupedScoresShape = g.concat([batchDim, g.ints([kvHeads, groups]), newTokens, totalTokens], 0);
  // Keys per cache block, the same in every layer: the bulk (past), then recent ++ new.
  const blockSizes = (() => {
    if (mode === 'fused') return undefined;
    const bulkTokens = g.shape((past[0] as { key: Value }).key, { start: 2, end: 3 });
    return g.concat([bulkTokens, g.sub(totalTokens, bulkTokens)], 0);
  })();
  const maskBias = g.scope('mask', () => {
    const pastTokens = g.sub(totalTokens, newTokens);
    const queryPositions = g.add(g.range(0, g.squeeze(newTokens, [0]), 1), pastTokens);
    const keyPositions = g.range(0, g.squeeze(totalTokens, [0]), 1);
    const causal = g.lessOrEqual(g.unsqueeze(keyPositions, [0]), g.unsqueeze(queryPositions, [1]));
    const real = g.unsqueeze(g.cast(attentionMask, 'bool'), [1, 2]);
    return g.where(g.and(g.unsqueeze(causal, [0, 1]), real), 0, MASKED);
  });
  const rotary = emitRotaryTables(g, config.rope, hd, positionIds);
  const tables = dtype === 'float32' ? rotary : { cos: g.cast(rotary.cos, dtype), sin: g.cast(rotary.sin, dtype) };
  // GroupQueryAttention's lengths: real tokens − 1 per row, and the total length.
  const fusedLengths =
    mode === 'fused'
      ? {
          seqlensK: g.cast(g.sub(g.reduceSum(attentionMask, [1], false), 1), 'int32'),
          total: g.cast(g.squeeze(totalTokens, [0]), 'int32'),
        }
      : undefined;
  const hooks: InterventionGraph[] = (() => {
    if (interventions.length === 0) return [];
    const context: InterventionGraphContext = {
      g,
      config,
      attentionMask,
      imageMask: g.input(io.imageMask, 'uint8', ['batch', 'total_tokens']),
      newTokens,
      diagnostics: options.diagnostics ?? false,
    };
    return interventions.map((intervention) => g.scope(intervention.name, () => intervention.emit(context)));
  })();
  // [batch, n, Q, hd] → [batch, Q, n·hd]
  const mergeHeads = (x: Value, n: number) => g.reshape(g.transpose(x, [0, 2, 1, 3]), g.concat([tokensShape, g.ints([n * hd])], 0));

  const linear = async (x: Value, name: string, bias = false) => {
    const w = await weights.loadLinear(g, `${name}.weight`);
    const b = bias ? await weights.load(g, `${name}.bias`) : undefined;
    return emitLinear(g, x, w, b, { dtype });
  };
  // Checkpoint projections sharing an input, stacked into one weight `${scope}.${fused}` (rows of each part in order).
  const stackedLinear = async (x: Value, scope: string, fused: string, parts: readonly string[], bias: boolean) => {
    const rowsOf = (suffix: string) => parts.map((part) => `${scope}.${part}.${suffix}`);
    const w = await weights.loadLinear(g, `${scope}.${fused}.weight`, { rowsOf: rowsOf('weight') });
    const b = bias ? await weights.load(g, `${scope}.${fused}.bias`, { rowsOf: rowsOf('bias') }) : undefined;
    return emitLinear(g, x, w, b, { dtype });
  };
  // RMSNorm; also returns its float32 input and mean square, which VAR's φ reuses.
  const rmsNormParts = async (x: Value, name: string) => {
    const w = await weights.load(g, `${name}.weight`);
    return g.scope(name, () => {
      const wide = dtype === 'float32' ? x : g.cast(x, 'float32');
      const meanSquare = g.reduceMean(g.mul(wide, wide), [-1], true);
      const normed = g.mul(wide, g.reciprocal(g.sqrt(g.add(meanSquare, config.rmsNormEps))));
      return { out: g.mul(dtype === 'float32' ? normed : g.cast(normed, dtype), w), wide, meanSquare };
    });
  };
  const rmsNorm = async (x: Value, name: string) => (await rmsNormParts(x, name)).out;
  // [batch·Q, n·hd] → [batch, n, Q, hd]
  const splitHeads = (x: Value, n: number) => g.transpose(g.reshape(x, g.concat([tokensShape, g.ints([n, hd])], 0)), [0, 2, 1, 3]);

  let hidden = g.reshape(inputsEmbeds, [-1, d]);
  for (let l = 0; l < numLayers; l++) {
    const prefix = `layers.${l}`;
    const inputNorm = await rmsNormParts(hidden, `${prefix}.input_layernorm`);
    const normed = inputNorm.out;
    // q, k and v as one projection (one weight read, one kernel call instead of three), then split.
    const [qFlat, kFlat, vFlat] = g.split(
      await stackedLinear(normed, `${prefix}.self_attn`, 'qkv_proj', ['q_proj', 'k_proj', 'v_proj'], config.attentionBias),
      [heads * hd, kvHeads * hd, kvHeads * hd],
      1,
    ) as [Value, Value, Value];
    const q = splitHeads(qFlat, heads);
    const k = splitHeads(kFlat, kvHeads);
    const v = splitHeads(vFlat, kvHeads);
    const oWeight = await weights.loadLinear(g, `${prefix}.self_attn.o_proj.weight`);
    const attended = g.scope(`${prefix}.attention`, () => {
      const qRot = emitApplyRotary(g, q, tables, hd);
      if (fusedLengths) {
        const kRotFused = emitApplyRotary(g, k, tables, hd);
        const [output, presentKey, presentValue] = g.opMulti(
          'GroupQueryAttention',
          [
            mergeHeads(qRot, heads),
            mergeHeads(kRotFused, kvHeads),
            mergeHeads(v, kvHeads),
            (past[l] as { key: Value }).key,
            (past[l] as { value: Value }).value,
            fusedLengths.seqlensK,
            fusedLengths.total,
          ],
          3,
          { num_heads: heads, kv_num_heads: kvHeads },
          { domain: 'com.microsoft', dtypes: [dtype, dtype, dtype] },
        ) as [Value, Value, Value];
        g.output(presentKey, { name: io.presentKey(l), dtype, dims: ['batch', kvHeads, 'total_tokens', hd] });
        g.output(presentValue, { name: io.presentValue(l), dtype, dims: ['batch', kvHeads, 'total_tokens', hd] });
        return g.reshape(output, [-1, heads * hd]);
      }
      const kRot = emitApplyRotary(g, k, tables, hd);
      const { key: pastKey, value: pastValue } = past[l] as { key: Value; value: Value };
      const { key: recentKey, value: recentValue } = (recent as { key: Value; value: Value }[])[l] as { key: Value; value: Value };
      const keys = g.concat([recentKey, kRot], 2);
      const values = g.concat([recentValue, v], 2);
      g.output(keys, { name: io.presentKey(l), dtype, dims: ['batch', kvHeads, 'present_tokens', hd] });
      g.output(values, { name: io.presentValue(l), dtype, dims: ['batch', kvHeads, 'present_tokens', hd] });
      // Grouped-query attention without copying K/V: queries [b, kv, g, Q, hd] against keys [b, kv, 1, T, hd],
      // the bulk and the present block apart (scores are small at decode; the cache is large).
      const grouped = g.reshape(g.mul(qRot, 1 / Math.sqrt(hd)), [0, kvHeads, groups, -1, hd]);
      const scoresAgainst = (block: Value) => g.matMul(grouped, g.transpose(g.unsqueeze(block, [2]), [0, 1, 2, 4, 3]));
      let scores = g.reshape(g.concat([scoresAgainst(pastKey), scoresAgainst(keys)], -1), scoresShape);
      if (dtype !== 'float32') scores = g.cast(scores, 'float32');
      const layerValues = { layer: l, hidden: inputNorm.wide, meanSquare: inputNorm.meanSquare };
      for (const hook of hooks) if (hook.beforeSoftmax) scores = hook.beforeSoftmax(scores, layerValues);
      let probs = g.softmax(g.add(scores, maskBias), -1);
      for (const hook of hooks) if (hook.afterSoftmax) probs = hook.afterSoftmax(probs, layerValues);
      if (dtype !== 'float32') probs = g.cast(probs, dtype);
      const [pastProbs, presentProbs] = g.opMulti('Split', [g.reshape(probs, groupedScoresShape), blockSizes as Value], 2, { axis: 4 }, { dtypes: [dtype, dtype] }) as [Value, Value];
      const context5 = g.add(g.matMul(pastProbs, g.unsqueeze(pastValue, [2])), g.matMul(presentProbs, g.unsqueeze(values, [2])));
      const context = g.reshape(context5, [0, heads, -1, hd]);
      return g.reshape(g.transpose(context, [0, 2, 1, 3]), [-1, heads * hd]);
    });
    hidden = g.add(hidden, emitLinear(g, attended, oWeight, undefined, { dtype }));
    const mlpIn = await rmsNorm(hidden, `${prefix}.post_attention_layernorm`);
    const [gate, up] = g.split(await stackedLinear(mlpIn, `${prefix}.mlp`, 'gate_up_proj', ['gate_proj', 'up_proj'], false), [config.intermediateSize, config.intermediateSize], 1) as [
      Value,
      Value,
    ];
    const activated = g.mul(g.mul(gate, g.sigmoid(gate)), up);
    hidden = g.add(hidden, await linear(activated, `${prefix}.mlp.down_proj`));
  }

  // Logits of the last position only.
  const last = g.reshape(g.slice(g.reshape(hidden, embedsShape), [-1], [Infinity], [1]), [-1, d]);
  const finalNormed = await rmsNorm(last, 'norm');
  const head = await weights.loadLinear(g, config.tieWordEmbeddings ? 'embed_tokens.weight' : 'lm_head.weight');
  let logits = emitLinear(g, finalNormed, head, undefined, { dtype });
  if (dtype !== 'float32') logits = g.cast(logits, 'float32');
  g.output(g.unsqueeze(logits, [1]), { name: io.logits, dtype: 'float32', dims: ['batch', 1, config.vocabSize] });
  for (const hook of hooks) hook.finish?.();
  return g.build({
    producerName: options.producerName ?? 'vasink',
    metadata: { 'vasink.attention': mode, 'vasink.interventions': interventions.map((i) => i.name).join(',') },
  });
}

/** The token-embedding graph: `input_ids [batch, tokens]` int64 → `inputs_embeds [batch, tokens, hidden]`. */
export async function buildEmbeddingGraph(options: { config: DecoderConfig; weights: WeightStore }): Promise<ModelProto> {
  const { config, weights } = options;
  const g = new Builder({ name: 'embed_tokens' });
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const table = await weights.loadEmbedding(g, 'embed_tokens.weight');
  g.output(emitEmbeddingLookup(g, table, ids, { dtype: weights.dtype }), { name: 'inputs_embeds', dtype: weights.dtype, dims: ['batch', 'tokens', config.hiddenSize] });
  return g.build({ producerName: 'vasink' });
}
