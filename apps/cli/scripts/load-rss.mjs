// Peak and settled RSS of loading a converted model's decoder under onnxruntime session options, one fresh
// process per option set (RSS is per process), and the first decode step's time under each. From apps/cli:
//   node scripts/load-rss.mjs <model dir> [names…]      (names: default, no-arena, no-prepack, device-allocator, lean)
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OPTIONS = {
  default: {},
  'no-arena': { enableCpuMemArena: false },
  'no-prepack': { extra: { session: { disable_prepacking: '1' } } },
  'device-allocator': { extra: { session: { use_device_allocator_for_initializers: '1' } } },
  lean: { enableCpuMemArena: false, extra: { session: { use_device_allocator_for_initializers: '1' } } },
};

const [dir, ...names] = process.argv.slice(2);
if (process.env.LOAD_RSS_CHILD) {
  const ort = await import('onnxruntime-node');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const status = () => Object.fromEntries(readFileSync('/proc/self/status', 'utf8').split('\n').filter((l) => /^(Vm(HWM|RSS)|Rss(Anon|File)):/.test(l)).map((l) => [l.split(':')[0], Number(l.split(/\s+/)[1]) * 1024]));
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(join(dir, manifest.graphs.decoder), { executionProviders: ['cpu'], ...OPTIONS[process.env.LOAD_RSS_CHILD] });
  const loadMs = performance.now() - t0;
  const afterLoad = status();
  // One decode-shaped run (a 1-token prompt, empty cache) so prepacked kernels are exercised.
  const { hiddenSize: d, numLayers: L, numKvHeads: kv, headDim: hd } = manifest.decoder;
  const feeds = {};
  for (const name of session.inputNames) {
    if (name === 'inputs_embeds') feeds[name] = new ort.Tensor('float32', new Float32Array(d).fill(0.01), [1, 1, d]);
    else if (name === 'attention_mask' || name === 'position_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.of(name === 'attention_mask' ? 1n : 0n), [1, 1]);
    else if (name.startsWith('past_key_values') || name.startsWith('recent_key_values')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, kv, 0, hd]);
    else if (name === 'image_mask') feeds[name] = new ort.Tensor('uint8', Uint8Array.of(0), [1, 1]);
    else if (name === 'past_sink_flags') feeds[name] = new ort.Tensor('uint8', new Uint8Array(0), [L, 1, 0]);
    else if (name === 'var_detect') feeds[name] = new ort.Tensor('bool', Uint8Array.of(1), []);
    else if (name === 'var_query_mask') feeds[name] = new ort.Tensor('uint8', Uint8Array.of(0), [1, 1]);
    else if (name === 'var_params') feeds[name] = new ort.Tensor('float32', Float32Array.of(20, 0.8, 0.6, 0.2), [1, 4]);
    else if (name === 'var_layers') feeds[name] = new ort.Tensor('uint8', new Uint8Array(L), [1, L]);
    else if (name === 'var_sink_dims') feeds[name] = new ort.Tensor('int64', BigInt64Array.of(0n), [1]);
    else if (name === 'pai_alpha') feeds[name] = new ort.Tensor('float32', new Float32Array(L), [1, L]);
    else if (name === 'vaf_scales') feeds[name] = new ort.Tensor('float32', new Float32Array(2 * L), [1, L, 2]);
    else throw new Error(`unknown input ${name}`);
  }
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await session.run(feeds);
    runs.push(performance.now() - t);
  }
  console.log(JSON.stringify({ loadMs, afterLoad, afterRun: status(), runMs: runs }));
  process.exit(0);
}

const weights = statSync(join(dir, 'weights.bin')).size;
const GiB = 2 ** 30;
console.log(`\n${dir}: weights.bin ${(weights / GiB).toFixed(2)} GiB\n`);
console.log('| session options | load s | RSS after load GiB | × weights | of which anonymous | file-backed (clean pages of the weight file) | peak (VmHWM) GiB | × weights | 1-token run ms (3rd) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of names.length > 0 ? names : Object.keys(OPTIONS)) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), dir], { env: { ...process.env, LOAD_RSS_CHILD: name }, encoding: 'utf8', maxBuffer: 2 ** 24 });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  const rss = r.afterLoad.VmRSS;
  const peak = r.afterRun.VmHWM;
  const anon = r.afterLoad.RssAnon;
  const file = r.afterLoad.RssFile;
  console.log(
    `| ${name} ${JSON.stringify(OPTIONS[name])} | ${(r.loadMs / 1000).toFixed(1)} | ${(rss / GiB).toFixed(2)} | ${(rss / weights).toFixed(2)} | ${(anon / GiB).toFixed(2)} (${(anon / weights).toFixed(2)}×) | ${(file / GiB).toFixed(2)} | ${(peak / GiB).toFixed(2)} | ${(peak / weights).toFixed(2)} | ${r.runMs[2].toFixed(0)} |`,
  );
}
