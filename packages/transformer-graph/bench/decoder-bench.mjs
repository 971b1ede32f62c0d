#!/usr/bin/env node
// Decoder benchmark (not a test): a synthetic decoder of realistic width with
// random weights, prefill of 576 image + 64 text tokens, then greedy decode.
// Prints one table from one run: VAR graph with VAR off / on, the baseline
// eager graph without VAR ops, and onnxruntime's fused GroupQueryAttention
// graph; plus the memory-bandwidth floor of decode.
//
//   pnpm --filter @vasink/transformer-graph bench [-- --layers 16 --hidden 2048 --decode 16 --runs 2]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExternalDataFile, GraphBuilder, writeModel } from '@vasink/onnx-graph';
import { DECODER_IO, WeightStore, buildDecoderGraph, decoderWeightShapes } from '@vasink/transformer-graph';
import { VAR_PRESETS, varLayerMask, varParamsRow } from '@vasink/var';
import * as ort from 'onnxruntime-node';

// `pnpm bench -- --runs 6` passes the `--` through: drop it.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    hidden: { type: 'string', default: '2048' },
    layers: { type: 'string', default: '16' },
    heads: { type: 'string', default: '16' },
    intermediate: { type: 'string', default: '5632' },
    vocab: { type: 'string', default: '32000' },
    image: { type: 'string', default: '576' },
    text: { type: 'string', default: '64' },
    decode: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '0' },
  },
});
const n = (k) => Number(values[k]);
const hidden = n('hidden');
const heads = n('heads');
const config = {
  hiddenSize: hidden,
  numLayers: n('layers'),
  numHeads: heads,
  numKvHeads: heads,
  headDim: hidden / heads,
  intermediateSize: n('intermediate'),
  vocabSize: n('vocab'),
  rmsNormEps: 1e-6,
  rope: { type: 'default', theta: 10000 },
  attentionBias: false,
  tieWordEmbeddings: false,
};
const imageTokens = n('image');
const textTokens = n('text');
const tokens = imageTokens + textTokens + 1;
const imageStart = 1 + Math.floor(textTokens / 4);
const SINK_DIMS = [7, Math.min(300, hidden - 1)];

// Random weights generated on demand, tensor by tensor, straight into the data file.
const shapes = decoderWeightShapes(config);
function fill(name) {
  const shape = shapes.get(name);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const isNorm = name.endsWith('norm.weight');
  let state = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) || 1;
  for (let i = 0; i < data.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const u = (state >>> 0) / 2 ** 32 - 0.5;
    data[i] = isNorm ? 1 + 0.1 * u : 0.04 * u;
  }
  return { dtype: 'float32', dims: shape, data };
}
const source = {
  async describe(name) {
    const shape = shapes.get(name);
    return shape && { dtype: 'float32', shape };
  },
  async read(name) {
    return fill(name);
  },
};

