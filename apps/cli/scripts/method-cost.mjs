// What each attention method costs on one converted model, side by side in one run. From apps/cli:
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/method-cost.mjs <model dir>
//   RUNS=2 STEPS=16 TOKENS=16 ANSWERS=none,var,pai,vaf,vcd,var+vcd (ANSWERS= skips part 2)
// 1. Graph-side methods (none, var, pai, vaf) as one decoder row each: prefill ms and decode ms per step, the
//    variants' steps interleaved one by one (order rotated), ratios = medians of paired ratios to none.
// 2. Whole answers (greedy, up to TOKENS tokens) of every method including the contrast ones (pai with its
//    text-only row, vcd with its noised-image row and one more vision run): wall ms per answer, ratio to the first.
// Plus the decode floor: decoder weight bytes (+ KV cache) per token ÷ the measured read bandwidth.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { llavaFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import { decodeImage } from '@vasink/image';
import {
  ATTENTION_METHODS,
  VisionLanguageModel,
  argmax,
  collect,
  decodeFloor,
  decodeStepBytes,
  describeMethodRow,
  graphWeightBytes,
  measureReadBandwidth,
  median,
  methodRow,
  pairedRatio,
  parseMethods,
  timeInterleaved,
} from '@vasink/runtime';

const dir = process.argv[2];
if (!dir) throw new Error('usage: method-cost.mjs <model dir>');
const runs = Number(process.env.RUNS ?? 2);
const steps = Number(process.env.STEPS ?? 16);
const tokens = Number(process.env.TOKENS ?? 16);
const model = await VisionLanguageModel.load(dir, { families: [llavaFamily, qwen2vlFamily], device: 'cpu', memory: false });
const image = await decodeImage(readFileSync(new URL('../assets/sample.png', import.meta.url)));
const question = 'Describe the image in detail.';
const prepared = await model.prepare({ question, images: [image] });
const decoder = model.manifest.decoder;
const facts = { numLayers: decoder.numLayers, numHeads: decoder.numHeads, hiddenSize: decoder.hiddenSize, sinkDims: model.sinkDims ?? [], sinkStartLayer: model.manifest.sink.startLayer };
const rowOf = (spec) => methodRow(parseMethods(spec), facts);
const q = model.manifest.quantization;
const context = prepared.prompt.inputIds.length;
console.log(`\n${dir} (${model.manifest.dtype}${q ? ` + ${q.scheme}, block ${q.blockSize}, accuracy level ${q.accuracyLevel}` : ''}), ${decoder.numLayers} layers, ${context}-token prompt\n`);

// 1. Decoder cost of the graph-side edits (contrasts stripped: one row each).
const variants = ['none', ...ATTENTION_METHODS.filter((m) => m.intervention).map((m) => m.name)].map((spec) => {
  const { contrast: _, ...row } = rowOf(spec);
  return { spec, row };
});
const drive = (step) => {
  let logits;
  return {
    prefill: async () => void (logits = (await step.prefill({})).logits[0]),
    decode: async () => void (logits = (await step.decode({ rows: [0], ids: [argmax(logits)], finished: [] })).logits[0]),
    dispose: async () => step.dispose?.(),
  };
};
const prefillMs = variants.map(() => []);
const decodeMs = variants.map(() => []);
for (let r = 0; r < runs + 1; r++) {
  const drivers = await Promise.all(variants.map(async (v) => drive(await model.decoderStep(prepared, { rows: [v.row] }))));
  const prefill = await timeInterleaved(drivers.map((d) => d.prefill), { rounds: 1, rotation: r, settleMs: 20 });
  const decode = await timeInterleaved(drivers.map((d) => d.decode), { rounds: steps, rotation: r, settleMs: 5 });
  await Promise.all(drivers.map((d) => d.dispose()));
  if (r === 0) continue; // warm-up
  prefill.forEach((ms, v) => prefillMs[v].push(...ms));
  decode.forEach((ms, v) => decodeMs[v].push(...ms));
}
const bandwidth = await measureReadBandwidth({ device: 'cpu', bytes: 1024 * 2 ** 20 });
const weights = graphWeightBytes(join(model.dir, model.manifest.graphs.decoder));
const bytes = decodeStepBytes({ weights, device: 'cpu', config: decoder, dtype: model.manifest.dtype, contextTokens: context + Math.floor(steps / 2) });
const floor = decodeFloor(bytes.total, bandwidth.bytesPerSecond);
console.log(`decode floor: ${(bytes.total / 2 ** 30).toFixed(2)} GiB per token at ${(bandwidth.bytesPerSecond / 1e9).toFixed(1)} GB/s = ${floor.tokensPerSecond.toFixed(2)} tok/s\n`);
console.log('| method (one row, graph-side edit) | prefill ms | × none | decode ms/step | tok/s | × none (time) | % of floor |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
variants.forEach((v, i) => {
  const decode = median(decodeMs[i]);
  const label = v.spec === 'none' ? 'none (baseline)' : describeMethodRow(v.row);
  const cells = [label, median(prefillMs[i]).toFixed(0), pairedRatio(prefillMs[i], prefillMs[0]).toFixed(3), decode.toFixed(1), (1000 / decode).toFixed(2)];
  cells.push(pairedRatio(decodeMs[i], decodeMs[0]).toFixed(3), `${((1000 / decode / floor.tokensPerSecond) * 100).toFixed(0)}%`);
  console.log(`| ${cells.join(' | ')} |`);
});

// 2. Whole answers, contrast rows included (the first spec is the reference of the ratios).
const answers = (process.env.ANSWERS ?? ['none', ...ATTENTION_METHODS.map((m) => m.name), 'var+vcd'].join(',')).split(',').filter(Boolean);
if (answers.length > 0) {
  const wall = answers.map(() => []);
  const generated = answers.map(() => []);
  for (let r = 0; r < runs + 1; r++) {
    for (let k = 0; k < answers.length; k++) {
      const i = (k + r) % answers.length;
      const again = await model.prepare({ question, images: [image] });
      const t0 = performance.now();
      const [result] = await collect(model.generate(again, { rows: [rowOf(answers[i])], maxNewTokens: tokens, logProbs: false, topLogits: 0 }));
      if (r === 0) continue;
      wall[i].push(performance.now() - t0 + again.visionMs);
      generated[i].push(result.ids.length);
    }
  }
  console.log(`\n| method (whole answer: vision + prefill + up to ${tokens} tokens) | batch rows | tokens | ms | × ${answers[0]} |`);
  console.log('|---|---:|---:|---:|---:|');
  answers.forEach((spec, i) => {
    const rows = Math.max(1, ...parseMethods(spec).map((m) => m.batchRows));
    console.log(`| ${spec} | ${rows} | ${median(generated[i])} | ${median(wall[i]).toFixed(0)} | ${pairedRatio(wall[i], wall[0]).toFixed(3)} |`);
  });
}
console.log(`\n${runs} run(s) after one warm-up; ${steps} decode steps per run; medians; ratios are medians of paired ratios (same run).`);
await model.close();
