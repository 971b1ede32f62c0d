import { basename } from 'node:path';

import type { BenchmarkDefinition, EvalItem, Prediction, SubmissionFile } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { readJson } from '../jsonl.js';
import { textVqaAccuracy, vqaEvalAccuracy } from '../metrics/vqa-accuracy.js';
import { evalAiNormalizeAnswer } from '../metrics/vqa-normalize.js';
import { SHORT_ANSWER_SUFFIX, readLlavaQuestions, resolveImage } from './common.js';

/** Ground truth of a VQA-style question; `answers` absent on test splits. */
export interface VqaReference {
  readonly questionId: string | number;
  readonly image?: string;
  readonly answers?: readonly string[];
  readonly answerType?: string;
  readonly questionType?: string;
}

const textOf = (predictions: ReadonlyMap<string, Prediction>, id: string) => (predictions.get(id) as Prediction).text;

function vqaScore(items: readonly EvalItem<VqaReference>[], predictions: ReadonlyMap<string, Prediction>) {
  const entries = items.map((item) => ({
    // LLaVA submits EvalAI-processed answers; the official VQA evaluation then runs on them.
    prediction: evalAiNormalizeAnswer(textOf(predictions, item.id)),
    answers: item.reference.answers as readonly string[],
    answerType: item.reference.answerType,
    questionType: item.reference.questionType,
  }));
  const summary = vqaEvalAccuracy(entries);
  return {
    primary: { name: 'accuracy', value: 100 * summary.exact },
    metrics: { accuracy: 100 * summary.exact, 'accuracy (official rounding)': summary.overall },
    breakdown: { 'answer type': summary.perAnswerType },
    notes: ['Official VQA evaluation (vqaEval.py) on answers processed by EvalAI\'s answer processor, as LLaVA submits them.'],
  };
}

/**
 * VQAv2: official `v2_OpenEnded_mscoco_<split>_questions.json` (+ annotations
 * via --annotations for local scores) and the COCO images; or LLaVA's
 * question file (`llava_vqav2_mscoco_test-dev2015.jsonl`). test-dev is scored
 * only by the EvalAI server: the run writes its submission JSON.
 */
export const vqav2Benchmark: BenchmarkDefinition<VqaReference> = {
  name: 'vqav2',
  title: 'VQAv2',
  group: 'general',
  inputs: 'v2_OpenEnded_mscoco_<split>_questions.json [--annotations v2_mscoco_<split>_annotations.json] or llava_vqav2_mscoco_test-dev2015.jsonl; --images: the COCO split folder',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const items: EvalItem<VqaReference>[] = [];
    const labels = new Map<number, { answers: string[]; answer_type?: string; question_type?: string }>();
    if (options.annotations) {
      const annotations = readJson<{ annotations?: { question_id: number; answers: { answer: string }[]; answer_type?: string; question_type?: string }[] }>(options.annotations);
      for (const a of annotations.annotations ?? []) labels.set(a.question_id, { answers: a.answers.map((x) => x.answer), answer_type: a.answer_type, question_type: a.question_type });
    }
    if (options.data.endsWith('.jsonl')) {
      for (const { line, value } of readLlavaQuestions(options.data, issues)) {
        const where = { file: options.data, line };
        const image = value.image === undefined ? undefined : resolveImage({ dir: options.images, name: value.image, issues, ...where, check });
        if (value.image !== undefined && !image) continue;
        const label = labels.get(Number(value.question_id));
        items.push({
          id: String(value.question_id),
          prompt: value.text,
          images: image ? [image] : [],
          category: value.category,
          reference: { questionId: value.question_id, answers: label?.answers, answerType: label?.answer_type, questionType: label?.question_type },
          source: where,
        });
      }
    } else {
      const data = readJson<{ questions?: { question_id: number; image_id: number; question: string }[]; data_subtype?: string }>(options.data);
      if (!Array.isArray(data.questions)) {
        issues.report({ file: options.data, reason: 'unknown-format', message: 'expected a VQAv2 questions file with a "questions" list' });
      }
      const subtype = data.data_subtype ?? /mscoco_(\w+?\d{4})/.exec(basename(options.data))?.[1] ?? 'val2014';
      (data.questions ?? []).forEach((q, index) => {
        const where = { file: options.data, line: undefined, record: index };
        const name = `COCO_${subtype}_${String(q.image_id).padStart(12, '0')}.jpg`;
        const image = resolveImage({ dir: options.images, name, issues, file: options.data, check });
        if (!image) return;
        const label = labels.get(q.question_id);
        items.push({
          id: String(q.question_id),
          prompt: `${q.question}${SHORT_ANSWER_SUFFIX}`,
          images: [image],
          reference: { questionId: q.question_id, answers: label?.answers, answerType: label?.answer_type, questionType: label?.question_type },
          source: { file: where.file },
        });
      });
    }
    const labeled = items.length > 0 && items.every((item) => item.reference.answers !== undefined);
    return { items, skipped: issues.issues, labeled, description: labeled ? 'VQAv2 (labelled split)' : 'VQAv2 (server-scored split)' };
  },
  async score(items, predictions) {
    if (!items.every((item) => item.reference.answers)) {
      return { primary: { name: 'accuracy', value: Number.NaN }, metrics: {} as Record<string, number>, scored: 0, notes: ['No labels: submit submission/*.json to the EvalAI server.'] };
    }
    return vqaScore(items, predictions);
  },
  submission(items, predictions): SubmissionFile {
    const rows = items.map((item) => ({ question_id: Number(item.reference.questionId), answer: evalAiNormalizeAnswer(predictions.get(item.id)?.text ?? '') }));
    return { fileName: 'vqav2-submission.json', content: JSON.stringify(rows), note: 'EvalAI VQAv2 format [{question_id, answer}] (LLaVA convert_vqav2_for_submission.py)' };
  },
};

