import { parseArgs } from 'node:util';
import { encodeModel } from '@vasink/onnx-graph';
import { type TypedTensor, createTensor, fromOrtTensor, toOrtTensor } from '@vasink/tensor';
import {
  DECODER_IO,
  type DecoderConfig,
  WeightStore,
  buildDecoderGraph,
  memoryWeightSource,
  randomDecoderWeights,
} from '@vasink/transformer-graph';
import { eligibleQueries, resolveVarConfig, varLayerMask, varParamsRow } from '@vasink/var';
import * as ort from 'onnxruntime-node';

/** The built-in synthetic model: wide enough (D = 512) for the paper's τ = 20. */
const DEMO_CONFIG: DecoderConfig = {
  hiddenSize: 512,
  numLayers: 6,
  numHeads: 8,
  numKvHeads: 8,
  headDim: 64,
  intermediateSize: 1024,
  vocabSize: 128,
  rmsNormEps: 1e-6,
  rope: { type: 'default', theta: 10000 },
  attentionBias: false,
  tieWordEmbeddings: false,
};
const SINK_DIMS = [7, 300];
const IMAGE_START = 4;
const IMAGE_TOKENS = 24;
const TOKENS = IMAGE_START + IMAGE_TOKENS + 8;

/**
 * `vasink demo`: a synthetic decoder (random weights, massive activations
 * planted on BOS and every fifth image token) runs one prefill through the
 * VAR decoder graph in onnxruntime with two batch rows, VAR off and VAR on,
 * and reports the sinks, the selected heads and the attention mass moved.
 */
