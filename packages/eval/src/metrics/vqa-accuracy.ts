import { pyRound, pyStrip } from '../python-text.js';
import { evalAiNormalizeAnswer, vqaProcessDigitArticle, vqaProcessPunctuation } from './vqa-normalize.js';

/**
 * Soft accuracy of each distinct human answer, as m4c's
 * `TextVQAAccuracyEvaluator._compute_answer_scores`: answers are normalised
 * with EvalAI's processor, and an answer scores min(1, matches/3) averaged over
 * the 10 leave-one-out subsets of the 10 human answers.
 */
export function textVqaAnswerScores(rawAnswers: readonly string[]): Map<string, number> {
  const answers = rawAnswers.map(evalAiNormalizeAnswer);
  if (answers.length !== 10) throw new RangeError(`TextVQA scoring needs 10 human answers, got ${answers.length}`);
  const scores = new Map<string, number>();
  for (const unique of new Set(answers)) {
    let total = 0;
    for (let left = 0; left < answers.length; left += 1) {
      let matches = 0;
      for (let other = 0; other < answers.length; other += 1) {
        if (other !== left && answers[other] === unique) matches += 1;
      }
      total += Math.min(1, matches / 3);
    }
    scores.set(unique, total / answers.length);
  }
  return scores;
}

/** One question's TextVQA score: the soft score of the normalised prediction, 0 if no human gave it. */
export function textVqaScore(prediction: string, rawAnswers: readonly string[]): number {
  return textVqaAnswerScores(rawAnswers).get(evalAiNormalizeAnswer(prediction)) ?? 0;
}

/** m4c `TextVQAAccuracyEvaluator.eval_pred_list`: mean score in [0, 1]. */
export function textVqaAccuracy(entries: readonly { prediction: string; answers: readonly string[] }[]): number {
  if (entries.length === 0) return Number.NaN;
  let sum = 0;
  for (const entry of entries) sum += textVqaScore(entry.prediction, entry.answers);
  return sum / entries.length;
}

const cleanVqa = (text: string): string => pyStrip(text.replaceAll('\n', ' ').replaceAll('\t', ' '));

/**
 * One question's accuracy under the official VQA evaluation (`VQAEval.evaluate`):
 * answers are only normalised when the humans disagree; the prediction scores
 * min(1, matches/3) averaged over the leave-one-out subsets. Result in [0, 1].
 */
export function vqaEvalScore(prediction: string, rawAnswers: readonly string[]): number {
  let answers = rawAnswers.map(cleanVqa);
  let result = cleanVqa(prediction);
  if (new Set(answers).size > 1) {
    answers = answers.map((answer) => vqaProcessDigitArticle(vqaProcessPunctuation(answer)));
    result = vqaProcessDigitArticle(vqaProcessPunctuation(result));
  }
  let total = 0;
  for (let left = 0; left < answers.length; left += 1) {
    let matches = 0;
    for (let other = 0; other < answers.length; other += 1) {
      if (other !== left && answers[other] === result) matches += 1;
    }
    total += Math.min(1, matches / 3);
  }
  return answers.length === 0 ? 0 : total / answers.length;
}

/** Aggregate of the official VQA evaluation, in percent, rounded to 2 places as `setAccuracy` does. */
export interface VqaEvalSummary {
  readonly overall: number;
  readonly perAnswerType: Record<string, number>;
  readonly perQuestionType: Record<string, number>;
  /** The unrounded overall accuracy in [0, 1]. */
  readonly exact: number;
}

/** Official VQA accuracy over many questions (`VQAEval.evaluate` + `setAccuracy`). */
export function vqaEvalAccuracy(
  entries: readonly { prediction: string; answers: readonly string[]; answerType?: string; questionType?: string }[],
): VqaEvalSummary {
  const byAnswer = new Map<string, number[]>();
  const byQuestion = new Map<string, number[]>();
  const all: number[] = [];
  for (const entry of entries) {
    const score = vqaEvalScore(entry.prediction, entry.answers);
    all.push(score);
    if (entry.answerType !== undefined) push(byAnswer, entry.answerType, score);
    if (entry.questionType !== undefined) push(byQuestion, entry.questionType, score);
  }
  const percent = (values: readonly number[]) => pyRound((100 * sum(values)) / values.length, 2);
  return {
    overall: all.length === 0 ? Number.NaN : percent(all),
    perAnswerType: Object.fromEntries([...byAnswer].map(([key, values]) => [key, percent(values)])),
    perQuestionType: Object.fromEntries([...byQuestion].map(([key, values]) => [key, percent(values)])),
    exact: all.length === 0 ? Number.NaN : sum(all) / all.length,
  };
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
