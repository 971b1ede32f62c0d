import { join } from 'node:path';

import type { BenchmarkDefinition, EvalItem, LoadOptions, LoadedBenchmark, Prediction, SubmissionFile } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { EvalConfigError } from '../errors.js';
import { llavaBenchJudgeRequest, mmhalJudgeRequest, mmvetJudgeRequest } from '../judge/judge-prompts.js';
import { readJson, readJsonl } from '../jsonl.js';
import { llavaBenchSummary, mmhalSummary, mmvetScores, parseLlavaBenchScores, parseMmhalRating, parseMmvetGrade } from '../metrics/judged.js';
import { readLlavaQuestions, resolveImage } from './common.js';

const textOf = (predictions: ReadonlyMap<string, Prediction>, id: string) => (predictions.get(id) as Prediction).text;

function requireJudge(name: string, judge: unknown): void {
  if (!judge) throw new EvalConfigError(`${name} is scored by a judge model: give --judge-url, --judge-model and --judge-key-env`);
}

/** MM-Vet ground truth; `answer` is absent when only LLaVA's question file was given. */
export interface MmvetReference {
  readonly question: string;
  readonly answer?: string;
  readonly capabilities: readonly string[];
}

type MmvetRecord = { imagename?: string; question?: string; answer?: string; capability?: string[] };

/**
 * LLaVA's `llava-mm-vet.jsonl` (question_id n, image v1_n.png): ids become
 * `v1_<n>` as convert_mmvet_for_eval.py writes them, so the submission is the
 * official evaluator's input; answers come from `--annotations mm-vet.json`.
 */
function loadMmvetLlava(options: LoadOptions): LoadedBenchmark<MmvetReference> {
  const issues = new DataIssues(options);
  const file = options.data;
  const labels = options.annotations ? readJson<Record<string, MmvetRecord>>(options.annotations) : {};
  const items: EvalItem<MmvetReference>[] = [];
  for (const { line, value } of readLlavaQuestions(file, issues)) {
    const where = { file, line };
    const id = `v1_${String(value.question_id)}`;
    const image = resolveImage({ dir: options.images ?? join(file, '..', 'images'), name: value.image ?? '', issues, ...where, check: options.checkImages ?? true });
    if (!image) continue;
    const label = labels[id];
    items.push({
      id,
      prompt: value.text,
      images: [image],
      reference: { question: value.text, answer: label?.answer, capabilities: label?.capability ?? [] },
      source: where,
    });
  }
  const labeled = items.length > 0 && items.every((item) => item.reference.answer !== undefined);
  return { items, skipped: issues.issues, labeled, description: 'MM-Vet (LLaVA question file)' };
}

