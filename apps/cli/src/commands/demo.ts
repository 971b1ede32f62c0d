import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '@vasink/image';
import { type GenerationResult, type RowSettings, type VarStepDiagnostics, VisionLanguageModel, collect } from '@vasink/runtime';
import { MANIFEST_FILE } from '@vasink/runtime';
import { resolveVarConfig } from '@vasink/var';
import { FAMILIES, familyNames } from '../lib/families.js';
import { progressBar } from '../lib/progress.js';
import { UsageError, parseCommand } from '../lib/usage.js';
import { describeVar } from '../lib/var-flags.js';
import { sideBySide } from './generate.js';

const HELP = `usage: vasink demo [--model-family ${FAMILIES.map((f) => f.name).join('|')}] [--preset <name>] [--cache <dir>] [--json]

The built-in default job, with no download: write a tiny random checkpoint with
planted visual sinks (cached), convert it, answer a question about the bundled
sample image without and with VAR, and show what VAR did per layer.
  --cache <dir>   where the tiny checkpoint and model live (default $VASINK_CACHE,
                  else $XDG_CACHE_HOME/vasink, else ~/.cache/vasink)
`;

/** The sample image shipped with the CLI. */
export function sampleImagePath(): string {
  // dist/cli.js is one level below the package root, src/commands/demo.ts two.
  const candidates = ['../assets/sample.png', '../../assets/sample.png'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new UsageError(`the bundled sample image is missing (looked in ${candidates.join(', ')})`);
  return found;
}

function cacheDir(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.VASINK_CACHE) return process.env.VASINK_CACHE;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vasink');
}

export interface DemoResult {
  family: string;
  question: string;
  rows: { settings: RowSettings; result: GenerationResult<VarStepDiagnostics> }[];
  layers: { layer: number; sinks: number[]; visualSinks: number; selectedAtPrefill: number; selectedAtDecode: number; moved: number }[];
  imageTokens: number;
}

/** Prepare (cached) and run the demo; returns what happened. */
export async function computeDemo(options: { family: string; preset: string; cache: string; log?: (s: string) => void }): Promise<DemoResult> {
  const varConfig = resolveVarConfig({ preset: options.preset });
  const checkpoint = join(options.cache, `${options.family}-tiny-checkpoint`);
  const modelDir = join(options.cache, `${options.family}-tiny-model`);
  const family = FAMILIES.find((f) => f.name === options.family);
  if (!family) throw new UsageError(`--model-family must be ${familyNames()}, got "${options.family}"`);
  await mkdir(options.cache, { recursive: true });
  if (!existsSync(join(checkpoint, 'config.json'))) {
    options.log?.(`writing a tiny ${options.family} checkpoint to ${checkpoint}`);
    await family.fixtures.writeTiny(checkpoint, { size: 'tiny' });
  }
  if (!existsSync(join(modelDir, MANIFEST_FILE))) {
    const bar = progressBar('convert');
    await family.convert({ source: checkpoint, target: modelDir, dtype: 'float32', onProgress: (p) => bar.update(p.done, p.total, p.stage) });
    bar.finish(modelDir);
  }
  const model = await VisionLanguageModel.load(modelDir, {
    families: FAMILIES,
    device: 'auto',
    decoder: 'diagnostic', // the demo reports per-layer diagnostics: one decoder graph is enough
    logger: (m, level) => level === 'warn' && options.log?.(m),
  });
  try {
    const question = 'What is in this image? Answer briefly.';
    const image = await decodeImage(sampleImagePath());
    const prepared = await model.prepare({ question, images: [image] });
    const rows: RowSettings[] = [{}, { var: varConfig }];
    const results = await collect(model.generate(prepared, { rows, maxNewTokens: 16, diagnostics: true }));
    const withVar = results[1]!;
    const L = model.manifest.decoder.numLayers;
    const prefill = withVar.diagnostics[0];
    const layers = Array.from({ length: L }, (_, l) => {
      const sinks = prefill?.sinkPositions?.[1]?.[l] ?? [];
      const selected = (d: VarStepDiagnostics | undefined) => (d?.selectedPerHead?.[1]?.[l] ?? []).reduce((a, x) => a + x, 0);
      return {
        layer: l,
        sinks,
        visualSinks: sinks.filter((t) => prepared.prompt.imageMask[t] === 1).length,
        selectedAtPrefill: selected(prefill),
        selectedAtDecode: withVar.diagnostics.slice(1).reduce((a, d) => a + selected(d), 0),
        moved: withVar.diagnostics.reduce((a, d) => a + (d?.moved?.[1]?.[l] ?? 0), 0),
      };
    });
    return {
      family: options.family,
      question,
      rows: rows.map((settings, i) => ({ settings, result: results[i]! })),
      layers,
      imageTokens: prepared.prompt.imageMask.reduce((a, x) => a + x, 0),
    };
  } finally {
    await model.close();
  }
}

export async function runDemo(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { 'model-family': { type: 'string' }, preset: { type: 'string' }, cache: { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  const familyName = parsed.values['model-family'] ?? 'llava';
  const preset = parsed.values.preset ?? 'general';
  const demo = await computeDemo({ family: familyName, preset, cache: cacheDir(parsed.values.cache), log: (s) => process.stderr.write(`${s}\n`) });
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify({ ...demo, rows: demo.rows.map((r) => ({ var: r.settings.var ?? null, text: r.result.text, ids: r.result.ids })) }, null, 2)}\n`);
    return 0;
  }
  const [base, withVar] = demo.rows as [DemoResult['rows'][number], DemoResult['rows'][number]];
  const lines = [
    `tiny random ${demo.family} model (planted sinks; its words are noise — watch what VAR does)`,
    `question: ${demo.question}  (sample image, ${demo.imageTokens} image tokens)`,
    '',
    sideBySide(['base (VAR off)', base.result.text || '(empty)'], [describeVar(withVar.settings), withVar.result.text || '(empty)']),
    '',
    '| layer | sinks (visual) | rows redistributed at prefill | at decode | attention mass moved |',
    '|---|---|---|---|---|',
    ...demo.layers.map((l) => `| ${l.layer} | ${l.sinks.length} (${l.visualSinks}) | ${l.selectedAtPrefill} | ${l.selectedAtDecode} | ${l.moved.toFixed(3)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
