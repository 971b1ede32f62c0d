/**
 * POPE's answer parsing, identical in the POPE repository's evaluate.py,
 * LLaVA's eval_pope.py and the released VAR code: keep the text before the
 * first '.', drop commas, split on single spaces, and answer "no" iff one of
 * the words is exactly `No`, `not` or `no`; everything else is "yes".
 */
export function parsePopeAnswer(text: string): 'yes' | 'no' {
  let first = text;
  const period = first.indexOf('.');
  if (period !== -1) first = first.slice(0, period);
  const words = first.replaceAll(',', '').split(' ');
  return words.includes('No') || words.includes('not') || words.includes('no') ? 'no' : 'yes';
}

/** POPE metrics for one split, as the official script prints them (fractions, not percent). */
export interface PopeMetrics {
  readonly TP: number;
  readonly FP: number;
  readonly TN: number;
  readonly FN: number;
  readonly accuracy: number;
  /** NaN when nothing was answered "yes" (the official script divides by zero there). */
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly yesRatio: number;
  readonly count: number;
}

/** Score predictions against labels; a label other than `no` counts as yes, as the official script does. */
export function popeMetrics(entries: readonly { prediction: string; label: string }[]): PopeMetrics {
  let TP = 0;
  let FP = 0;
  let TN = 0;
  let FN = 0;
  let yes = 0;
  for (const { prediction, label } of entries) {
    const pred = parsePopeAnswer(prediction) === 'no' ? 0 : 1;
    const gold = label === 'no' ? 0 : 1;
    if (pred === 1) yes += 1;
    if (pred === 1 && gold === 1) TP += 1;
    else if (pred === 1 && gold === 0) FP += 1;
    else if (pred === 0 && gold === 0) TN += 1;
    else FN += 1;
  }
  const precision = TP + FP === 0 ? Number.NaN : TP / (TP + FP);
  const recall = TP + FN === 0 ? Number.NaN : TP / (TP + FN);
  const f1 = (2 * precision * recall) / (precision + recall);
  const count = entries.length;
  return {
    TP,
    FP,
    TN,
    FN,
    accuracy: count === 0 ? Number.NaN : (TP + TN) / count,
    precision,
    recall,
    f1,
    yesRatio: count === 0 ? Number.NaN : yes / count,
    count,
  };
}
