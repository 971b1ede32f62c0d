import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Prediction } from '../benchmark.js';
import { gqaBenchmark, mmbenchBenchmark } from '../benchmarks/multiple-choice.js';
import { pyRound } from '../python-text.js';
import { chairGroundTruth, chairScores, chairVocabulary } from './chair.js';
import { singularize } from './english-singularize.js';
import { gqaAccuracy, gqaPrediction } from './gqa.js';
import { llavaBenchSummary, parseLlavaBenchScores } from './judged.js';
import { canInfer, evaluateCircularGroup } from './mmbench.js';
import { mmeScores } from './mme.js';
import { popeMetrics } from './pope.js';
import { scienceQaPredictionIndex, scienceQaScores } from './science-qa.js';
import { textVqaAccuracy, textVqaScore, vqaEvalAccuracy, vqaEvalScore } from './vqa-accuracy.js';
import { evalAiNormalizeAnswer } from './vqa-normalize.js';

// Produced by the official scorers themselves: tooling/fixtures/eval/make_fixtures.py.
const golden = JSON.parse(readFileSync(new URL('../__fixtures__/golden.json', import.meta.url), 'utf8'));

describe('official scorers on the same predictions', () => {
  it('EvalAI answer processor (m4c_evaluator.py)', () => {
    for (const { input, output } of golden.evalAiNormalize) expect(evalAiNormalizeAnswer(input), input).toBe(output);
  });

  it('TextVQA accuracy (m4c TextVQAAccuracyEvaluator)', () => {
    const entries = golden.textvqa.entries.map((e: { pred_answer: string; gt_answers: string[] }) => ({ prediction: e.pred_answer, answers: e.gt_answers }));
    entries.forEach((entry: { prediction: string; answers: string[] }, i: number) => expect(textVqaScore(entry.prediction, entry.answers)).toBe(golden.textvqa.perQuestion[i]));
    expect(textVqaAccuracy(entries)).toBe(golden.textvqa.accuracy);
  });

  it('POPE (eval_pope.py)', () => {
    for (const c of golden.pope.cases) {
      const m = popeMetrics(c.predictions.map((prediction: string, i: number) => ({ prediction, label: c.labels[i] })));
      expect([m.TP, m.FP, m.TN, m.FN]).toEqual([c.TP, c.FP, c.TN, c.FN]);
      expect(m.accuracy).toBe(c.accuracy);
      expect(m.precision).toBe(c.precision);
      expect(m.recall).toBe(c.recall);
      expect(m.f1).toBe(c.f1);
      expect(m.yesRatio).toBe(c.yesRatio);
    }
  });

  it('MME (calculation.py)', () => {
    const entries = Object.entries(golden.mme.input as Record<string, { image: string; label: string; prediction: string }[]>).flatMap(([subtask, rows]) =>
      rows.map((row) => ({ subtask, image: row.image, label: row.label, prediction: row.prediction })),
    );
    const scores = mmeScores(entries);
    expect(scores.perception).toBeCloseTo(golden.mme.perception, 10);
    expect(scores.cognition).toBeCloseTo(golden.mme.cognition, 10);
    for (const [task, score] of Object.entries(golden.mme.subtaskScores as Record<string, number>)) expect(scores.subtasks[task]?.score).toBeCloseTo(score, 10);
  });

  it('ScienceQA (eval_science_qa.py)', () => {
    const problems = golden.scienceqa.problems as Record<string, { choices: string[]; answer: number; image: string | null }>;
    const byId = new Map((golden.scienceqa.predictions as { question_id: string; text: string }[]).map((p) => [p.question_id, p.text]));
    for (const [pid, index] of Object.entries(golden.scienceqa.parsedIndex as Record<string, number>)) {
      expect(scienceQaPredictionIndex(byId.get(pid) ?? 'FAILED', (problems[pid] as { choices: string[] }).choices.length), pid).toBe(index);
    }
    // The official IMG subset is "'<image>' in prompt"; a missing prediction has prompt 'Unknown' (not IMG).
    const result = scienceQaScores(Object.entries(problems).map(([pid, p]) => ({ prediction: byId.get(pid), answer: p.answer, choiceCount: p.choices.length, hasImage: byId.has(pid) && p.image !== null })));
    expect(result.accuracy).toBe(golden.scienceqa.acc);
    expect(result.correct).toBe(golden.scienceqa.correct);
    expect(golden.scienceqa.stdout).toContain(`IMG-Accuracy: ${result.imgAccuracy.toFixed(2)}%`);
  });

  it('VQAv2 (GT-Vision-Lab vqaEval.py)', () => {
    const { annotations, results } = golden.vqav2.input as {
      annotations: { question_id: number; question_type: string; answer_type: string; answers: { answer: string }[] }[];
      results: { question_id: number; answer: string }[];
    };
    const entries = annotations.map((annotation, i) => ({
      prediction: (results[i] as { answer: string }).answer,
      answers: annotation.answers.map((answer) => answer.answer),
      answerType: annotation.answer_type,
      questionType: annotation.question_type,
    }));
    entries.forEach((entry, i) => expect(pyRound(100 * vqaEvalScore(entry.prediction, entry.answers), 2), entry.prediction).toBe(golden.vqav2.perQuestion[String(1000 + i)]));
    const summary = vqaEvalAccuracy(entries);
    expect(summary.overall).toBe(golden.vqav2.overall);
    expect(summary.perAnswerType).toEqual(golden.vqav2.perAnswerType);
    expect(summary.perQuestionType).toEqual(golden.vqav2.perQuestionType);
  });

  type MmbRow = { index: number; question: string; answer: string; prediction: string; category: string; 'l2-category': string; A: string | null; B: string | null; C: string | null; D: string | null };
  const mmbRows = golden.mmbench.rows as MmbRow[];
  const choicesOf = (row: MmbRow) => Object.fromEntries((['A', 'B', 'C', 'D'] as const).filter((letter) => row[letter] !== null).map((letter) => [letter, row[letter] as string]));

  it('MMBench can_infer and circular groups (VLMEvalKit, exact matching)', async () => {
    mmbRows.forEach((row, i) => expect(canInfer(row.prediction, choicesOf(row)), row.prediction).toBe(golden.mmbench.canInfer[i]));
    const groups = new Map<number, MmbRow[]>();
    for (const row of mmbRows) groups.set(row.index % 1e6, [...(groups.get(row.index % 1e6) ?? []), row]);
    for (const [group, rows] of groups) {
      const result = await evaluateCircularGroup(rows.map((row) => ({ prediction: row.prediction, choices: choicesOf(row), answer: row.answer })));
      expect(result.hit, `group ${group}`).toBe(golden.mmbench.hits[String(group)]);
    }
  });

  it('MMBench benchmark score on a circular TSV (VLMEvalKit mcq_circular_eval, mcq_vanilla_eval, report_acc)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vasink-mmbench-'));
    const file = join(dir, 'MMBench_DEV_EN.tsv');
    const header = ['index', 'question', 'A', 'B', 'C', 'D', 'answer', 'category', 'image', 'l2-category', 'split'];
    const lines = mmbRows.map((row) => [row.index, row.question, row.A ?? '', row.B ?? '', row.C ?? '', row.D ?? '', row.answer, row.category, row.index < 1e6 ? 'aW1hZ2U='.repeat(10) : String(row.index % 1e6), row['l2-category'], 'dev'].join('\t'));
    writeFileSync(file, `${[header.join('\t'), ...lines].join('\n')}\n`);
    const { items } = mmbenchBenchmark.load({ data: file });
    expect(items).toHaveLength(mmbRows.length);
    const predictions = new Map<string, Prediction>(mmbRows.map((row) => [String(row.index), { id: String(row.index), row: 'base', text: row.prediction }]));
    const score = await mmbenchBenchmark.score?.(items, predictions, {});
    const vanilla = Object.values(golden.mmbench.vanillaHits as Record<string, number>);
    expect(score?.metrics['circular accuracy']).toBeCloseTo(100 * golden.mmbench.overall, 10);
    expect(score?.metrics['single-pass accuracy']).toBeCloseTo((100 * vanilla.reduce((a, b) => a + b, 0)) / vanilla.length, 10);
    for (const [category, value] of Object.entries(golden.mmbench.perCategory as Record<string, number>)) expect(score?.breakdown?.category?.[category]).toBeCloseTo(100 * value, 10);
  });

  it('GQA (eval.py on convert_gqa_for_eval.py output)', () => {
    const questions = golden.gqa.questions as Record<string, { answer: string; structural: string }>;
    const answers = golden.gqa.llavaAnswers as { question_id: string; text: string }[];
    answers.forEach((answer, i) => expect(gqaPrediction(answer.text)).toBe(golden.gqa.predictions[i].prediction));
    const entries = answers.map((answer) => ({ prediction: answer.text, answer: (questions[answer.question_id] as { answer: string }).answer, structural: (questions[answer.question_id] as { structural: string }).structural }));
    expect(100 * gqaAccuracy(entries)).toBeCloseTo(golden.gqa.accuracy, 10);
    expect(100 * gqaAccuracy(entries.filter((entry) => entry.structural === 'query'))).toBeCloseTo(golden.gqa.open, 10);
    expect(100 * gqaAccuracy(entries.filter((entry) => entry.structural !== 'query'))).toBeCloseTo(golden.gqa.binary, 10);
  });

  it('GQA benchmark score from LLaVA question file + testdev_balanced_questions.json layout', async () => {
    const questions = golden.gqa.questions as Record<string, { answer: string; structural: string }>;
    const answers = golden.gqa.llavaAnswers as { question_id: string; text: string }[];
    const dir = mkdtempSync(join(tmpdir(), 'vasink-gqa-'));
    const data = join(dir, 'llava_gqa_testdev_balanced.jsonl');
    const annotations = join(dir, 'testdev_balanced_questions.json');
    writeFileSync(data, answers.map((answer) => `${JSON.stringify({ question_id: answer.question_id, image: 'n1.jpg', text: 'q', category: 'default' })}\n`).join(''));
    writeFileSync(annotations, JSON.stringify(Object.fromEntries(Object.entries(questions).map(([id, q]) => [id, { imageId: 'n1', question: 'q', answer: q.answer, types: { structural: q.structural } }]))));
    const { items } = gqaBenchmark.load({ data, annotations, checkImages: false });
    const predictions = new Map<string, Prediction>(answers.map((answer) => [answer.question_id, { id: answer.question_id, row: 'base', text: answer.text }]));
    const score = await gqaBenchmark.score?.(items, predictions, {});
    expect(score?.metrics.accuracy).toBeCloseTo(golden.gqa.accuracy, 10);
    expect(score?.metrics.binary).toBeCloseTo(golden.gqa.binary, 10);
    expect(score?.metrics.open).toBeCloseTo(golden.gqa.open, 10);
  });

  it('CHAIR (chair.py with pattern singularize)', () => {
    for (const [word, singular] of Object.entries(golden.chair.singularize as Record<string, string>)) expect(singularize(word), word).toBe(singular);
    const vocabulary = chairVocabulary(readFileSync(new URL('../__fixtures__/records/chair/synonyms.txt', import.meta.url), 'utf8'));
    const captions = (golden.chair.captions as { image_id: number; caption: string }[]).map((c) => ({ imageId: c.image_id, caption: c.caption }));
    const truth = chairGroundTruth(
      captions.map((c) => c.imageId),
      golden.chair.coco,
      vocabulary,
    );
    const expected = golden.chair.perCaption as Record<string, { generated: string[]; hallucinated: string[]; gt: string[] }>;
    for (const [id, objects] of truth) expect([...objects].sort(), `image ${id}`).toEqual(expected[String(id)]?.gt);
    const scores = chairScores(captions, truth, vocabulary);
    for (const caption of scores.perCaption) {
      expect(caption.mentioned, `image ${caption.imageId}`).toEqual(expected[String(caption.imageId)]?.generated);
      expect(caption.hallucinated, `image ${caption.imageId}`).toEqual(expected[String(caption.imageId)]?.hallucinated);
    }
    expect(scores.chairS).toBeCloseTo(golden.chair.chairS, 12);
    expect(scores.chairI).toBeCloseTo(golden.chair.chairI, 12);
  });

  it('LLaVA-Bench (summarize_gpt_review.py on released GPT-4 reviews)', () => {
    const reviews = (golden.llavaBench.reviews as { category: string; firstLine: string; tuple: [number, number] }[]).map((review) => {
      const scores = parseLlavaBenchScores(review.firstLine);
      expect(scores).toEqual(review.tuple);
      return { category: review.category, scores };
    });
    const summary = llavaBenchSummary(reviews);
    for (const [key, [relative, reference, model]] of Object.entries(golden.llavaBench.summary as Record<string, [number, number, number]>)) {
      expect(summary[key], key).toEqual({ relative, reference, model });
    }
  });
});

