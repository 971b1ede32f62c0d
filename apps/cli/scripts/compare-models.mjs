// Decode speed of several converted models of one checkpoint (e.g. fp32, int8, int4) in ONE process: each loads, runs
// vision + prefill of the same request, then their decode steps alternate (order rotated per step, 20 ms settle), so
// the paired per-step ratios against the first model hold up on a busy machine. From apps/cli:
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/compare-models.mjs <dir> <dir>…
//   STEPS=24 (decode steps per model)
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { llavaFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import { decodeImage } from '@vasink/image';
import { VisionLanguageModel, argmax } from '@vasink/runtime';

const dirs = process.argv.slice(2);
if (dirs.length === 0) throw new Error('usage: compare-models.mjs <model dir> <model dir>…');
const steps = Number(process.env.STEPS ?? 24);
const image = await decodeImage(readFileSync(new URL('../assets/sample.png', import.meta.url)));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const runs = [];
for (const dir of dirs) {
  const started = performance.now();
  const model = await VisionLanguageModel.load(dir, { families: [llavaFamily, qwen2vlFamily], device: 'cpu', memory: false });
  const loadS = (performance.now() - started) / 1000;
  const prepared = await model.prepare({ question: 'Describe the image in detail.', images: [image] });
  const step = await model.decoderStep(prepared, { rows: [{}] });
  const prefillStart = performance.now();
  const prefill = await step.prefill({});
  const prefillMs = performance.now() - prefillStart;
  const q = model.manifest.quantization;
  runs.push({ name: `${basename(dir)} (${model.manifest.dtype}${q ? ` + ${q.scheme}` : ''})`, step, last: argmax(prefill.logits[0]), loadS, visionMs: prepared.visionMs, prefillMs, tokens: prepared.prompt.inputIds.length, imageTokens: prepared.images.tokensPerImage[0], times: [] });
  process.stderr.write(`${basename(dir)}: loaded in ${loadS.toFixed(1)} s, RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB\n`);
}
for (let s = 0; s < steps; s++) {
  for (let i = 0; i < runs.length; i++) {
    const run = runs[(i + s) % runs.length];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const out = await run.step.decode({ rows: [0], ids: [run.last] });
    run.times.push(performance.now() - started);
    run.last = argmax(out.logits[0]);
  }
}
console.log(`| model | load s | vision ms | prefill ms (tokens) | decode ms/token | tok/s | decode speed vs first (paired median) |`);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const run of runs) {
  const ratio = median(run.times.map((t, i) => runs[0].times[i] / t));
  console.log(`| ${run.name} | ${run.loadS.toFixed(1)} | ${run.visionMs.toFixed(0)} | ${run.prefillMs.toFixed(0)} (${run.tokens}, ${run.imageTokens} image) | ${median(run.times).toFixed(1)} | ${(1000 / median(run.times)).toFixed(2)} | ${ratio.toFixed(2)}× |`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
