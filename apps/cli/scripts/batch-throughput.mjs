// Continuous batching, measured: a benchmark script, not a test. From apps/cli (after a build, for `serve`):
//
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/batch-throughput.mjs eval <model dir>
//     ITEMS=16 TOKENS=96 BATCHES=1,2,4,8 COMPARE=1 — items/s of `vasink eval pope --compare --batch B` (one load, the
//     same items per batch size, answers checked equal to --batch 1), with the decoder's mean rows per step
//
//   node --conditions=@vasink/source --import ../../tooling/scripts/run-source.mjs scripts/batch-throughput.mjs serve <model dir>
//     CLIENTS=8 REQUESTS=3 TOKENS=64 BATCHES=1,8 — `vasink serve --max-batch B` in a child process per B, CLIENTS streaming
//     clients with REQUESTS requests each: aggregate tokens/s, first-token latency p50/p99, errors, the server's peak RSS
//     (SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the server)
//
// Both print one markdown table; ratios are against the first batch size, measured in the same run.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { llavaFamily } from '@vasink/adapter-llava';
import { qwen2vlFamily } from '@vasink/adapter-qwen2-vl';
import { getBenchmark, readPredictions, runEvaluation } from '@vasink/eval';
import { createRgbImage, encodePng } from '@vasink/image';
import { VisionLanguageModel } from '@vasink/runtime';
import { resolveVarConfig } from '@vasink/var';
import { answerWithModel } from '../src/commands/eval.ts';

const [mode, dir] = process.argv.slice(2);
if (!['eval', 'serve'].includes(mode) || !dir) throw new Error('usage: batch-throughput.mjs eval|serve <model dir>');
const batches = (process.env.BATCHES ?? (mode === 'eval' ? '1,2,4,8' : '1,8')).split(',').map(Number);
const tokens = Number(process.env.TOKENS ?? (mode === 'eval' ? 96 : 64));
const gib = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const scratch = mkdtempSync(join(tmpdir(), 'vasink-batch-bench-'));
const sample = new URL('../assets/sample.png', import.meta.url).pathname;

/** Images that differ (so do the answers): the sample and three gradients. */
async function writeImages(folder) {
  mkdirSync(folder, { recursive: true });
  const names = [];
  copyFileSync(sample, join(folder, 'COCO_val2014_000000000000.png'));
  names.push('COCO_val2014_000000000000.png');
  for (let k = 1; k < 4; k++) {
    const [w, h] = [64 + 40 * k, 96 - 12 * k];
    const data = new Uint8Array(w * h * 3).map((_, i) => ((i * (k + 3)) ^ (i >> 7)) & 255);
    const name = `COCO_val2014_00000000000${k}.png`;
    writeFileSync(join(folder, name), await encodePng(createRgbImage(w, h, data)));
    names.push(name);
  }
  return names;
}

async function evalMode() {
  const itemsWanted = Number(process.env.ITEMS ?? 16);
  const compare = process.env.COMPARE !== '0';
  const data = join(scratch, 'pope');
  const images = await writeImages(join(scratch, 'images'));
  mkdirSync(data);
  const objects = ['dog', 'house', 'tree', 'car', 'person', 'cup', 'chair', 'bird', 'boat', 'clock', 'bench', 'kite'];
  const perCategory = Math.ceil(itemsWanted / 3);
  for (const category of ['random', 'popular', 'adversarial']) {
    const lines = Array.from({ length: perCategory }, (_, i) => JSON.stringify({
      question_id: i + 1,
      image: images[(i + category.length) % images.length],
      text: `Is there a ${objects[(i * 5 + category.length) % objects.length]} in the image? Describe everything you see in detail.`,
      label: i % 2 ? 'yes' : 'no',
    }));
    writeFileSync(join(data, `coco_pope_${category}.json`), `${lines.join('\n')}\n`);
  }
  const benchmark = getBenchmark('pope');
  const items = benchmark.load({ data, images: join(scratch, 'images') }).items.slice(0, itemsWanted);
  const rows = compare ? [{ name: 'base' }, { name: 'var', settings: { ...resolveVarConfig({}) } }] : [{ name: 'var', settings: { ...resolveVarConfig({}) } }];
  const maxBatch = Math.max(...batches);
  const started = performance.now();
  const model = await VisionLanguageModel.load(dir, { families: [llavaFamily, qwen2vlFamily], device: 'cpu', maxBatchRows: maxBatch * rows.length, memory: { contextTokens: 1024 + tokens } });
  process.stderr.write(`loaded ${dir} in ${((performance.now() - started) / 1000).toFixed(1)} s; ${items.length} items × ${rows.length} rows, ${tokens} new tokens\n`);
  const results = [];
  let reference;
  for (const batch of batches) {
    const out = join(scratch, `run-${batch}`);
    const before = model.batchStats ?? { decodeSteps: 0, rowSteps: 0 };
    const t0 = performance.now();
    await runEvaluation({ benchmark, items, out, rows, answer: answerWithModel(model, rows, tokens), concurrency: batch, score: false, fsync: 'never' });
    const seconds = (performance.now() - t0) / 1000;
    const after = model.batchStats;
    const answers = Object.fromEntries(rows.flatMap((row) => readPredictions(join(out, 'predictions', `${row.name}.jsonl`)).predictions.map((p) => [`${row.name}/${p.id}`, `${p.tokens}:${p.text}`])));
    const generated = Object.values(answers).reduce((n, a) => n + Number(a.split(':')[0]), 0);
    reference ??= answers;
    const same = Object.keys(reference).every((key) => reference[key] === answers[key]);
    results.push({ batch, seconds, generated, same, occupancy: (after.rowSteps - before.rowSteps) / Math.max(1, after.decodeSteps - before.decodeSteps) });
    process.stderr.write(`batch ${batch}: ${seconds.toFixed(1)} s\n`);
  }
  await model.close();
  const base = results[0];
  console.log(`\n${items.length} items × ${rows.length} row(s) (${rows.map((r) => r.name).join(' + ')}), up to ${tokens} new tokens, ${dir}\n`);
  console.log('| --batch | wall s | items/s | × batch 1 | tokens generated | tokens/s | rows per decode step | answers = batch 1 |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|:--|');
  for (const r of results) {
    console.log(`| ${r.batch} | ${r.seconds.toFixed(1)} | ${(items.length / r.seconds).toFixed(3)} | ${(base.seconds / r.seconds).toFixed(2)} | ${r.generated} | ${(r.generated / r.seconds).toFixed(1)} | ${r.occupancy.toFixed(2)} | ${r.same ? 'yes' : 'NO'} |`);
  }
  console.log(`\npeak RSS of this process: ${gib(Number(readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1]) * 1024)}`);
}

