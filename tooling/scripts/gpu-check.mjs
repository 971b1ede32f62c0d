#!/usr/bin/env node
// One-command GPU check (`pnpm gpu-check`), for a Linux x64 machine with an NVIDIA GPU, CUDA 13 and cuDNN:
//   1. puts the CUDA execution provider of onnxruntime 1.29 beside onnxruntime-node's binding (from npm package
//      com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, or from --provider-dir / $VASINK_CUDA_PROVIDER_DIR);
//   2. CPU-vs-CUDA parity on the tiny LLaVA checkpoint (float32, float16 and int4; base vs each of VAR, PAI, VAF, VCD:
//      greedy tokens and first-step logits);
//   3. `vasink bench` on the real-shape LLaVA-1.5-7B checkpoint in float16 and int4 on CUDA (and int4 on the CPU);
//   4. prints one table. Work files go to --work (default /tmp/vasink-gpu-check), removed unless --keep.
// Flags: --skip-7b (parity only), --context 650,2048, --decode 32.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    work: { type: 'string', default: join(tmpdir(), 'vasink-gpu-check') },
    'provider-dir': { type: 'string' },
    'skip-7b': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    context: { type: 'string', default: '650,2048' },
    decode: { type: 'string', default: '32' },
  },
});
const cli = join(root, 'apps/cli/dist/cli.js');
const work = values.work;
mkdirSync(work, { recursive: true });
const rows = [];
const log = (line) => process.stderr.write(`gpu-check: ${line}\n`);

function vasink(args, { json = false } = {}) {
  log(`vasink ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) throw new Error(`vasink ${args[0]} failed (exit ${result.status})`);
  return json ? JSON.parse(result.stdout) : result.stdout;
}

// 1. The CUDA provider.
const require = createRequire(join(root, 'packages/runtime/package.json'));
const bindingDir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin/napi-v6/linux/x64');
const wanted = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
if (wanted.some((name) => !existsSync(join(bindingDir, name)))) {
  let source = values['provider-dir'] ?? process.env.VASINK_CUDA_PROVIDER_DIR;
  if (!source) {
    const unpack = mkdtempSync(join(tmpdir(), 'vasink-cuda-provider-'));
    log('fetching com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (onnxruntime 1.29, CUDA 13) from npm');
    const tarball = execFileSync('npm', ['pack', 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9', '--silent'], { cwd: unpack, encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', tarball], { cwd: unpack });
    source = unpack;
  }
  const found = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (wanted.includes(entry.name)) found.set(entry.name, path);
    }
  };
  walk(source);
  for (const name of wanted) {
    if (!found.has(name)) throw new Error(`${name} not found under ${source}`);
    copyFileSync(found.get(name), join(bindingDir, name));
  }
  log(`installed ${wanted.join(', ')} into ${bindingDir}`);
}

// 2. Parity on the tiny checkpoint.
const tiny = join(work, 'tiny-hf');
if (!existsSync(join(tiny, 'config.json'))) vasink(['fixture', 'llava', tiny]);
const sample = join(root, 'apps/cli/assets/sample.png');
for (const [name, flags] of [['fp32', []], ['fp16', ['--dtype', 'fp16']], ['int4', ['--quant', 'int4']]]) {
  const model = join(work, `tiny-${name}`);
  if (!existsSync(join(model, 'manifest.json'))) vasink(['convert', tiny, model, '--force', ...flags]);
  // Every attention method (base vs the method, --compare), CPU vs CUDA.
  for (const method of ['var', 'pai', 'vaf', 'vcd']) {
    const record = (device) =>
      vasink(['generate', '--model', model, '--image', sample, '--prompt', 'What is in the image?', '--max-new-tokens', '16', '--compare', '--method', method, '--json', '--device', device], { json: true });
    const cpu = record('cpu');
    const cuda = record('cuda');
    const same = cpu.rows.every((row, i) => JSON.stringify(row.ids) === JSON.stringify(cuda.rows[i].ids));
    let worst = 0;
    cpu.rows.forEach((row, i) =>
      row.steps[0].top5.forEach((t, k) => (worst = Math.max(worst, Math.abs(t.logit - cuda.rows[i].steps[0].top5[k].logit) / Math.max(1e-6, Math.abs(t.logit))))),
    );
    rows.push({ check: `tiny ${name} ${method} CPU vs CUDA`, result: `${same ? 'same' : 'DIFFERENT'} greedy tokens (2 rows × 16); first-step top-5 logits rel. diff ${worst.toExponential(2)}` });
  }
}

// 3. Real shape.
if (!values['skip-7b']) {
  const hf = join(work, 'llava-7b-hf');
  if (!existsSync(join(hf, 'config.json'))) vasink(['fixture', 'llava', hf, '--size', '7b']);
  for (const [name, flags, devices] of [['fp16', ['--dtype', 'fp16'], ['cuda']], ['int4', ['--quant', 'int4'], ['cuda', 'cpu']]]) {
    const model = join(work, `llava-7b-${name}`);
    if (!existsSync(join(model, 'manifest.json'))) vasink(['convert', hf, model, '--force', ...flags]);
    for (const device of devices) {
      const bench = vasink(['bench', '--model', model, '--device', device, '--context', values.context, '--decode', values.decode, '--json'], { json: true });
      rows.push({ check: `7B ${name} bench on ${device}`, result: JSON.stringify(bench) });
    }
    if (!values.keep) rmSync(model, { recursive: true, force: true });
  }
}

console.log('| check | result |\n|---|---|');
for (const row of rows) console.log(`| ${row.check} | ${row.result} |`);
if (!values.keep) rmSync(work, { recursive: true, force: true });