/** MM-Vet: `mm-vet.json` ({"v1_0": {imagename, question, answer, capability}}) and images/, or LLaVA's `llava-mm-vet.jsonl`. */
export const mmvetBenchmark: BenchmarkDefinition<MmvetReference> = {
  name: 'mm-vet',
  title: 'MM-Vet',
  group: 'general',
  inputs: 'mm-vet directory with mm-vet.json and images/ (mm-vet.zip), or llava-mm-vet.jsonl [--annotations mm-vet.json]',
  judged: true,
  load(options) {
    if (options.data.endsWith('.jsonl')) return loadMmvetLlava(options);
    const issues = new DataIssues(options);
    const file = options.data.endsWith('.json') ? options.data : join(options.data, 'mm-vet.json');
    const data = readJson<Record<string, MmvetRecord>>(file);
    const items: EvalItem<MmvetReference>[] = [];
    for (const [id, record] of Object.entries(data)) {
      if (typeof record.question !== 'string' || typeof record.answer !== 'string' || typeof record.imagename !== 'string' || !Array.isArray(record.capability)) {
        issues.report({ file, reason: 'missing-field', message: `${id}: needs imagename, question, answer and capability` });
        continue;
      }
      const image = resolveImage({ dir: options.images ?? join(file, '..', 'images'), name: record.imagename, issues, file, check: options.checkImages ?? true });
      if (!image) continue;
      items.push({ id, prompt: record.question, images: [image], reference: { question: record.question, answer: record.answer, capabilities: record.capability }, source: { file } });
    }
    return { items, skipped: issues.issues, labeled: true, description: 'MM-Vet' };
  },
  async score(items, predictions, context) {
    if (!items.every((item) => item.reference.answer !== undefined)) {
      return { primary: { name: 'total', value: Number.NaN }, metrics: {} as Record<string, number>, scored: 0, notes: ['No answers: give --annotations mm-vet.json, or run MM-Vet\'s evaluator on submission/mm-vet-results.json.'] };
    }
    requireJudge('MM-Vet', context.judge);
    const judge = context.judge as NonNullable<typeof context.judge>;
    const samples: { capabilities: readonly string[]; score: number }[] = [];
    let unreadable = 0;
    const versions = new Set<string>();
    for (const item of items) {
      let score: number | undefined;
      // The official grader re-asks up to 5 times with a stricter prompt and a higher temperature, then gives 0.
      for (let attempt = 0; attempt <= 5 && score === undefined; attempt += 1) {
        const request = mmvetJudgeRequest({ question: item.reference.question, answer: item.reference.answer as string, prediction: textOf(predictions, item.id), retry: attempt });
        versions.add(request.promptVersion);
        score = parseMmvetGrade((await judge.complete(request)).content);
      }
      if (score === undefined) unreadable += 1;
      samples.push({ capabilities: item.reference.capabilities, score: score ?? 0 });
    }
    const result = mmvetScores(samples);
    return {
      primary: { name: 'total', value: result.total },
      metrics: { total: result.total, 'total (official rounding)': result.rounded.total, 'unreadable grades': unreadable },
      breakdown: { capability: result.perCapability },
      judge: { model: judge.model, url: judge.url, promptVersions: [...versions].sort() },
      notes: ['MM-Vet grader prompt and retry rule of mm-vet_evaluator.py; one run.'],
    };
  },
  submission(items, predictions): SubmissionFile {
    const result = Object.fromEntries(items.map((item) => [item.id, predictions.get(item.id)?.text ?? '']));
    return { fileName: 'mm-vet-results.json', content: `${JSON.stringify(result, null, 2)}\n`, note: "input of MM-Vet's official evaluator (LLaVA convert_mmvet_for_eval.py)" };
  },
};

/** LLaVA-Bench ground truth. */
export interface LlavaBenchReference {
  readonly question: string;
  readonly category: string;
  readonly context: string;
  readonly reference: string;
}

/** LLaVA-Bench (in-the-Wild): questions.jsonl, context.jsonl, answers_gpt4.jsonl, images/. */
export const llavaBenchBenchmark: BenchmarkDefinition<LlavaBenchReference> = {
  name: 'llava-bench',
  title: 'LLaVA-Bench (in-the-Wild)',
  group: 'general',
  inputs: 'llava-bench-in-the-wild directory with questions.jsonl, context.jsonl, answers_gpt4.jsonl and images/',
  judged: true,
  load(options) {
    const issues = new DataIssues(options);
    const dir = options.data;
    const contexts = new Map<string, string>();
    for (const { value } of readJsonl<{ image: string; caption: string | string[] }>(join(dir, 'context.jsonl'), issues)) {
      contexts.set(value.image, Array.isArray(value.caption) ? value.caption.join('\n') : value.caption);
    }
    const references = new Map<string, string>();
    for (const { value } of readJsonl<{ question_id: number; text: string }>(join(dir, 'answers_gpt4.jsonl'), issues)) references.set(String(value.question_id), value.text);
    const items: EvalItem<LlavaBenchReference>[] = [];
    const file = join(dir, 'questions.jsonl');
    for (const { line, value } of readLlavaQuestions(file, issues)) {
      const where = { file, line };
      const id = String(value.question_id);
      const context = contexts.get(value.image ?? '');
      const reference = references.get(id);
      if (context === undefined || reference === undefined || typeof value.category !== 'string') {
        issues.report({ ...where, reason: 'missing-field', message: `question ${id} lacks a context, a GPT-4 answer or a category` });
        continue;
      }
      const image = resolveImage({ dir: options.images ?? join(dir, 'images'), name: value.image ?? '', issues, ...where, check: options.checkImages ?? true });
      if (!image) continue;
      items.push({ id, prompt: value.text, images: [image], category: value.category, reference: { question: value.text, category: value.category, context, reference }, source: where });
    }
    return { items, skipped: issues.issues, labeled: true, description: 'LLaVA-Bench (in-the-Wild)' };
  },
  async score(items, predictions, context) {
    requireJudge('LLaVA-Bench', context.judge);
    const judge = context.judge as NonNullable<typeof context.judge>;
    const reviews: { category: string; scores: readonly [number, number] }[] = [];
    for (const item of items) {
      const reply = await judge.complete(llavaBenchJudgeRequest({ context: item.reference.context, question: item.reference.question, reference: item.reference.reference, prediction: textOf(predictions, item.id) }));
      reviews.push({ category: `llava_bench_${item.reference.category}`, scores: parseLlavaBenchScores(reply.content) });
    }
    const summary = llavaBenchSummary(reviews);
    const all = summary.all as { relative: number };
    return {
      primary: { name: 'relative score', value: all.relative },
      metrics: Object.fromEntries(Object.entries(summary).map(([key, value]) => [`${key.replace('llava_bench_', '')} relative`, value.relative])),
      breakdown: Object.fromEntries(Object.entries(summary).map(([key, value]) => [key.replace('llava_bench_', ''), value])),
      judge: { model: judge.model, url: judge.url, promptVersions: ['llava-bench-v1'] },
      notes: ['Relative score = 100·model/GPT-4 reference, as summarize_gpt_review.py.'],
    };
  },
};