/**
 * VizWiz-VQA: official `val.json` / `test.json` (list of {image, question,
 * answers, answer_type, answerable}) and the image folder, or LLaVA's
 * `llava_test.jsonl`. test is scored by the EvalAI server only.
 */
export const vizwizBenchmark: BenchmarkDefinition<VqaReference> = {
  name: 'vizwiz',
  title: 'VizWiz',
  group: 'general',
  inputs: 'val.json or test.json (VizWiz Annotations.zip) or llava_test.jsonl; --images: the split folder',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const items: EvalItem<VqaReference>[] = [];
    if (options.data.endsWith('.jsonl')) {
      for (const { line, value } of readLlavaQuestions(options.data, issues)) {
        const where = { file: options.data, line };
        const image = resolveImage({ dir: options.images, name: value.image ?? '', issues, ...where, check });
        if (!image) continue;
        items.push({ id: String(value.question_id), prompt: value.text, images: [image], reference: { questionId: value.question_id, image: value.image }, source: where });
      }
    } else {
      const data = readJson<{ image: string; question: string; answers?: { answer: string }[]; answer_type?: string }[]>(options.data);
      if (!Array.isArray(data)) issues.report({ file: options.data, reason: 'unknown-format', message: 'expected a VizWiz list of questions' });
      (Array.isArray(data) ? data : []).forEach((q) => {
        const image = resolveImage({ dir: options.images, name: q.image, issues, file: options.data, check });
        if (!image) return;
        items.push({
          id: q.image,
          prompt: `${q.question}\nWhen the provided information is insufficient, respond with 'Unanswerable'.${SHORT_ANSWER_SUFFIX}`,
          images: [image],
          reference: { questionId: q.image, image: q.image, answers: q.answers?.map((a) => a.answer), answerType: q.answer_type },
          source: { file: options.data },
        });
      });
    }
    const labeled = items.length > 0 && items.every((item) => item.reference.answers !== undefined);
    return { items, skipped: issues.issues, labeled, description: labeled ? 'VizWiz (labelled split)' : 'VizWiz (server-scored split)' };
  },
  async score(items, predictions) {
    if (!items.every((item) => item.reference.answers)) {
      return { primary: { name: 'accuracy', value: Number.NaN }, metrics: {} as Record<string, number>, scored: 0, notes: ['No labels: submit submission/*.json to the EvalAI server.'] };
    }
    return vqaScore(items, predictions);
  },
  submission(items, predictions): SubmissionFile {
    const rows = items.map((item) => ({ image: item.reference.image, answer: evalAiNormalizeAnswer(predictions.get(item.id)?.text ?? '') }));
    return { fileName: 'vizwiz-submission.json', content: JSON.stringify(rows), note: 'EvalAI VizWiz format [{image, answer}] (LLaVA convert_vizwiz_for_submission.py)' };
  },
};

