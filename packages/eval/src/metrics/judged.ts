import { pyRound } from '../python-text.js';

/** MM-Vet: the official reading of a grade reply (first space-separated token as a float in [0, 1]). */
export function parseMmvetGrade(reply: string): number | undefined {
  const token = (reply.split(' ')[0] ?? '').trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) return undefined;
  const score = Number(token);
  return score >= 0 && score <= 1 ? score : undefined;
}

/** numpy's `round(x, d)`: round half to even on x·10^d. */
export function npRound(value: number, digits: number): number {
  const scale = 10 ** digits;
  const scaled = value * scale;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  let rounded = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  if (Object.is(rounded, -0)) rounded = 0;
  return rounded / scale;
}

/**
 * MM-Vet scores (one run) as `export_result`: per capability and total, in
 * percent, each sample counted once per capability it has. `rounded` uses
 * numpy rounding to 1 decimal like the official table.
 */
export function mmvetScores(samples: readonly { capabilities: readonly string[]; score: number }[]): {
  total: number;
  perCapability: Record<string, number>;
  rounded: { total: number; perCapability: Record<string, number> };
} {
  const sums = new Map<string, { sum: number; n: number }>();
  let total = 0;
  for (const sample of samples) {
    for (const capability of new Set(sample.capabilities)) {
      const bucket = sums.get(capability) ?? { sum: 0, n: 0 };
      bucket.sum += sample.score;
      bucket.n += 1;
      sums.set(capability, bucket);
    }
    total += sample.score;
  }
  const perCapability = Object.fromEntries([...sums].map(([key, { sum, n }]) => [key, (sum / n) * 100]));
  const totalPercent = (total / samples.length) * 100;
  return {
    total: totalPercent,
    perCapability,
    rounded: {
      total: npRound(totalPercent, 1),
      perCapability: Object.fromEntries(Object.entries(perCapability).map(([key, value]) => [key, npRound(value, 1)])),
    },
  };
}

/** LLaVA-Bench: `parse_score` of eval_gpt_review_bench.py, the two scores on the first line or [-1, -1]. */
export function parseLlavaBenchScores(review: string): [number, number] {
  const parts = (review.split('\n')[0] ?? '').replaceAll(',', ' ').split(' ');
  if (parts.length !== 2) return [-1, -1];
  const numbers = parts.map((part) => pyFloat(part));
  return numbers.some((value) => value === undefined) ? [-1, -1] : (numbers as [number, number]);
}

function pyFloat(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+)?$/.test(trimmed)) return Number(trimmed.replaceAll('_', ''));
  if (/^[+-]?(inf|infinity)$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(trimmed)) return Number.NaN;
  return undefined;
}

/**
 * LLaVA-Bench summary as summarize_gpt_review.py: per category (and `all`) the
 * relative score round(100·model/reference, 1) from the mean score pair rounded
 * to 3 places, plus both absolute scores ×10 rounded to 1 place.
 */
export function llavaBenchSummary(
  reviews: readonly { category: string; scores: readonly [number, number] }[],
): Record<string, { relative: number; reference: number; model: number }> {
  const groups = new Map<string, (readonly [number, number])[]>();
  for (const review of reviews) {
    for (const key of [review.category, 'all']) {
      const list = groups.get(key) ?? [];
      list.push(review.scores);
      groups.set(key, list);
    }
  }
  const summary: Record<string, { relative: number; reference: number; model: number }> = {};
  for (const key of [...groups.keys()].sort()) {
    const list = groups.get(key) as (readonly [number, number])[];
    let first = 0;
    let second = 0;
    for (const [a, b] of list) {
      first += a;
      second += b;
    }
    const stats = [pyRound(first / list.length, 3), pyRound(second / list.length, 3)] as const;
    summary[key] = {
      relative: pyRound((stats[1] / stats[0]) * 100, 1),
      reference: pyRound(stats[0] * 10, 1),
      model: pyRound(stats[1] * 10, 1),
    };
  }
  return summary;
}

/** MMHal-Bench: the rating in a judge reply ('rating: N', exactly one of 0–6), else 0 as the official script. */
export function parseMmhalRating(reply: string): { rating: number; found: boolean } {
  const lower = reply.toLowerCase();
  const found: number[] = [];
  for (let score = 0; score < 7; score += 1) if (lower.includes(`rating: ${score}`)) found.push(score);
  return found.length === 1 ? { rating: found[0] as number, found: true } : { rating: 0, found: false };
}

/** MMHal-Bench summary: average rating (0–6), hallucination rate (rating < 3) and per question type averages. */
export function mmhalSummary(entries: readonly { rating: number; questionType: string }[]): {
  averageScore: number;
  hallucinationRate: number;
  perType: Record<string, number>;
} {
  let sum = 0;
  let hallucinated = 0;
  const perTypeSums = new Map<string, { sum: number; n: number }>();
  for (const { rating, questionType } of entries) {
    sum += rating;
    if (rating < 3) hallucinated += 1;
    const bucket = perTypeSums.get(questionType) ?? { sum: 0, n: 0 };
    bucket.sum += rating;
    bucket.n += 1;
    perTypeSums.set(questionType, bucket);
  }
  return {
    averageScore: sum / entries.length,
    hallucinationRate: hallucinated / entries.length,
    perType: Object.fromEntries([...perTypeSums].map(([key, { sum: s, n }]) => [key, s / n])),
  };
}