/** MMHal-Bench ground truth. */
export interface MmhalReference {
  readonly question: string;
  readonly gtAnswer: string;
  readonly imageContent: readonly string[];
  readonly questionType: string;
}

/** MMHal-Bench: `response_template.json` (96 records: question, gt_answer, image_content, question_type, image_src) and images/. */
export const mmhalBenchmark: BenchmarkDefinition<MmhalReference> = {
  name: 'mmhal',
  title: 'MMHal-Bench',
  group: 'hallucination',
  inputs: 'response_template.json (MMHal-Bench) and --images: its images/ folder',
  judged: true,
  load(options) {
    const issues = new DataIssues(options);
    const file = options.data;
    const records = readJson<Record<string, unknown>[]>(file);
    const items: EvalItem<MmhalReference>[] = [];
    records.forEach((record, index) => {
      const question = record.question;
      const gtAnswer = record.gt_answer;
      const imageContent = record.image_content;
      if (typeof question !== 'string' || typeof gtAnswer !== 'string' || !Array.isArray(imageContent)) {
        issues.report({ file, reason: 'missing-field', message: `record ${index}: needs question, gt_answer and image_content` });
        return;
      }
      const src = typeof record.image_path === 'string' ? record.image_path : typeof record.image_src === 'string' ? (record.image_src.split('/').pop() as string) : '';
      const image = resolveImage({ dir: options.images ?? join(file, '..', 'images'), name: src, issues, file, check: options.checkImages ?? true });
      if (!image) return;
      items.push({
        id: String(index),
        prompt: question,
        images: [image],
        category: String(record.question_type ?? index % 8),
        reference: { question, gtAnswer, imageContent: imageContent as string[], questionType: String(record.question_type ?? index % 8) },
        source: { file },
      });
    });
    return { items, skipped: issues.issues, labeled: true, description: 'MMHal-Bench' };
  },
  async score(items, predictions, context) {
    requireJudge('MMHal-Bench', context.judge);
    const judge = context.judge as NonNullable<typeof context.judge>;
    const ratings: { rating: number; questionType: string }[] = [];
    let unreadable = 0;
    for (const item of items) {
      const reply = await judge.complete(mmhalJudgeRequest({ imageContent: item.reference.imageContent, question: item.reference.question, gtAnswer: item.reference.gtAnswer, prediction: textOf(predictions, item.id) }));
      const { rating, found } = parseMmhalRating(reply.content);
      if (!found) unreadable += 1;
      ratings.push({ rating, questionType: item.reference.questionType });
    }
    const summary = mmhalSummary(ratings);
    return {
      primary: { name: 'average score', value: summary.averageScore },
      metrics: { 'average score': summary.averageScore, 'hallucination rate': summary.hallucinationRate, 'unreadable ratings': unreadable },
      breakdown: { 'question type': summary.perType },
      judge: { model: judge.model, url: judge.url, promptVersions: ['mmhal-v1'] },
      notes: ['Rating 0–6 from the judge (eval_gpt_mmhal.py); hallucination = rating < 3; an unreadable rating counts 0 as the official script.'],
    };
  },
};
