import type { GenerationResult, RowSettings, VarStepDiagnostics, VisionLanguageModel } from '@vasink/runtime';
import { collect, describeMethodRow } from '@vasink/runtime';
import { expandImagePaths, loadImages } from '../lib/images.js';
import { UsageError, numberFlag, parseCommand, required } from '../lib/usage.js';
import { METHOD_FLAGS, methodHelp, methodRowFromFlags, methodsFromFlags, rowName } from '../lib/method-flags.js';
import { VAR_FLAGS, VAR_HELP } from '../lib/var-flags.js';
import { MODEL_FLAGS, MODEL_HELP, openModel } from './model-flags.js';

const HELP = `usage: vasink generate --model <dir> --image <file> --prompt <text> [options]

Answer a question about one or more images, streaming the answer.
  --image <file>               an image (JPEG, PNG, WebP, GIF); repeat for several
  --prompt <text>              the question
  --template default|chat      the model's evaluation prompt format (default) or its chat template
  --system <text>              replace the prompt format's system message
  --compare                    answer twice, without and with the method, side by side (image features computed once)
  --json                       print a machine-readable record instead of streaming text, with timings
                               (load, vision, prefill, every decode step) of the diagnostic decoder it
                               runs — for speed itself use vasink bench
  --verbose                    print one timings line on stderr (load, vision, prefill and decode tok/s)
  --max-new-tokens <n>         default 128
  --temperature <t>            sample at temperature t (default 0: greedy)
  --top-p <p> --top-k <k>      nucleus / top-k sampling
  --seed <n>                   sampling seed (default 0)
  --stop <text>                stop string; repeat for several
${methodHelp()}${VAR_HELP}${MODEL_HELP}`;

export const GENERATE_FLAGS = {
  ...MODEL_FLAGS,
  ...VAR_FLAGS,
  ...METHOD_FLAGS,
  image: { type: 'string', multiple: true },
  prompt: { type: 'string' },
  template: { type: 'string' },
  system: { type: 'string' },
  compare: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
} as const;

/** Sampling options from the flags (greedy unless a temperature > 0 is given). */
export function samplingFromFlags(values: Record<string, unknown>) {
  const temperature = numberFlag(values.temperature as string | undefined, 'temperature', { min: 0 }) ?? 0;
  const topP = numberFlag(values['top-p'] as string | undefined, 'top-p', { min: 0 });
  const topK = numberFlag(values['top-k'] as string | undefined, 'top-k', { integer: true, min: 0 });
  const seed = numberFlag(values.seed as string | undefined, 'seed', { integer: true, min: 0 });
  if (topP !== undefined && topP > 1) throw new UsageError(`--top-p must be in (0, 1], got ${topP}`);
  return {
    doSample: temperature > 0,
    temperature: temperature > 0 ? temperature : 1,
    ...(topP === undefined ? {} : { topP }),
    ...(topK === undefined ? {} : { topK }),
    ...(seed === undefined ? {} : { seed }),
  };
}

