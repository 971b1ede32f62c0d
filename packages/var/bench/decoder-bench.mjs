#!/usr/bin/env node
// Decoder benchmark (not a test): a synthetic decoder of realistic width with
// random weights, prefill of 576 image + 64 text tokens, then greedy decode.
// Prints one table from one run: VAR graph with VAR off / on, the baseline
// eager graph without VAR ops, and onnxruntime's fused GroupQueryAttention
// graph; plus the memory-bandwidth floor of decode.
//
//   pnpm --filter @vasink/var bench [-- --layers 16 --hidden 2048 --decode 32 --runs 3]
// (runs from the TypeScript sources: no build needed, never a stale dist)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ExternalDataFile, GraphBuilder, writeModel } from '@vasink/onnx-graph';
import { createTensor, toOrtTensor } from '@vasink/tensor';
import { DECODER_IO, WeightStore, buildDecoderGraph, decoderWeightShapes } from '@vasink/transformer-graph';
import { VAR_IO, VAR_PRESETS, varIntervention } from '@vasink/var';
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
    // step: decode steps of all variants interleaved one by one (default); run: each variant
    // prefills and decodes all its steps before the next (order rotated per run).
    interleave: { type: 'string', default: 'step' },
    // ms of idle before each timed run, so the previous session's spinning threads have parked.
    settle: { type: 'string', default: '20' },
  },
});
const n = (k) => Number(values[k]);
if (!['step', 'run'].includes(values.interleave)) {
  process.stderr.write(`--interleave must be step or run, got ${values.interleave}\n`);
  process.exit(2);
}
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
  const graphs = { var: { interventions: [varIntervention] }, baseline: {}, fused: { attention: 'fused' } };
  for (const [attention, graphOptions] of Object.entries(graphs)) {
    const model = await buildDecoderGraph({ config, weights: store, ...graphOptions });
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
  // One variant's generation: prefill() then step() per decode token, timed separately, so the
  // variants' decode steps can interleave one by one (drift on a shared machine hits all alike).
  function generation(session, mode) {
    const varOn = mode === 'var-on';
    const hasVar = mode.startsWith('var');
    // VAR's inputs as the runtime builds them (the intervention's own feeds); the query mask follows from the image mask.
    const varFeeds = (detect, image) => {
      const step = {
        phase: detect ? 'prefill' : 'decode',
        batch: 1,
        total: image.length,
        queries: detect ? image.length : 1,
        attentionMask: new Uint8Array(image.length).fill(1),
        imageMask: image,
        model: { numLayers: L, numHeads: heads, hiddenSize: hidden, sinkDims: SINK_DIMS, sinkStartLayer: 2 },
      };
      const feeds = { [DECODER_IO.imageMask]: tensor('uint8', image, [1, image.length]) };
      for (const [name, t] of Object.entries(varIntervention.feeds(step, [varOn ? VAR_PRESETS.general : undefined]))) feeds[name] = toOrtTensor(t);
      return feeds;
    };
    let out;
    let bulk;
    let recent;
    const twoBlocks = session.inputNames.includes(DECODER_IO.recentKey(0));
    let total = tokens;
    let image = imageMask;
    return {
      async prefill() {
        const feeds = {
          [DECODER_IO.inputsEmbeds]: tensor('float32', embeds, [1, tokens, hidden]),
          [DECODER_IO.attentionMask]: tensor('int64', new BigInt64Array(tokens).fill(1n), [1, tokens]),
          [DECODER_IO.positionIds]: tensor('int64', BigInt64Array.from({ length: tokens }, (_, i) => BigInt(i)), [1, tokens]),
        };
        for (let l = 0; l < L; l++) {
          feeds[DECODER_IO.pastKey(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
          feeds[DECODER_IO.pastValue(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
          if (!twoBlocks) continue;
          feeds[DECODER_IO.recentKey(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
          feeds[DECODER_IO.recentValue(l)] = tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
        }
        if (hasVar) Object.assign(feeds, { [VAR_IO.pastSinkFlags]: toOrtTensor(createTensor('uint8', [L, 1, 0])) }, varFeeds(true, imageMask));
        total = tokens;
        image = imageMask;
        const start = performance.now();
        out = await session.run(feeds);
        const ms = performance.now() - start;
        // The two-block cache: the prompt's block becomes the bulk; decode steps grow the recent block (no merge within a bench run).
        bulk = Array.from({ length: L }, (_, l) => ({ key: out[DECODER_IO.presentKey(l)], value: out[DECODER_IO.presentValue(l)] }));
        recent = Array.from({ length: L }, () => ({ key: tensor('float32', new Float32Array(0), [1, kv, 0, hd]), value: tensor('float32', new Float32Array(0), [1, kv, 0, hd]) }));
        const sinks = hasVar ? out[VAR_IO.presentSinkFlags].data.reduce((x, y) => x + y, 0) / L : 0;
        return { ms, sinks };
      },
      async step() {
        const logits = out[DECODER_IO.logits].data;
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
          if (!twoBlocks) {
            f[DECODER_IO.pastKey(l)] = out[DECODER_IO.presentKey(l)];
            f[DECODER_IO.pastValue(l)] = out[DECODER_IO.presentValue(l)];
            continue;
          }
          f[DECODER_IO.pastKey(l)] = bulk[l].key;
          f[DECODER_IO.pastValue(l)] = bulk[l].value;
          f[DECODER_IO.recentKey(l)] = recent[l].key;
          f[DECODER_IO.recentValue(l)] = recent[l].value;
        }
        if (hasVar) Object.assign(f, { [VAR_IO.pastSinkFlags]: out[VAR_IO.presentSinkFlags] }, varFeeds(false, image));
        const start = performance.now();
        out = await session.run(f);
        const ms = performance.now() - start;
        if (twoBlocks) recent = Array.from({ length: L }, (_, l) => ({ key: out[DECODER_IO.presentKey(l)], value: out[DECODER_IO.presentValue(l)] }));
        return ms;
      },
    };
  }

  // All three sessions stay loaded. Each run prefills every variant (order rotated per run), then
  // decodes them in lockstep: step s of every variant, order rotated per step. Ratios are medians
  // of per-run (prefill) and per-step (decode) ratios between variants measured side by side.
  const sessions = {};
  for (const [key, path] of Object.entries(variants)) sessions[key] = await ort.InferenceSession.create(path, sessionOptions);
  const plan = [
    ['VAR graph, VAR off', generation(sessions.var, 'var-off')],
    ['VAR graph, VAR on (general)', generation(sessions.var, 'var-on')],
    ['eager graph without VAR ops', generation(sessions.baseline, 'baseline')],
    ['fused GroupQueryAttention (no VAR possible)', generation(sessions.fused, 'fused')],
  ];
  const decodeSteps = n('decode');
  // onnxruntime's intra-op threads spin for a while after a run; each session has its own pool,
  // so a run started right after another session's would share the 2 cores with its spinners.
  const settle = () => new Promise((resolve) => setTimeout(resolve, n('settle')));
  const prefillMs = plan.map(() => []);
  const stepMs = plan.map(() => []);
  const sinks = plan.map(() => 0);
  for (let r = -1; r < n('runs'); r++) {
    log(r < 0 ? 'warm-up…' : `run ${r + 1}/${n('runs')}…`);
    const rotated = (shift) => plan.map((_, k) => (shift + k) % plan.length);
    const decode = async (i) => {
      await settle();
      const ms = await plan[i][1].step();
      if (r >= 0) stepMs[i].push(ms);
    };
    for (const i of rotated(Math.max(r, 0))) {
      await settle();
      const { ms, sinks: found } = await plan[i][1].prefill();
      if (r >= 0) prefillMs[i].push(ms);
      sinks[i] = found;
      if (values.interleave === 'run') for (let step = 0; step < decodeSteps; step++) await decode(i);
    }
    if (values.interleave === 'step') {
      for (let step = 0; step < decodeSteps; step++) for (const i of rotated(step + Math.max(r, 0))) await decode(i);
    }
  }
  for (const session of Object.values(sessions)) await session.release();
  const median = (xs) => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  // Median of paired ratios a[k]/b[k]: each pair was measured back to back.
  const pairedRatio = (a, b) => median(a.map((x, k) => x / b[k]));
  const EAGER = 2;
  const FUSED = 3;
  const fmt = (x) => x.toFixed(3);
  const rows = plan.map(([label], i) => {
    const decodeTime = (j) => pairedRatio(stepMs[i], stepMs[j]);
    return `| ${label} | ${median(prefillMs[i]).toFixed(0)} | ${fmt(pairedRatio(prefillMs[i], prefillMs[EAGER]))} | ${fmt(pairedRatio(prefillMs[i], prefillMs[FUSED]))} | ${(1000 / median(stepMs[i])).toFixed(2)} | ${fmt(1 / decodeTime(EAGER))} | ${fmt(1 / decodeTime(FUSED))} | ${sinks[i].toFixed(1)} |`;
  });
  const floor = (readGBs * 1e9) / weightBytes;
  const best = Math.max(...stepMs.map((xs) => 1000 / median(xs)));
  const lines = [
    `| graph | prefill ms (${tokens} tokens) | vs eager | vs fused | decode tok/s | vs eager | vs fused | sinks/layer |`,
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `VAR on vs VAR off in the same graph (the same ops; shows the noise): prefill ×${fmt(pairedRatio(prefillMs[1], prefillMs[0]))}, decode throughput ×${fmt(1 / pairedRatio(stepMs[1], stepMs[0]))}`,
    `decode floor: ${(weightBytes / 2 ** 30).toFixed(2)} GiB of weights per token at ${readGBs.toFixed(1)} GB/s (onnxruntime GEMV over a 1 GiB matrix) = ${floor.toFixed(2)} tok/s; best measured decode is ${((best / floor) * 100).toFixed(0)}% of it`,
    `prefill: ms median of ${n('runs')} runs, ratios median of per-run ratios; decode: tok/s = 1000 / median step ms over ${n('runs')}×${decodeSteps} steps, ratios = median of per-step throughput ratios (${values.interleave === 'step' ? 'steps of all variants interleaved one by one, order rotated' : 'each variant decodes its run alone, order rotated per run; step k paired with step k'}); ${n('settle')} ms idle before each timed run; one warm-up run first; onnxruntime-node ${ort.env.versions?.common ?? ''} CPU, intra-op threads ${n('threads') || 'default'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
