// Decode step time vs context, VAR off vs VAR on interleaved step by step (order rotated, 20 ms settle), against the
// floor: (decoder weights as stored + the KV cache at the context) ÷ the read bandwidth measured in the same run.
// The KV cache is synthetic (no prefill), so long contexts cost seconds, not minutes; a 576-token image after 5 text
// tokens, BOS and 3 image tokens flagged as sinks in layers ≥ 2, ρ = m = 0 so every head with a visual sink is
// redistributed (VAR's most work). From apps/cli:
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/decode-context.mjs <model-dir>
//   CTX=64,650,1024,2048 (contexts) PAIRS=8 (interleaved off/on pairs per context)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { graphWeightBytes, kvCacheBytes, measureReadBandwidth } from '@vasink/runtime';
const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: decode-context.mjs <converted model dir>');
const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
const file = `${dir}/${manifest.graphs.decoder}`;
const stored = graphWeightBytes(file).total;
const s = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
const rssAfterLoad = process.memoryUsage().rss;
const { numLayers: L, numKvHeads: kv, headDim: hd, hiddenSize: D } = manifest.decoder;
const dtype = manifest.dtype;
const IMG0 = 5, IMG = 576;
const sinkDims = manifest.sink.dims ?? [0];
const mrope = manifest.decoder.rope.type === 'mrope';
const floats = (data, dims) => (dtype === 'float16' ? new ort.Tensor('float16', Uint16Array.from(data, () => 0x2e66), dims) : new ort.Tensor('float32', data, dims));
const feeds = (total, varOn) => {
  const P = total - 1;
  const image = new Uint8Array(total).map((_, t) => (t >= IMG0 && t < IMG0 + IMG ? 1 : 0));
  const flags = new Uint8Array(L * P);
  for (let l = 2; l < L; l++) for (const t of [0, IMG0 + 52, IMG0 + 236, IMG0 + 467]) if (t < P) flags[l * P + t] = 1;
  const f = {
    inputs_embeds: floats(new Float32Array(D).map((_, i) => Math.sin(i) * 0.5), [1, 1, D]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    position_ids: mrope ? new ort.Tensor('int64', BigInt64Array.of(BigInt(P), BigInt(P), BigInt(P)), [3, 1, 1]) : new ort.Tensor('int64', BigInt64Array.of(BigInt(P)), [1, 1]),
    past_sink_flags: new ort.Tensor('uint8', flags, [L, 1, P]),
    var_detect: new ort.Tensor('bool', Uint8Array.of(0), []),
    var_image_mask: new ort.Tensor('uint8', image, [1, total]),
    var_query_mask: new ort.Tensor('uint8', Uint8Array.of(1), [1, 1]),
    // ρ = m = 0: every head with a visual sink is redistributed (the most VAR work there can be).
    var_params: new ort.Tensor('float32', Float32Array.of(20, 0, 0.6, 0), [1, 4]),
    var_layers: new ort.Tensor('uint8', new Uint8Array(L).map((_, l) => (varOn && l >= 2 && l < L - 1 ? 1 : 0)), [1, L]),
    var_sink_dims: new ort.Tensor('int64', BigInt64Array.from(sinkDims, BigInt), [sinkDims.length]),
  };
  const past = floats(new Float32Array(kv * P * hd).map((_, i) => Math.sin(i * 0.37) * 0.3), [1, kv, P, hd]);
  const empty = floats(new Float32Array(0), [1, kv, 0, hd]);
  for (let l = 0; l < L; l++) { f[`past_key_values.${l}.key`] = past; f[`past_key_values.${l}.value`] = past; f[`recent_key_values.${l}.key`] = empty; f[`recent_key_values.${l}.value`] = empty; }
  return f;
};
const bw = await measureReadBandwidth({});
const median = (a) => { const b = [...a].sort((x, y) => x - y); return b[b.length >> 1]; };
console.log(`decoder weights as stored ${(stored / 2 ** 30).toFixed(2)} GiB; RSS after load ${(rssAfterLoad / 2 ** 30).toFixed(2)} GiB; read bandwidth ${(bw.bytesPerSecond / 1e9).toFixed(1)} GB/s`);
console.log('| context | VAR off ms/step | VAR on ms/step | on/off (paired median) | bytes/step (weights + KV) | floor ms | off: % of floor | on: % of floor |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const total of (process.env.CTX ?? '64,650,1024,2048').split(',').map(Number)) {
  const fo = feeds(total, false), fn = feeds(total, true);
  await s.run(fo); await s.run(fn);
  const off = [], on = [];
  for (let i = 0; i < Number(process.env.PAIRS ?? 8); i++) {
    for (const which of i % 2 ? ['on', 'off'] : ['off', 'on']) {
      await new Promise((r) => setTimeout(r, 20));
      const a = performance.now(); await s.run(which === 'on' ? fn : fo); (which === 'on' ? on : off).push(performance.now() - a);
    }
  }
  const kvBytes = kvCacheBytes(manifest.decoder, dtype, total - 1);
  const bytes = stored + kvBytes;
  const floor = (bytes / bw.bytesPerSecond) * 1000;
  const mOff = median(off), mOn = median(on);
  console.log(`| ${total} | ${mOff.toFixed(0)} | ${mOn.toFixed(0)} | ${median(on.map((x, i) => x / off[i])).toFixed(3)} | ${(bytes / 2 ** 30).toFixed(2)} GiB | ${floor.toFixed(0)} | ${((100 * floor) / mOff).toFixed(0)} % | ${((100 * floor) / mOn).toFixed(0)} % |`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`);