/** The JSON record of a generation: prompt, per-step choices and VAR diagnostics. */
export function generationRecord(
  model: VisionLanguageModel,
  input: { question: string; imageFiles: string[]; rows: RowSettings[]; names?: string[]; prepared: Awaited<ReturnType<VisionLanguageModel['prepare']>>; results: GenerationResult<VarStepDiagnostics>[]; loadMs?: number },
) {
  const { prepared } = input;
  const token = (id: number) => model.tokenizer.idToToken(id) ?? null;
  const imagePositions = [...prepared.prompt.imageMask.entries()].filter(([, m]) => m).map(([t]) => t);
  const L = model.manifest.decoder.numLayers;
  return {
    model: model.dir,
    family: model.manifest.family,
    device: model.device,
    question: input.question,
    images: input.imageFiles.map((file, i) => ({
      file,
      grid: (prepared.images.panels[i] ?? []).map(({ rows, cols, label }) => ({ rows, cols, ...(label === undefined ? {} : { label }) }))[0],
      panels: (prepared.images.panels[i] ?? []).map(({ rows, cols, label }) => ({ rows, cols, ...(label === undefined ? {} : { label }) })),
      tokens: prepared.images.tokensPerImage[i],
    })),
    prompt: { text: prepared.prompt.text, tokenIds: prepared.prompt.inputIds, imageTokenPositions: imagePositions },
    visionMs: Math.round(prepared.visionMs),
    /** Vision graph runs for this record: 1 however many rows (--compare shares the image features). */
    visionRuns: model.visionRuns,
    timings: generationTimings({
      ...(input.loadMs === undefined ? {} : { loadMs: input.loadMs }),
      visionMs: prepared.visionMs,
      images: input.imageFiles.length,
      promptTokens: prepared.prompt.inputIds.length,
      rows: input.rows.length,
      stepMs: stepTimes(input.results),
    }),
    rows: input.results.map((result, r) => {
      const settings = input.rows[r] as RowSettings;
      const prefill = result.diagnostics[0];
      const sum = (pick: (d: VarStepDiagnostics) => number[][] | undefined) =>
        Array.from({ length: L }, (_, l) => result.diagnostics.reduce((acc, d) => {
          const v = d && pick(d)?.[r]?.[l];
          return acc + (Array.isArray(v) ? v.reduce((a: number, x: number) => a + x, 0) : (v ?? 0));
        }, 0));
      return {
        name: input.names?.[r] ?? (settings.var ? 'var' : 'base'),
        method: describeMethodRow(settings),
        var: settings.var ?? null,
        settings,
        text: result.text,
        ids: result.ids,
        finishReason: result.finishReason,
        steps: result.ids.map((id, i) => ({
          id,
          token: token(id),
          logProb: result.logProbs[i],
          top5: (result.topLogits[i] ?? []).slice(0, 5).map((t) => ({ id: t.id, token: token(t.id), logit: t.logit })),
        })),
        diagnostics: {
          sinksPerLayer: prefill?.sinkPositions?.[r] ?? null,
          imageSinksPerLayer: prefill?.sinkPositions?.[r]?.map((layer) => layer.filter((t) => prepared.prompt.imageMask[t] === 1)) ?? null,
          selectedHeadsPerLayer: Array.from({ length: L }, (_, l) =>
            result.diagnostics.reduce<number[]>((acc, d) => {
              (d?.selectedPerHead?.[r]?.[l] ?? []).forEach((v, h) => (acc[h] = (acc[h] ?? 0) + v));
              return acc;
            }, []),
          ),
          selectedRowsAtPrefill: (prefill?.selectedPerHead?.[r] ?? []).flat().reduce((a, x) => a + x, 0),
          selectedRowsAtDecode: result.diagnostics.slice(1).reduce((acc, d) => acc + (d?.selectedPerHead?.[r] ?? []).flat().reduce((a, x) => a + x, 0), 0),
          movedMassPerLayer: sum((d) => d.moved?.map((row) => row.map((m) => m))),
        },
      };
    }),
  };
}

/** Wall-clock ms of each decoder call of a generation, by step (0 = the prefill): the rows of a step share its call. */
export function stepTimes(results: readonly GenerationResult<unknown>[]): number[] {
  const byStep: number[] = [];
  for (const result of results) result.stepMs.forEach((ms, step) => (byStep[step] = ms));
  return byStep;
}

/**
 * Timings of one generation: load, vision, the prefill (prompt tokens × rows
 * in one call) and every decode step (one call for all rows still running).
 * Decode tok/s counts tokens per row: steps ÷ their total time.
 */
export function generationTimings(input: { loadMs?: number; visionMs: number; images: number; promptTokens: number; rows: number; stepMs: readonly number[] }) {
  const [prefillMs = 0, ...decodeStepMs] = input.stepMs;
  const decodeMs = decodeStepMs.reduce((a, b) => a + b, 0);
  const round = (ms: number) => +ms.toFixed(3);
  return {
    ...(input.loadMs === undefined ? {} : { loadMs: round(input.loadMs) }),
    visionMs: round(input.visionMs),
    images: input.images,
    prefillMs: round(prefillMs),
    prefillTokens: input.promptTokens * input.rows,
    prefillTokensPerSecond: prefillMs > 0 ? (input.promptTokens * input.rows * 1000) / prefillMs : null,
    rows: input.rows,
    /** One entry per decode call: tokens 2… of the longest row (its first came from the prefill). */
    decodeStepMs: decodeStepMs.map(round),
    decodeMs: round(decodeMs),
    decodeTokensPerSecond: decodeMs > 0 ? (decodeStepMs.length * 1000) / decodeMs : null,
  };
}

/** The --verbose line. */
export function timingsLine(t: ReturnType<typeof generationTimings>): string {
  const rows = t.rows > 1 ? ` × ${t.rows} rows` : '';
  const parts = [
    ...(t.loadMs === undefined ? [] : [`load ${(t.loadMs / 1000).toFixed(2)} s`]),
    `vision ${t.visionMs.toFixed(0)} ms (${t.images} image${t.images === 1 ? '' : 's'})`,
    `prefill ${t.prefillTokens / t.rows} tokens${rows} in ${t.prefillMs.toFixed(0)} ms (${t.prefillTokensPerSecond?.toFixed(1) ?? '–'} tok/s)`,
    `decode ${t.decodeStepMs.length} steps${rows} in ${t.decodeMs.toFixed(0)} ms (${t.decodeTokensPerSecond?.toFixed(2) ?? '–'} tok/s${t.rows > 1 ? ' per row' : ''})`,
  ];
  return `timings: ${parts.join(' · ')}`;
}

