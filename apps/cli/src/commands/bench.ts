import { join } from 'node:path';
import { decodeImage } from '@vasink/image';
import {
  type AttentionMethod,
  type DecoderStep,
  type Device,
  type PreparedRequest,
  type ReadBandwidth,
  type RowSettings,
  type VisionLanguageModel,
  argmax,
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
import { VasinkError } from '@vasink/tensor';
import { type VarConfig, resolveVarConfig } from '@vasink/var';
import { progressBar } from '../lib/progress.js';
import { UsageError, intListFlag, numberFlag, parseCommand } from '../lib/usage.js';
import { sampleImagePath } from './demo.js';
import { openModel } from './model-flags.js';

const HELP = `usage: vasink bench --model <dir> [options]

Measure a converted model on this machine, like llama.cpp's llama-bench: load
time, vision ms per image, prefill and decode tokens/s at chosen context
lengths with VAR off and on (general preset) measured side by side in one run,
memory (RSS after load, peak RSS), and the decode floor — the bytes one decode
step must read (decoder weights as stored + the KV cache at that context)
divided by the read bandwidth measured here by onnxruntime GEMV probes (one
before loading, one after closing the model; the higher counts).
Prints one table (--json: one record); progress goes to stderr.

  --model <dir>          a converted model directory (vasink convert)
  --context <n,n,…>      prompt lengths in tokens to prefill and decode from (default: the
                         natural prompt, image + question); longer ones are reached with
                         filler text before the question
  --decode <n>           decode steps timed per run and context, never stopping at EOS (default 32)
  --runs <n>             timed runs per context (each: prefill, then the decode steps), after
                         one warm-up; medians over runs (prefill) and runs × steps (decode) (default 3)
  --image <file>         the image (default: the bundled sample picture)
  --prompt <text>        the question (default "Describe the image in detail.")
  --device <d>           auto (default) | cuda | cpu
  --threads <n>          onnxruntime intra-op threads
  --method <m>           the method timed against off: var (default, general preset), pai, vaf, vcd
                         or several joined by + (var+vcd); a method with a contrast (pai, vcd) is
                         timed as its decoder rows: its own and a second row of the same prompt
  --sink-dims <a,b>      sink dimensions for VAR on (models without known ones: else VAR is skipped)
  --settle <ms>          idle before each timed call, so onnxruntime's spinning threads park (default 20)
  --probe-mib <n>        size of the bandwidth probe's matrix (default 1024)
  --json                 print one machine-readable record

VAR off and on are two decoder steps over the same session, each with its own KV
cache, alternating step by step with the order rotated; "on/off" is the median
of the paired per-step (per-run for prefill) time ratios: 1.05 = VAR costs 5 %.
Decode tok/s = 1000 / the median step ms (the KV cache's merge, one full copy
every 64 tokens, is not in it). The floor counts the KV cache at the middle of
the timed steps.
`;

export const BENCH_FLAGS = {
  model: { type: 'string' },
  context: { type: 'string' },
  decode: { type: 'string' },
  runs: { type: 'string' },
  image: { type: 'string' },
  prompt: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  'sink-dims': { type: 'string' },
  method: { type: 'string' },
  settle: { type: 'string' },
  'probe-mib': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const DEFAULT_QUESTION = 'Describe the image in detail.';
const MiB = 2 ** 20;

/** Timings of one variant (VAR off or on) at one context. */
interface VariantTimes {
  readonly ms: number[];
  readonly medianMs: number;
  readonly tokensPerSecond: number;
}

/** A decoder step driven greedily, never stopping: every row is fed row 0's choice (as a contrast's two rows are). */
function drive(step: DecoderStep<unknown>, rows = 1) {
  const all = Array.from({ length: rows }, (_, r) => r);
  let logits: Float32Array | undefined;
  let decoded = 0;
  return {
    prefill: async () => {
      logits = (await step.prefill({})).logits[0];
    },
    decode: async () => {
      if (!logits) throw new VasinkError('decode before prefill', { code: 'BENCH_ORDER' });
      const next = argmax(logits);
      logits = (await step.decode({ rows: all, ids: all.map(() => next), finished: [] })).logits[0];
      decoded++;
    },
    get decoded() {
      return decoded;
    },
    dispose: async () => step.dispose?.(),
  };
}

/**
 * The request's images with filler words before the question, so that the
 * prompt is exactly `tokens` long. Word count and token count move together
 * (" the" is one token in LLaMA's and Qwen2's vocabularies); a few corrections
 * absorb the edges.
 */
async function promptOfLength(model: VisionLanguageModel, natural: PreparedRequest, question: string, tokens: number): Promise<PreparedRequest> {
  const naturalTokens = natural.prompt.inputIds.length;
  if (tokens === naturalTokens) return natural;
  let words = tokens - naturalTokens;
  const tried = new Map<number, number>();
  for (let attempt = 0; attempt < 12 && words > 0 && !tried.has(words); attempt++) {
    const candidate = await model.reprompt(natural, { question: `${'the '.repeat(words).trim()}\n${question}` });
    const length = candidate.prompt.inputIds.length;
    if (length === tokens) return candidate;
    tried.set(words, length);
    words += tokens - length;
  }
  throw new VasinkError(`could not build a prompt of exactly ${tokens} tokens from filler text (the natural prompt has ${naturalTokens})`, { code: 'BENCH_CONTEXT', exposure: 'input' });
}

const times = (ms: number[], tokens: number): VariantTimes => {
  const m = median(ms);
  return { ms: ms.map((x) => +x.toFixed(3)), medianMs: m, tokensPerSecond: (tokens * 1000) / m };
};

export async function runBench(args: string[]): Promise<number> {
  const parsed = parseCommand(args, BENCH_FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  if (values.model === undefined || values.model === '') throw new UsageError('--model is required (see --help)');
  const decodeSteps = numberFlag(values.decode, 'decode', { integer: true, min: 1 }) ?? 32;
  const runs = numberFlag(values.runs, 'runs', { integer: true, min: 1 }) ?? 3;
  const settleMs = numberFlag(values.settle, 'settle', { min: 0 }) ?? 20;
  const probeMiB = numberFlag(values['probe-mib'], 'probe-mib', { min: 1 }) ?? 1024;
  let methods: AttentionMethod[];
  try {
    methods = parseMethods(values.method ?? 'var');
  } catch (error) {
    throw new UsageError(`--method: ${(error as Error).message}`);
  }
  if (methods.length === 0) throw new UsageError('--method none: bench times a method against off; name one (var, pai, vaf, vcd)');
  const methodSpec = methods.map((m) => m.name).join('+');
  const requested = intListFlag(values.context, 'context');
  if (requested?.some((c) => c < 1)) throw new UsageError(`--context must list positive token counts, got "${values.context}"`);
  const question = values.prompt ?? DEFAULT_QUESTION;
  const imageFile = values.image ?? sampleImagePath();
  const image = await decodeImage(imageFile);
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

  const threads = numberFlag(values.threads, 'threads', { integer: true, min: 1 });
  // The floor's bandwidth is probed before the model loads and again after it is closed; the higher counts
  // (a busy moment only slows a probe down, and a single probe has been seen at half the speed decode reached).
  const probe = (device: Device) => measureReadBandwidth({ device, bytes: probeMiB * MiB, ...(threads === undefined ? {} : { intraOpNumThreads: threads }) });
  log(`read bandwidth: onnxruntime GEMV probe over ${probeMiB} MiB (1 of 2, before loading)`);
  const probeBefore = await probe(values.device === 'cuda' ? 'cuda' : 'cpu');

  // The preflight provisions for the longest context and its decode steps: a KV cache for off, one per row of on.
  const longest = requested ? Math.max(...requested) : undefined;
  log(`loading ${values.model}`);
  const loadStarted = performance.now();
  const model = await openModel(
    { ...values, context: undefined },
    longest === undefined ? {} : { memory: { contextTokens: longest + decodeSteps, promptTokens: longest, rows: 1 + Math.max(...methods.map((m) => m.batchRows)) } },
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const rssAfterLoadBytes = process.memoryUsage().rss;
  let closed = false;
  const close = async () => {
    if (!closed) await model.close();
    closed = true;
  };
  try {
    const varConfig = resolveVarConfig({ preset: 'general' });
    const withVar = methods.some((m) => m.name === 'var');
    const varSkipped =
      withVar && !model.sinkDims ? `no sink dimensions are known for this model (backbone ${model.manifest.sink.backbone ?? 'unknown'}); pass --sink-dims to time VAR on` : null;
    const label = methods.map((m) => m.label).join(' + ');
    if (varSkipped) log(`${label} on skipped: ${varSkipped}`);
    const decoder = model.manifest.decoder;
    const facts = { numLayers: decoder.numLayers, numHeads: decoder.numHeads, hiddenSize: decoder.hiddenSize, sinkDims: model.sinkDims ?? [], sinkStartLayer: model.manifest.sink.startLayer };
    const { contrast, ...graphRow } = methodRow(methods, facts);
    // A contrast's counterpart is one more decoder row of the same length (VCD's noised image) or shorter (PAI's text-only prompt).
    const onRows: RowSettings[] = contrast ? [graphRow, graphRow] : [graphRow];
    const methodLabel = describeMethodRow(contrast ? { ...graphRow, contrast } : graphRow);
    const variants: { name: 'off' | 'on'; rows: RowSettings[] }[] = [{ name: 'off', rows: [{}] }, ...(varSkipped ? [] : [{ name: 'on' as const, rows: onRows }])];

    // Vision: one warm-up run, then `runs` timed ones; the first request serves every context.
    log(`vision: ${runs + 1} runs (1 warm-up)`);
    const natural = await model.prepare({ question, images: [image] });
    const naturalTokens = natural.prompt.inputIds.length;
    const contexts = requested ?? [naturalTokens];
    const short = contexts.find((c) => c < naturalTokens);
    if (short !== undefined) throw new UsageError(`--context ${short} is shorter than the prompt itself: ${naturalTokens} tokens (image + question)`);
    const visionMs: number[] = [];
    for (let r = 0; r < runs; r++) visionMs.push((await model.prepare({ question, images: [image] })).visionMs);
    const imageTokens = natural.images.tokensPerImage.reduce((a, b) => a + b, 0);

    const prompts: PreparedRequest[] = [];
    for (const c of contexts) prompts.push(await promptOfLength(model, natural, question, c));

    // Warm-up on the natural prompt: every variant prefills and decodes two steps, untimed.
    log('warm-up');
    for (const variant of variants) {
      const warm = drive(await model.decoderStep(natural, { rows: variant.rows }), variant.rows.length);
      await warm.prefill();
      for (let s = 0; s < Math.min(2, decodeSteps); s++) await warm.decode();
      await warm.dispose();
    }

    const measured = [];
    for (const [index, prepared] of prompts.entries()) {
      const context = prepared.prompt.inputIds.length;
      const progress = progressBar(`bench: context ${context}`);
      const prefillMs = variants.map(() => [] as number[]);
      const decodeMs = variants.map(() => [] as number[]);
      let reached = context;
      for (let r = 0; r < runs; r++) {
        const drivers = await Promise.all(variants.map(async (v) => drive(await model.decoderStep(prepared, { rows: v.rows }), v.rows.length)));
        const prefill = await timeInterleaved(
          drivers.map((d) => d.prefill),
          { rounds: 1, rotation: r, settleMs },
        );
        prefill.forEach((ms, v) => prefillMs[v]!.push(...ms));
        const done = r * (decodeSteps + 1) + 1;
        progress.update(done, runs * (decodeSteps + 1));
        const decode = await timeInterleaved(
          drivers.map((d) => d.decode),
          { rounds: decodeSteps, rotation: r, settleMs, onRound: (round) => progress.update(done + round + 1, runs * (decodeSteps + 1)) },
        );
        decode.forEach((ms, v) => decodeMs[v]!.push(...ms));
        reached = context + Math.min(...drivers.map((d) => d.decoded));
        await Promise.all(drivers.map((d) => d.dispose()));
      }
      progress.finish(`${runs} run${runs === 1 ? '' : 's'} × (prefill + ${decodeSteps} decode steps) × ${variants.length} variant${variants.length === 1 ? '' : 's'}`);
      const on = variants.findIndex((v) => v.name === 'on');
      measured.push({
        requested: requested?.[index] ?? null,
        context,
        fillerTokens: context - naturalTokens,
        prefill: {
          tokens: context,
          off: times(prefillMs[0]!, context),
          on: on < 0 ? null : times(prefillMs[on]!, context),
          onOffTimeRatio: on < 0 ? null : pairedRatio(prefillMs[on]!, prefillMs[0]!),
        },
        decode: {
          steps: decodeSteps,
          runs,
          /** Tokens decoded per variant, over all runs. */
          tokens: decodeMs[0]!.length,
          contextStart: context,
          contextEnd: reached,
          off: times(decodeMs[0]!, 1),
          on: on < 0 ? null : times(decodeMs[on]!, 1),
          onOffTimeRatio: on < 0 ? null : pairedRatio(decodeMs[on]!, decodeMs[0]!),
        },
      });
    }
    // Peak RSS of the benchmark itself, before the probe allocates its matrix.
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    const device = model.device;
    await close();

    log(`read bandwidth: onnxruntime GEMV probe over ${probeMiB} MiB (2 of 2, after closing the model)`);
    const probeAfter = await probe(device);
    // Only probes on the model's device count (the first may have asked for CUDA and fallen back, or the model may have).
    const measuredBandwidth = [probeBefore, probeAfter].filter((p) => p.device === probeAfter.device).reduce((a, b) => (b.bytesPerSecond > a.bytesPerSecond ? b : a));
    const bandwidth: ReadBandwidth = {
      ...measuredBandwidth,
      method: `${measuredBandwidth.method}; the higher of probes before loading (${gbps(probeBefore)}) and after closing (${gbps(probeAfter)})`,
    };
    const weights = graphWeightBytes(join(model.dir, model.manifest.graphs.decoder));
    const readWeights = decodeStepBytes({ weights, device, config: model.manifest.decoder, dtype: model.manifest.dtype, contextTokens: 0 });
    const results = measured.map((m): BenchContext => {
      // The KV cache at the middle of the timed steps (step k reads context + k − 1 cached tokens).
      const bytes = decodeStepBytes({
        weights,
        device,
        config: model.manifest.decoder,
        dtype: model.manifest.dtype,
        contextTokens: m.context + Math.floor((decodeSteps - 1) / 2),
      });
      const floor = decodeFloor(bytes.total, bandwidth.bytesPerSecond);
      return {
        ...m,
        floor: {
          contextTokens: bytes.contextTokens,
          weightBytes: bytes.weightBytes,
          kvCacheBytes: bytes.kvCacheBytes,
          bytesPerStep: bytes.total,
          msPerStep: floor.msPerStep,
          tokensPerSecond: floor.tokensPerSecond,
          fractionOff: m.decode.off.tokensPerSecond / floor.tokensPerSecond,
          fractionOn: m.decode.on ? m.decode.on.tokensPerSecond / floor.tokensPerSecond : null,
        },
      };
    });
    const manifest = model.manifest;
    const record: BenchRecord = {
      model: model.dir,
      family: manifest.family,
      architecture: manifest.architecture,
      dtype: manifest.dtype,
      quantization: manifest.quantization?.scheme ?? null,
      device,
      threads: threads ?? null,
      settings: {
        runs,
        decodeSteps,
        settleMs,
        image: imageFile,
        question,
        method: methodSpec,
        methodSettings: varSkipped ? null : methodLabel,
        onRows: onRows.length,
        varPreset: varSkipped || !withVar ? null : 'general',
        var: varSkipped || !withVar ? null : varConfig,
        varSkipped,
      },
      load: { seconds: loadSeconds, rssAfterLoadBytes },
      peakRssBytes,
      vision: { images: 1, imageTokens, ms: visionMs.map((x) => +x.toFixed(3)), msPerImage: median(visionMs) },
      prompt: { naturalTokens, imageTokens },
      bandwidth,
      bandwidthProbes: { beforeLoad: probeBefore, afterClose: probeAfter },
      decoderWeights: { storedBytes: weights.total, byDtype: weights.byDtype, readBytes: readWeights.weightBytes, widenedOnCpu: readWeights.widened },
      contexts: results,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    else process.stdout.write(`${benchTable(record)}\n`);
    return 0;
  } finally {
    await close();
  }
}

function gbps(probe: ReadBandwidth): string {
  return `${(probe.bytesPerSecond / 1e9).toFixed(1)} GB/s on ${probe.device.toUpperCase()}`;
}

/** What `vasink bench --json` prints. Times in ms unless named otherwise; sizes in bytes. */
export interface BenchRecord {
  readonly model: string;
  readonly family: string;
  readonly architecture: string;
  readonly dtype: string;
  readonly quantization: string | null;
  readonly device: Device;
  readonly threads: number | null;
  readonly settings: {
    readonly runs: number;
    readonly decodeSteps: number;
    readonly settleMs: number;
    readonly image: string;
    readonly question: string;
    /** The method timed against off (`--method`), its settings in words, and the decoder rows its "on" variant runs. */
    readonly method: string;
    readonly methodSettings: string | null;
    readonly onRows: number;
    readonly varPreset: 'general' | null;
    readonly var: VarConfig | null;
    /** Why VAR on was not timed; null when it was. */
    readonly varSkipped: string | null;
  };
  readonly load: { readonly seconds: number; readonly rssAfterLoadBytes: number };
  /** `process.resourceUsage().maxRSS`, taken before the bandwidth probe. */
  readonly peakRssBytes: number;
  readonly vision: { readonly images: 1; readonly imageTokens: number; readonly ms: number[]; readonly msPerImage: number };
  readonly prompt: { readonly naturalTokens: number; readonly imageTokens: number };
  /** The probe the floor uses: the higher of the two below on the model's device. */
  readonly bandwidth: ReadBandwidth;
  readonly bandwidthProbes: { readonly beforeLoad: ReadBandwidth; readonly afterClose: ReadBandwidth };
  readonly decoderWeights: { readonly storedBytes: number; readonly byDtype: Readonly<Record<string, number>>; readonly readBytes: number; readonly widenedOnCpu: boolean };
  readonly contexts: readonly BenchContext[];
}

/** One context length: prefill of a prompt that long, then decode steps from it. */
export interface BenchContext {
  /** The `--context` entry; null for the natural prompt (no --context). */
  readonly requested: number | null;
  /** Prompt tokens prefilled: the context the decode steps start from. */
  readonly context: number;
  readonly fillerTokens: number;
  readonly prefill: { readonly tokens: number; readonly off: VariantTimes; readonly on: VariantTimes | null; readonly onOffTimeRatio: number | null };
  readonly decode: {
    readonly steps: number;
    readonly runs: number;
    /** Tokens decoded per variant over all runs (one step time each). */
    readonly tokens: number;
    readonly contextStart: number;
    /** Context after each run's last step: contextStart + steps. */
    readonly contextEnd: number;
    readonly off: VariantTimes;
    readonly on: VariantTimes | null;
    readonly onOffTimeRatio: number | null;
  };
  readonly floor: {
    /** Cached tokens the floor's KV cache counts: the middle of the timed steps. */
    readonly contextTokens: number;
    readonly weightBytes: number;
    readonly kvCacheBytes: number;
    readonly bytesPerStep: number;
    readonly msPerStep: number;
    readonly tokensPerSecond: number;
    readonly fractionOff: number;
    readonly fractionOn: number | null;
  };
}

const mib = (bytes: number) => (bytes >= 10 * 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`);
const rate = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

/** The human-readable table of a bench record. */
export function benchTable(record: BenchRecord): string {
  const skipped = record.settings.varSkipped ? 'skipped' : '';
  const rows: string[][] = [
    ['load (sessions + tokenizer)', '', `${record.load.seconds.toFixed(2)} s`, '', '', '', ''],
    ['RSS after load', '', mib(record.load.rssAfterLoadBytes), '', '', '', ''],
    [`vision (1 image, ${record.vision.imageTokens} tokens)`, '', `${record.vision.msPerImage.toFixed(1)} ms`, '', '', '', ''],
  ];
  for (const c of record.contexts) {
    rows.push([
      'prefill tok/s',
      String(c.context),
      rate(c.prefill.off.tokensPerSecond),
      c.prefill.on ? rate(c.prefill.on.tokensPerSecond) : skipped,
      c.prefill.onOffTimeRatio === null ? '' : `×${c.prefill.onOffTimeRatio.toFixed(3)}`,
      '',
      '',
    ]);
    rows.push([
      'decode tok/s',
      `${c.context}→${c.decode.contextEnd}`,
      rate(c.decode.off.tokensPerSecond),
      c.decode.on ? rate(c.decode.on.tokensPerSecond) : skipped,
      c.decode.onOffTimeRatio === null ? '' : `×${c.decode.onOffTimeRatio.toFixed(3)}`,
      `${rate(c.floor.tokensPerSecond)} (${mib(c.floor.bytesPerStep)}/step)`,
      `${pct(c.floor.fractionOff)}${c.floor.fractionOn === null ? '' : ` / ${pct(c.floor.fractionOn)}`}`,
    ]);
  }
  rows.push(['peak RSS', '', mib(record.peakRssBytes), '', '', '', '']);
  rows.push(['read bandwidth', '', `${(record.bandwidth.bytesPerSecond / 1e9).toFixed(1)} GB/s`, '', '', '', '']);
  const onLabel = record.settings.method === 'var' ? 'VAR on' : `${record.settings.method} on`;
  const header = ['test', 'context', record.settings.method === 'var' ? 'VAR off' : 'off', onLabel, 'on/off time', 'floor tok/s', 'of floor (off / on)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ')} |`;
  const w = record.decoderWeights;
  const byDtype = Object.entries(w.byDtype)
    .filter(([, bytes]) => bytes >= w.storedBytes / 1000)
    .map(([dtype, bytes]) => `${dtype} ${mib(bytes)}`)
    .join(', ');
  const kv = record.contexts.map((c) => `${mib(c.floor.kvCacheBytes)} at ${c.floor.contextTokens}`).join(', ');
  return [
    `vasink bench · ${record.model}: ${record.family} (${record.architecture}), ${record.dtype}${record.quantization ? ` + ${record.quantization}` : ''} · ${record.device.toUpperCase()}, threads ${record.threads ?? 'default'}`,
    '',
    line(header),
    `|${widths.map((wd, i) => (i === 0 ? '-'.repeat(wd + 2) : `${'-'.repeat(wd + 1)}:`)).join('|')}|`,
    ...rows.map(line),
    '',
    `floor = bytes one decode step reads ÷ read bandwidth: decoder weights ${mib(w.storedBytes)} as stored (${byDtype})${w.widenedOnCpu ? `, read as ${mib(w.readBytes)} (onnxruntime's CPU provider widens float16 to float32)` : ''} + KV cache (${kv} tokens, the middle of the timed steps); bandwidth: ${record.bandwidth.method}.`,
    `prefill: median of ${record.settings.runs} run${record.settings.runs === 1 ? '' : 's'}; decode: 1000 / median step ms over ${record.contexts[0]?.decode.tokens ?? 0} steps per variant; ${record.settings.methodSettings ?? record.settings.method} on${record.settings.onRows > 1 ? ` (${record.settings.onRows} decoder rows: the contrast's counterpart as a second row of the same prompt)` : ''} and off alternate step by step, order rotated, ${record.settings.settleMs} ms settle; on/off = median of paired time ratios.${record.settings.varSkipped ? ` ${record.settings.method === 'var' ? 'VAR' : record.settings.method} on skipped: ${record.settings.varSkipped}.` : ''}`,
  ].join('\n');
}

declare module '@vasink/tensor' {
  /** This package's error codes (see VasinkErrorCodes). */
  interface VasinkErrorCodes {
    BENCH_ORDER: true;
    BENCH_CONTEXT: true;
  }
}