async function serveMode() {
  const clients = Number(process.env.CLIENTS ?? 8);
  const requests = Number(process.env.REQUESTS ?? 3);
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const image = `data:image/png;base64,${readFileSync(sample).toString('base64')}`;
  const questions = ['Describe the image in detail.', 'What is in the corner?', 'Name every colour you see.', 'Is there a square? Explain.'];
  const results = [];
  for (const batch of batches) {
    const child = spawn(process.execPath, [...(process.env.SERVE_NODE_ARGS ? process.env.SERVE_NODE_ARGS.split(' ') : []), cli, 'serve', '--model', dir, '--port', '0', '--max-batch', String(batch), '--max-queue', String(clients * requests), '--timeout', '3600'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const url = await new Promise((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        log += chunk;
        const match = log.match(/at (http:\/\/\S+)/);
        if (match && /model loaded: ready/.test(log)) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
    });
    let errors = 0;
    let generated = 0;
    const ttft = [];
    const ask = async (c, r) => {
      const sent = performance.now();
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: basename(dir),
          stream: true,
          max_tokens: tokens,
          temperature: 0,
          var: (c + r) % 2 === 0 ? false : { preset: 'general' },
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: questions[(c + r) % questions.length] }] }],
        }),
      });
      if (!res.ok || !res.body) {
        errors++;
        return;
      }
      let text = '';
      let seen = 0;
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        text += decoder.decode(chunk, { stream: true });
        // The first event with generated text (the opening one carries the role only).
        if (seen >= 0) {
          const events = text.split('\n\n');
          for (; seen < events.length - 1; seen++) {
            const data = events[seen].replace(/^data: /, '');
            if (data === '[DONE]' || !data.startsWith('{')) continue;
            if (JSON.parse(data).choices?.[0]?.delta?.content) {
              ttft.push(performance.now() - sent);
              seen = -Infinity;
              break;
            }
          }
        }
      }
      const usage = text.match(/"completion_tokens":(\d+)/);
      if (!usage || text.includes('"error"')) errors++;
      else generated += Number(usage[1]);
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < requests; r++) await ask(c, r).catch(() => errors++);
    }));
    const seconds = (performance.now() - t0) / 1000;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const metric = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    const rss = Number(readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]) * 1024;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    results.push({ batch, seconds, generated, errors, ttft, rss, occupancy: metric('vasink_decode_row_steps') / metric('vasink_decode_steps') });
    process.stderr.write(`max-batch ${batch}: ${seconds.toFixed(1)} s, ${generated} tokens, ${errors} errors\n`);
  }
  const base = results[0];
  console.log(`\n${clients} streaming clients × ${requests} requests, up to ${tokens} tokens each (VAR on for half), ${dir}\n`);
  console.log('| --max-batch | wall s | tokens | aggregate tokens/s | × max-batch 1 | first token p50 ms | p99 ms | rows per decode step | errors | server peak RSS |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const rate = r.generated / r.seconds;
    console.log(`| ${r.batch} | ${r.seconds.toFixed(1)} | ${r.generated} | ${rate.toFixed(1)} | ${(rate / (base.generated / base.seconds)).toFixed(2)} | ${Math.round(percentile(r.ttft, 50))} | ${Math.round(percentile(r.ttft, 99))} | ${r.occupancy.toFixed(2)} | ${r.errors} | ${gib(r.rss)} |`);
  }
}

try {
  await (mode === 'eval' ? evalMode() : serveMode());
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
