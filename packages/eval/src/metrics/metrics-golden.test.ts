import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { mmeScores } from './mme.js';
import { popeMetrics } from './pope.js';
import { scienceQaPredictionIndex, scienceQaScores } from './science-qa.js';
import { textVqaAccuracy, textVqaScore } from './vqa-accuracy.js';
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
});
