/**
 * Letter of a CV-Bench prediction, as the CV-Bench scoring script used with
 * Cambrian: the first "(X)" in the text, else the first character. Returns
 * `(X)` like the answers, or undefined when nothing can be read.
 */
export function parseCvBenchAnswer(prediction: string): string | undefined {
  if (prediction.includes('(')) {
    const match = /\(([A-Z])\)/.exec(prediction);
    return match ? `(${match[1]})` : undefined;
  }
  return prediction.length > 0 ? `(${prediction[0]})` : undefined;
}

/** CV-Bench accuracies in [0, 1]: per source, per task, 2D, 3D and the authors' overall combination. */
export interface CvBenchScores {
  readonly overall: number;
  readonly accuracy2d: number;
  readonly accuracy3d: number;
  readonly perSource: Record<string, number>;
  readonly perTask: Record<string, number>;
}

/**
 * The combination the CV-Bench authors publish with the dataset:
 * 2D = mean(ADE20K, COCO), 3D = Omni3D, overall = (2D + 3D) / 2.
 */
export function cvBenchScores(
  entries: readonly { prediction: string; answer: string; source: string; task: string }[],
): CvBenchScores {
  const bySource = new Map<string, { n: number; hit: number }>();
  const byTask = new Map<string, { n: number; hit: number }>();
  for (const entry of entries) {
    const hit = parseCvBenchAnswer(entry.prediction) === entry.answer ? 1 : 0;
    for (const [map, key] of [
      [bySource, entry.source],
      [byTask, entry.task],
    ] as const) {
      const bucket = map.get(key) ?? { n: 0, hit: 0 };
      bucket.n += 1;
      bucket.hit += hit;
      map.set(key, bucket);
    }
  }
  const rate = (map: Map<string, { n: number; hit: number }>) =>
    Object.fromEntries([...map].map(([key, { n, hit }]) => [key, hit / n]));
  const perSource = rate(bySource);
  const perTask = rate(byTask);
  const accuracy2d = ((perSource.ADE20K ?? Number.NaN) + (perSource.COCO ?? Number.NaN)) / 2;
  const accuracy3d = perSource.Omni3D ?? Number.NaN;
  return { overall: (accuracy2d + accuracy3d) / 2, accuracy2d, accuracy3d, perSource, perTask };
}
