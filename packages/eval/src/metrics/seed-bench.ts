/**
 * SEED-Bench accuracy as LLaVA's convert_seed_for_submission.py computes it:
 * the prediction text must equal the answer letter exactly; a question without
 * a prediction counts as wrong. Per evaluation dimension and total, in percent.
 */
export function seedBenchScores(
  entries: readonly { prediction: string | undefined; answer: string; questionTypeId: number }[],
): { total: number; perDimension: Record<string, number>; correct: number; count: number } {
  const counts = new Map<number, { n: number; correct: number }>();
  for (const entry of entries) {
    const bucket = counts.get(entry.questionTypeId) ?? { n: 0, correct: 0 };
    bucket.n += 1;
    if (entry.prediction !== undefined && entry.prediction === entry.answer) bucket.correct += 1;
    counts.set(entry.questionTypeId, bucket);
  }
  let n = 0;
  let correct = 0;
  const perDimension: Record<string, number> = {};
  for (const type of [...counts.keys()].sort((a, b) => a - b)) {
    const bucket = counts.get(type) as { n: number; correct: number };
    perDimension[String(type)] = (bucket.correct / bucket.n) * 100;
    n += bucket.n;
    correct += bucket.correct;
  }
  return { total: (correct / n) * 100, perDimension, correct, count: n };
}