const dir = mkdtempSync(join(tmpdir(), 'vasink-bench-'));
const log = (s) => process.stderr.write(`${s}\n`);
try {
  log(`config: hidden ${hidden}, ${config.numLayers} layers, ${heads} heads, intermediate ${config.intermediateSize}, vocab ${config.vocabSize}; prompt ${tokens} tokens (${imageTokens} image)`);
  let t = performance.now();
  const data = ExternalDataFile.create(join(dir, 'weights.bin'), { alignment: 4096 });
  const store = new WeightStore({ source, dtype: 'float32', externalData: data });
  const variants = {};
  for (const attention of ['var', 'baseline', 'fused']) {
    const model = await buildDecoderGraph({ config, weights: store, attention });
    variants[attention] = join(dir, `decoder-${attention}.onnx`);
    writeModel(model, variants[attention]);
  }
  data.close();
  const weightBytes = statSync(join(dir, 'weights.bin')).size;
  log(`built 3 graphs sharing ${(weightBytes / 2 ** 30).toFixed(2)} GiB of weights in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // The floor of decode: every weight is read once per token. Measure how fast onnxruntime
  // streams weights through a GEMV ([1, K] × [K, N]^T with Gemm transB, as the decoder does)
  // over a 1 GiB matrix — read bandwidth as the decoder's own kernels achieve it.
  const gemvK = 8192;
  const gemvN = 32768;
  const gemv = new GraphBuilder({ name: 'gemv' });
  const x = gemv.input('x', 'float32', [1, gemvK]);
  const floorData = ExternalDataFile.create(join(dir, 'gemv.bin'), { alignment: 4096 });
  const w = gemv.externalInitializer('w', 'float32', [gemvN, gemvK], floorData.append({ dtype: 'float32', dims: [gemvN, gemvK], data: new Float32Array(gemvN * gemvK).fill(0.001) }));
  floorData.close();
  gemv.output(gemv.op('Gemm', [x, w], { transB: 1 }, { dtype: 'float32' }), { name: 'y' });
  writeModel(gemv.build(), join(dir, 'gemv.onnx'));
  const gemvSession = await ort.InferenceSession.create(join(dir, 'gemv.onnx'), { executionProviders: ['cpu'] });
  const xFeed = { x: new ort.Tensor('float32', new Float32Array(gemvK).fill(1), [1, gemvK]) };
  await gemvSession.run(xFeed);
  const gemvTimes = [];
  for (let i = 0; i < 5; i++) {
    const s0 = performance.now();
    await gemvSession.run(xFeed);
    gemvTimes.push(performance.now() - s0);
  }
  await gemvSession.release();
  gemvTimes.sort((a, b) => a - b);
  const readGBs = (gemvN * gemvK * 4) / (gemvTimes[2] / 1000) / 1e9;

  // Inputs: random embeddings with a massive activation on BOS and every 24th image token.
  let seed = 99;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const embeds = new Float32Array(tokens * hidden).map(() => rand());
  for (let tok = 0; tok < tokens; tok++) {
    if (tok === 0 || (tok >= imageStart && tok < imageStart + imageTokens && (tok - imageStart) % 24 === 0)) embeds[tok * hidden + SINK_DIMS[tok % 2]] = 600;
  }
  const imageMask = new Uint8Array(tokens).map((_, tok) => (tok >= imageStart && tok < imageStart + imageTokens ? 1 : 0));

  const L = config.numLayers;
  const kv = config.numKvHeads;
  const hd = config.headDim;
  const tensor = (type, dataArr, dims) => new ort.Tensor(type, dataArr, dims);
  const sessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
  if (n('threads') > 0) sessionOptions.intraOpNumThreads = n('threads');
  function runner(session, mode) {
    const varOn = mode === 'var-on';
    const hasVar = mode.startsWith('var');
    const runPrompt = async () => {
      const feeds = {
        [DECODER_IO.inputsEmbeds]: tensor('float32', embeds, [1, tokens, hidden]),
        [DECODER_IO.attentionMask]: tensor('int64', new BigInt64Array(tokens).fill(1n), [1, tokens]),
        [DECODER_IO.positionIds]: tensor('int64', BigInt64Array.from({ length: tokens }, (_, i) => BigInt(i)), [1, tokens]),
      };
      for (let l = 0; l < L; l++) {
        feeds[DECODER_IO.pastKey(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
        feeds[DECODER_IO.pastValue(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
      }
      const query = new Uint8Array(tokens).map((_, tok) => (tok >= imageStart + imageTokens ? 1 : 0));
      const varFeeds = (detect, image, q) => ({
        [DECODER_IO.varDetect]: tensor('bool', new Uint8Array([detect ? 1 : 0]), []),
        [DECODER_IO.varImageMask]: tensor('uint8', image, [1, image.length]),
        [DECODER_IO.varQueryMask]: tensor('uint8', q, [1, q.length]),
        [DECODER_IO.varParams]: tensor('float32', varParamsRow(VAR_PRESETS.general), [1, 4]),
        [DECODER_IO.varLayers]: tensor('uint8', varOn ? varLayerMask(VAR_PRESETS.general, { numLayers: L }) : new Uint8Array(L), [1, L]),
        [DECODER_IO.varSinkDims]: tensor('int64', BigInt64Array.from(SINK_DIMS, BigInt), [SINK_DIMS.length]),
      });
      if (hasVar) Object.assign(feeds, { [DECODER_IO.pastSinkFlags]: tensor('uint8', new Uint8Array(0), [L, 1, 0]) }, varFeeds(true, imageMask, query));
      const start = performance.now();
      let out = await session.run(feeds);
      const prefillMs = performance.now() - start;
      const logitsOf = (o) => o[DECODER_IO.logits].data;
      let total = tokens;
      let image = imageMask;
      let sinks = hasVar ? out[DECODER_IO.presentSinkFlags].data.reduce((a, b) => a + b, 0) / L : 0;
      const decodeStart = performance.now();
      for (let step = 0; step < n('decode'); step++) {
        const logits = logitsOf(out);
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        const next = new Float32Array(hidden).map((_, i) => Math.sin(best + i));
        total += 1;
        image = Uint8Array.from([...image, 0]);
        const f = {
          [DECODER_IO.inputsEmbeds]: tensor('float32', next, [1, 1, hidden]),
          [DECODER_IO.attentionMask]: tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          [DECODER_IO.positionIds]: tensor('int64', BigInt64Array.of(BigInt(total - 1)), [1, 1]),
        };
        for (let l = 0; l < L; l++) {
          f[DECODER_IO.pastKey(l)] = out[DECODER_IO.presentKey(l)];
          f[DECODER_IO.pastValue(l)] = out[DECODER_IO.presentValue(l)];
        }
        if (hasVar) Object.assign(f, { [DECODER_IO.pastSinkFlags]: out[DECODER_IO.presentSinkFlags] }, varFeeds(false, image, Uint8Array.of(1)));
        out = await session.run(f);
      }
      const decodeS = (performance.now() - decodeStart) / 1000;
      return { prefillMs, tokensPerSecond: n('decode') / decodeS, sinks };
    };
    return runPrompt;
  }

  // All three sessions stay loaded; runs alternate between variants so drift hits all alike.
  const sessions = {};
  for (const [key, path] of Object.entries(variants)) sessions[key] = await ort.InferenceSession.create(path, sessionOptions);
  const plan = [
    ['VAR graph, VAR off', runner(sessions.var, 'var-off')],
    ['VAR graph, VAR on (general)', runner(sessions.var, 'var-on')],
    ['eager graph without VAR ops', runner(sessions.baseline, 'baseline')],
    ['fused GroupQueryAttention (no VAR possible)', runner(sessions.fused, 'fused')],
  ];
  log('warm-up…');
  for (const [, run] of plan) await run();
  const samples = plan.map(() => []);
  for (let r = 0; r < n('runs'); r++) {
    log(`run ${r + 1}/${n('runs')}…`);
    // Rotate the order each run so no variant always follows the same one.
    for (let k = 0; k < plan.length; k++) {
      const i = (r + k) % plan.length;
      samples[i].push(await plan[i][1]());
    }
  }
  for (const session of Object.values(sessions)) await session.release();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = plan.map(([label], i) => ({
    label,
    prefillMs: median(samples[i].map((x) => x.prefillMs)),
    tokensPerSecond: median(samples[i].map((x) => x.tokensPerSecond)),
    sinks: samples[i][0].sinks,
  }));
  const ref = rows[2];
  const fused = rows[3];
  const floor = (readGBs * 1e9) / weightBytes;
  const lines = [
    `| graph | prefill ms (${tokens} tokens) | vs eager | vs fused | decode tok/s | vs eager | vs fused | sinks/layer |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      `| ${r.label} | ${r.prefillMs.toFixed(0)} | ${(r.prefillMs / ref.prefillMs).toFixed(3)} | ${(r.prefillMs / fused.prefillMs).toFixed(3)} | ${r.tokensPerSecond.toFixed(2)} | ${(r.tokensPerSecond / ref.tokensPerSecond).toFixed(3)} | ${(r.tokensPerSecond / fused.tokensPerSecond).toFixed(3)} | ${r.sinks.toFixed(1)} |`,
    ),
    '',
    `VAR on vs VAR off in the same graph: prefill ×${(rows[1].prefillMs / rows[0].prefillMs).toFixed(3)}, decode throughput ×${(rows[1].tokensPerSecond / rows[0].tokensPerSecond).toFixed(3)}`,
    `decode floor: ${(weightBytes / 2 ** 30).toFixed(2)} GiB of weights per token at ${readGBs.toFixed(1)} GB/s (onnxruntime GEMV over a 1 GiB matrix) = ${floor.toFixed(2)} tok/s; best measured decode is ${((Math.max(...rows.map((r) => r.tokensPerSecond)) / floor) * 100).toFixed(0)}% of it`,
    `medians of ${n('runs')} interleaved runs (order rotated per run) after one warm-up each; ${n('decode')} decode steps per run; onnxruntime-node ${ort.env.versions?.common ?? ''} CPU, intra-op threads ${n('threads') || 'default'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
