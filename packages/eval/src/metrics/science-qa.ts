/** The option letters of eval_science_qa.py. */
export const SCIENCE_QA_OPTIONS = ['A', 'B', 'C', 'D', 'E'] as const;

/**
 * Parse a ScienceQA prediction as LLaVA's (and the released VAR code's)
 * eval_science_qa.py: a bare letter, "X. ..." or exactly one "The answer is X."
 * match; anything else is `FAILED`.
 */
export function parseScienceQaAnswer(prediction: string): string {
  const options: readonly string[] = SCIENCE_QA_OPTIONS;
  if (options.includes(prediction)) return prediction;
  if (prediction.length >= 3 && options.includes(prediction[0] as string) && prediction.slice(1, 3) === '. ') {
    return prediction[0] as string;
  }
  const matches = [...prediction.matchAll(/The answer is ([A-Z])./g)];
  return matches.length === 1 ? ((matches[0] as RegExpMatchArray)[1] as string) : 'FAILED';
}

/** Index of the parsed letter among the problem's choices, or -1 (`get_pred_idx`). */
export function scienceQaPredictionIndex(prediction: string, choiceCount: number): number {
  const answer = parseScienceQaAnswer(prediction);
  const index = SCIENCE_QA_OPTIONS.slice(0, choiceCount).indexOf(answer as (typeof SCIENCE_QA_OPTIONS)[number]);
  return index;
}

/** ScienceQA accuracy: overall and on problems with an image (IMG), in percent. */
export function scienceQaScores(
  entries: readonly { prediction: string | undefined; answer: number; choiceCount: number; hasImage: boolean }[],
): { accuracy: number; imgAccuracy: number; correct: number; count: number; imgCount: number } {
  let correct = 0;
  let imgCorrect = 0;
  let imgCount = 0;
  for (const entry of entries) {
    // A problem without a prediction is scored as the text 'FAILED', as the official script does.
    const hit = scienceQaPredictionIndex(entry.prediction ?? 'FAILED', entry.choiceCount) === entry.answer;
    if (hit) correct += 1;
    if (entry.hasImage) {
      imgCount += 1;
      if (hit) imgCorrect += 1;
    }
  }
  return {
    accuracy: (correct / entries.length) * 100,
    imgAccuracy: (imgCorrect / imgCount) * 100,
    correct,
    count: entries.length,
    imgCount,
  };
}