/** TextVQA: the line's question from a LLaVA prompt, as eval_textvqa.py's `prompt_processor`. */
export function textVqaQuestionFromPrompt(prompt: string): string | undefined {
  let question: string | undefined;
  const lines = prompt.split('\n');
  if (prompt.startsWith('OCR tokens: ')) question = /Question: (.*?) Short answer:/s.exec(prompt)?.[1];
  else if (prompt.includes('Reference OCR token: ') && lines.length === 3) question = prompt.startsWith('Reference OCR token:') ? lines[1] : lines[0];
  else if (lines.length === 2) question = lines[0];
  return question?.toLowerCase();
}

/**
 * TextVQA: official `TextVQA_0.5.1_val.json` (data[]: question_id, image_id,
 * question, answers×10) with train_images/, or LLaVA's
 * `llava_textvqa_val_v051_ocr.jsonl` (OCR-token prompts) with --annotations
 * TextVQA_0.5.1_val.json, matched like eval_textvqa.py.
 */
export const textvqaBenchmark: BenchmarkDefinition<VqaReference> = {
  name: 'textvqa',
  title: 'TextVQA',
  group: 'general',
  inputs: 'TextVQA_0.5.1_val.json, or llava_textvqa_val_v051_ocr.jsonl with --annotations TextVQA_0.5.1_val.json; --images: train_images',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const items: EvalItem<VqaReference>[] = [];
    type Record = { question_id: number; image_id: string; question: string; answers?: string[] };
    const readOfficial = (file: string) => {
      const data = readJson<{ data?: Record[] }>(file);
      if (!Array.isArray(data.data)) issues.report({ file, reason: 'unknown-format', message: 'expected a TextVQA file with a "data" list' });
      return data.data ?? [];
    };
    if (options.data.endsWith('.jsonl')) {
      const byKey = new Map<string, Record>();
      if (options.annotations) for (const r of readOfficial(options.annotations)) byKey.set(`${r.image_id}\u0000${r.question.toLowerCase()}`, r);
      for (const { line, value } of readLlavaQuestions(options.data, issues)) {
        const where = { file: options.data, line };
        const image = resolveImage({ dir: options.images, name: value.image ?? '', issues, ...where, check });
        if (!image) continue;
        const question = textVqaQuestionFromPrompt(value.text);
        const annotation = question === undefined ? undefined : byKey.get(`${value.question_id}\u0000${question}`);
        if (options.annotations && !annotation) {
          issues.report({ ...where, reason: 'unknown-answer', message: 'no TextVQA annotation matches this image and question' });
          continue;
        }
        items.push({
          id: `${value.question_id}#${line}`,
          prompt: value.text,
          images: [image],
          reference: { questionId: annotation?.question_id ?? value.question_id, answers: annotation?.answers },
          source: where,
        });
      }
    } else {
      for (const r of readOfficial(options.data)) {
        const image = resolveImage({ dir: options.images, name: `${r.image_id}.jpg`, issues, file: options.data, check });
        if (!image) continue;
        if (r.answers !== undefined && r.answers.length !== 10) {
          issues.report({ file: options.data, reason: 'unknown-answer', message: `question ${r.question_id} has ${r.answers.length} answers, TextVQA needs 10` });
          continue;
        }
        items.push({
          id: String(r.question_id),
          prompt: `${r.question}${SHORT_ANSWER_SUFFIX}`,
          images: [image],
          reference: { questionId: r.question_id, answers: r.answers },
          source: { file: options.data },
        });
      }
    }
    const labeled = items.length > 0 && items.every((item) => item.reference.answers !== undefined);
    return { items, skipped: issues.issues, labeled, description: 'TextVQA val' };
  },
  async score(items, predictions) {
    const accuracy = textVqaAccuracy(items.map((item) => ({ prediction: textOf(predictions, item.id), answers: item.reference.answers as string[] })));
    return {
      primary: { name: 'accuracy', value: 100 * accuracy },
      metrics: { accuracy: 100 * accuracy },
      notes: ['m4c TextVQAAccuracyEvaluator (as shipped with LLaVA and the released VAR code).'],
    };
  },
};

