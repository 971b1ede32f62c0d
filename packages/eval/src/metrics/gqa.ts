import { pyRstripChars } from '../python-text.js';

/** LLaVA's convert_gqa_for_eval.py: `text.rstrip('.').lower()`. */
export function gqaPrediction(text: string): string {
  return pyRstripChars(text, '.').toLowerCase();
}

/** GQA accuracy (eval.py's exact match of the converted prediction), in [0, 1]. */
export function gqaAccuracy(entries: readonly { prediction: string; answer: string }[]): number {
  let correct = 0;
  for (const entry of entries) if (gqaPrediction(entry.prediction) === entry.answer) correct += 1;
  return entries.length === 0 ? Number.NaN : correct / entries.length;
}