export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { preset: { type: 'string', default: 'general' }, json: { type: 'boolean', default: false } } });
  const log = (line: string) => values.json || process.stderr.write(`${line}\n`);
  const summary = await computeDemo({ preset: values.preset, log });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${formatDemo(summary).join('\n')}\n`);
  return 0;
}

export type DemoSummary = Awaited<ReturnType<typeof computeDemo>>;

/** Run the demo model once and summarise what VAR did, per layer. */
export async function computeDemo(options: { preset: string; log?: (line: string) => void }) {
  const varConfig = resolveVarConfig({ preset: options.preset });
  const config = DEMO_CONFIG;
  options.log?.(`building a ${config.numLayers}-layer decoder (hidden ${config.hiddenSize}) with VAR inside…`);
  const weights = randomDecoderWeights(config, { seed: 1, scale: 0.02 });
  const model = await buildDecoderGraph({
    config,
    weights: new WeightStore({ source: memoryWeightSource(weights), dtype: 'float32' }),
    diagnostics: true,
  });
  const session = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'] });

  // Two identical rows: row 0 VAR off, row 1 VAR on.
  const batch = 2;
  const d = config.hiddenSize;
  let state = 12345;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const row = new Float32Array(TOKENS * d).map(() => random() - 0.5);
  const planted = [0, ...Array.from({ length: IMAGE_TOKENS / 5 + 1 }, (_, k) => IMAGE_START + 5 * k).filter((t) => t < IMAGE_START + IMAGE_TOKENS)];
  for (const t of planted) row[t * d + (SINK_DIMS[t % 2] as number)] = 400;
  const embeds = new Float32Array(batch * TOKENS * d);
  embeds.set(row, 0);
  embeds.set(row, TOKENS * d);
  const imageRow = Array.from({ length: TOKENS }, (_, t) => (t >= IMAGE_START && t < IMAGE_START + IMAGE_TOKENS ? 1 : 0));
  const imageMask = createTensor('uint8', [batch, TOKENS], [...imageRow, ...imageRow]);
  const realMask = createTensor('uint8', [batch, TOKENS], new Array(batch * TOKENS).fill(1));
  const layers = new Uint8Array(batch * config.numLayers);
  layers.set(varLayerMask(varConfig, { numLayers: config.numLayers }), config.numLayers);
  const params = new Float32Array(batch * 4);
  params.set(varParamsRow(varConfig), 0);
  params.set(varParamsRow(varConfig), 4);
  const feeds: Record<string, TypedTensor> = {
    [DECODER_IO.inputsEmbeds]: createTensor('float32', [batch, TOKENS, d], embeds),
    [DECODER_IO.attentionMask]: createTensor('int64', [batch, TOKENS], new BigInt64Array(batch * TOKENS).fill(1n)),
    [DECODER_IO.positionIds]: createTensor('int64', [batch, TOKENS], Array.from({ length: batch * TOKENS }, (_, i) => i % TOKENS)),
    [DECODER_IO.pastSinkFlags]: createTensor('uint8', [config.numLayers, batch, 0]),
    [DECODER_IO.varDetect]: createTensor('bool', [], [1]),
    [DECODER_IO.varImageMask]: imageMask,
    [DECODER_IO.varQueryMask]: eligibleQueries({ imageMask, attentionMask: realMask, newTokens: TOKENS, phase: 'prefill' }),
    [DECODER_IO.varParams]: createTensor('float32', [batch, 4], params),
    [DECODER_IO.varLayers]: createTensor('uint8', [batch, config.numLayers], layers),
    [DECODER_IO.varSinkDims]: createTensor('int64', [SINK_DIMS.length], SINK_DIMS),
  };
  for (let l = 0; l < config.numLayers; l++) {
    feeds[DECODER_IO.pastKey(l)] = createTensor('float32', [batch, config.numKvHeads, 0, config.headDim]);
    feeds[DECODER_IO.pastValue(l)] = createTensor('float32', [batch, config.numKvHeads, 0, config.headDim]);
  }
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrtTensor(v) as ort.Tensor]));
  const started = performance.now();
  const raw = await session.run(ortFeeds);
  const elapsed = performance.now() - started;
  const out = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, fromOrtTensor(v)]));

  const flags = out[DECODER_IO.presentSinkFlags]!.data as Uint8Array;
  const perLayer = Array.from({ length: config.numLayers }, (_, l) => {
    const sinks = [...flags.subarray((l * batch + 1) * TOKENS, (l * batch + 2) * TOKENS)].flatMap((f, t) => (f ? [t] : []));
    const selected = out[DECODER_IO.diagnosticSelected(l)]!.data as Uint8Array;
    const moved = out[DECODER_IO.diagnosticMoved(l)]!.data as Float32Array;
    const perHead = Array.from({ length: config.numHeads }, (_, h) =>
      selected.subarray((config.numHeads + h) * TOKENS, (config.numHeads + h + 1) * TOKENS).reduce((a, b) => a + b, 0),
    );
    const rows = perHead.reduce((a, b) => a + b, 0);
    const mass = moved.subarray(config.numHeads * TOKENS).reduce((a, b) => a + b, 0);
    return { layer: l, active: layers[config.numLayers + l] === 1, sinks, imageSinks: sinks.filter((t) => imageRow[t]), selectedRowsPerHead: perHead, selectedRows: rows, movedMass: mass };
  });
  const logits = out[DECODER_IO.logits]!.data as Float32Array;
  const v = config.vocabSize;
  const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
  let maxDiff = 0;
  for (let i = 0; i < v; i++) maxDiff = Math.max(maxDiff, Math.abs((logits[i] as number) - (logits[v + i] as number)));
  const summary = {
    preset: options.preset,
    config: varConfig,
    model: { ...config, sinkDims: SINK_DIMS },
    prompt: { tokens: TOKENS, image: [IMAGE_START, IMAGE_START + IMAGE_TOKENS], plantedSinks: planted },
    prefillMs: Math.round(elapsed * 10) / 10,
    layers: perLayer,
    nextToken: { varOff: argmax(logits.subarray(0, v)), varOn: argmax(logits.subarray(v)) },
    maxLogitChange: maxDiff,
  };
  await session.release();
  return summary;
}

/** The demo summary as a Markdown table and two lines of prose. */
export function formatDemo(summary: DemoSummary): string[] {
  const { config: varConfig, prompt, layers: perLayer } = summary;
  return [
    `VAR preset ${summary.preset}: τ=${varConfig.tau} ρ=${varConfig.rho} p=${varConfig.p} m=${varConfig.minImageAttention}`,
    `prompt: ${prompt.tokens} tokens, image tokens ${prompt.image[0]}–${prompt.image[1]! - 1}, sinks planted at ${prompt.plantedSinks.join(', ')} (dims ${summary.model.sinkDims.join(', ')})`,
    '',
    '| layer | VAR | sinks found | visual sinks | selected rows (per head) | mass moved |',
    '|---|---|---|---|---|---|',
    ...perLayer.map(
      (l) =>
        `| ${l.layer} | ${l.active ? 'on' : 'off'} | ${l.sinks.join(' ') || '–'} | ${l.imageSinks.length} | ${l.selectedRows} (${l.selectedRowsPerHead.join(' ')}) | ${l.movedMass.toFixed(3)} |`,
    ),
    '',
    `prefill of 2 rows (VAR off | VAR on) in one batch: ${summary.prefillMs} ms on CPU`,
    `next token: VAR off → ${summary.nextToken.varOff}, VAR on → ${summary.nextToken.varOn}; largest logit change ${summary.maxLogitChange.toFixed(4)}`,
  ];
}
