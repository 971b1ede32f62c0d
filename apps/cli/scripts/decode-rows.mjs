// Decoder cost vs rows in the batch: one request's prompt repeated in N rows, prefill once, then decode steps,
// median ms per step and per row. Shows where batching stops paying (compute- instead of bandwidth-bound). From apps/cli:
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/decode-rows.mjs <model dir>
//   ROWS=1,2,4,8,16 STEPS=20 VAR=0|1
import { readFileSync } from 'node:fs';
import { llavaFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import { decodeImage } from '@vasink/image';
import { VisionLanguageModel } from '@vasink/runtime';
import { resolveVarConfig } from '@vasink/var';

const dir = process.argv[2];
if (!dir) throw new Error('usage: decode-rows.mjs <model dir>');
const steps = Number(process.env.STEPS ?? 20);
const settings = process.env.VAR === '1' ? { var: resolveVarConfig({}) } : {};
const model = await VisionLanguageModel.load(dir, { families: [llavaFamily, qwen2vlFamily], device: 'cpu', memory: false });
const image = await decodeImage(readFileSync(new URL('../assets/sample.png', import.meta.url)));
const prepared = await model.prepare({ question: 'Describe the image in detail.', images: [image] });
const q = model.manifest.quantization;
console.log(`\n${dir} (${model.manifest.dtype}${q ? ` + ${q.scheme}, block ${q.blockSize}, accuracy level ${q.accuracyLevel}` : ''}), ${prepared.prompt.inputIds.length}-token prompt, VAR ${settings.var ? 'on' : 'off'}\n`);
console.log('| rows | prefill s | prefill s per row | decode ms/step (median) | ms per row | × rows=1 per row |');
console.log('|---:|---:|---:|---:|---:|---:|');
let single;
for (const rows of (process.env.ROWS ?? '1,2,4,8,16').split(',').map(Number)) {
  const step = await model.decoderStep(prepared, { rows: Array.from({ length: rows }, () => settings) });
  const t0 = performance.now();
  await step.prefill({});
  const prefill = (performance.now() - t0) / 1000;
  const times = [];
  const all = Array.from({ length: rows }, (_, r) => r);
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    await step.decode({ rows: all, ids: all.map(() => 29871), finished: [] });
    times.push(performance.now() - t);
  }
  await step.dispose?.();
  const median = [...times].sort((a, b) => a - b)[times.length >> 1];
  single ??= median;
  console.log(`| ${rows} | ${prefill.toFixed(1)} | ${(prefill / rows).toFixed(2)} | ${median.toFixed(1)} | ${(median / rows).toFixed(1)} | ${(single / (median / rows)).toFixed(2)} |`);
}
await model.close();
