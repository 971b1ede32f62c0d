import { canInfer } from './mmbench.js';

/**
 * MMVP options as written in Questions.csv, "(a) Open (b) Closed", as a
 * letter → text map: { A: 'Open', B: 'Closed' }.
 */
export function parseMmvpOptions(options: string): Record<string, string> {
  const parts = options.split(/\(([a-z])\)\s*/i).slice(1);
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) result[(parts[i] as string).toUpperCase()] = (parts[i + 1] as string).trim();
  return result;
}

/** Rule-based MMVP grading: the prediction must be matched to the right option (VLMEvalKit's `can_infer`). */
export function mmvpRuleCorrect(prediction: string, options: string, correctAnswer: string): boolean {
  const choices = parseMmvpOptions(options);
  const truth = /\(([a-z])\)/i.exec(correctAnswer)?.[1]?.toUpperCase();
  return truth !== undefined && canInfer(prediction, choices) === truth;
}

/**
 * The official grader's reading of the judge's reply (`^(yes|no)$`,
 * case-insensitive, whole reply): only "yes" counts as correct.
 */
export function parseMmvpGrade(reply: string): 'yes' | 'no' | 'undetermined' {
  return /^(yes|no)$/i.test(reply) ? (reply.toLowerCase() as 'yes' | 'no') : 'undetermined';
}

/**
 * MMVP pair accuracy: questions come in pairs (1–2, 3–4, ...) and a pair
 * counts only when both are right. Also the plain per-question accuracy.
 * Fractions in [0, 1].
 */
export function mmvpScores(correct: readonly boolean[]): { pairAccuracy: number; questionAccuracy: number; pairs: number } {
  let pairsRight = 0;
  const pairs = Math.floor(correct.length / 2);
  for (let i = 0; i < pairs; i += 1) if (correct[2 * i] && correct[2 * i + 1]) pairsRight += 1;
  const right = correct.filter(Boolean).length;
  return { pairAccuracy: pairsRight / pairs, questionAccuracy: right / correct.length, pairs };
}