export async function runGenerate(args: string[]): Promise<number> {
  const parsed = parseCommand(args, GENERATE_FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const question = required(values.prompt, 'prompt');
  const imageFiles = await expandImagePaths(values.image ?? []);
  if (imageFiles.length === 0) throw new UsageError('--image is required (see --help)');
  const template = values.template ?? 'default';
  if (template !== 'default' && template !== 'chat') throw new UsageError(`--template must be default or chat, got "${template}"`);
  const methods = methodsFromFlags(values);
  if (values.compare && methods.length === 0) throw new UsageError('--compare needs a method to compare with the baseline: drop --no-var / --method none');
  const maxNewTokens = numberFlag(values['max-new-tokens'], 'max-new-tokens', { integer: true, min: 1 }) ?? 128;
  const sampling = samplingFromFlags(values);
  const images = await loadImages(imageFiles);
  // --json records per-layer diagnostics: the diagnostic decoder alone serves it.
  const loadStarted = performance.now();
  const model = await openModel(values, values.json === true ? { decoder: 'diagnostic' } : {});
  const loadMs = performance.now() - loadStarted;
  try {
    const row = methodRowFromFlags(methods, values, model);
    const rows: RowSettings[] = values.compare ? [{}, row] : [row];
    const names = values.compare ? ['base', rowName(methods)] : [rowName(methods)];
    const prepared = await model.prepare({ question, images, template, ...(values.system !== undefined ? { system: values.system } : {}) });
    const verbose = (stepMs: number[]) => {
      if (!values.verbose) return;
      const timings = generationTimings({ loadMs, visionMs: prepared.visionMs, images: imageFiles.length, promptTokens: prepared.prompt.inputIds.length, rows: rows.length, stepMs });
      process.stderr.write(`${timingsLine(timings)}\n`);
    };
    const events = model.generate(prepared, {
      rows,
      maxNewTokens,
      sampling,
      ...(values.stop ? { stopStrings: values.stop } : {}),
      diagnostics: values.json === true,
    });
    if (values.json) {
      const results = await collect(events);
      process.stdout.write(`${JSON.stringify(generationRecord(model, { question, imageFiles, rows, names, prepared, results, loadMs }), null, 2)}\n`);
      verbose(stepTimes(results));
      return 0;
    }
    if (!values.compare) {
      process.stderr.write(`${model.manifest.family} on ${model.device}, ${describeMethodRow(rows[0]!)}\n`);
      const stepMs: number[] = [];
      for await (const event of events) {
        process.stdout.write(event.text);
        if (event.kind === 'token') stepMs[event.step] = event.stepMs;
      }
      process.stdout.write('\n');
      verbose(stepMs);
      return 0;
    }
    const results = await collect(events);
    verbose(stepTimes(results));
    process.stdout.write(`${sideBySide([`base (${methods.map((m) => m.label).join(" + ")} off)`, results[0]!.text], [describeMethodRow(rows[1]!), results[1]!.text])}\n`);
    return 0;
  } finally {
    await model.close();
  }
}

/** Two labelled texts in two columns, wrapped. */
export function sideBySide(left: [string, string], right: [string, string], width = Math.min(process.stdout.columns ?? 100, 140)): string {
  const column = Math.max(20, Math.floor((width - 3) / 2));
  const wrap = (text: string) => {
    const lines: string[] = [];
    for (const paragraph of text.split('\n')) {
      let line = '';
      for (const word of paragraph.split(/\s+/)) {
        if ((line + ' ' + word).trim().length > column && line) {
          lines.push(line);
          line = word;
        } else line = (line + ' ' + word).trim();
        while (line.length > column) {
          lines.push(line.slice(0, column));
          line = line.slice(column);
        }
      }
      lines.push(line);
    }
    return lines;
  };
  const a = [left[0], '-'.repeat(Math.min(column, left[0].length)), ...wrap(left[1])];
  const b = [right[0], '-'.repeat(Math.min(column, right[0].length)), ...wrap(right[1])];
  return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => `${(a[i] ?? '').padEnd(column)} | ${b[i] ?? ''}`.trimEnd()).join('\n');
}
