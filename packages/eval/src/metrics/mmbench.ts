// MMBench answer matching and circular evaluation as VLMEvalKit (the official
// MMBench toolkit) implements them: vlmeval/utils/matching_util.py
// (`can_infer`) and vlmeval/dataset/utils/multiple_choice.py
// (`prefetch_circular_group`, `eval_circular_group`), commit 2cf2a36c.
import { pySplit, pyStrip } from '../python-text.js';

/** Options of one question, letter → text (only present, non-empty options). */
export type ChoiceMap = Readonly<Record<string, string>>;

const REJECTIONS = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  'Cannot determine the answer',
];
const VERBOSE_ANSWER = /(?:correct\s+)?answer\s+is\s+\**([ABCD])\**/i;

/** `can_infer_option`: a single option letter standing near the end of the answer, or 'Z'. */
export function canInferOption(answer: string, choices: ChoiceMap): string | false {
  if (answer.includes('Failed to obtain answer via API')) return false;
  for (const rejection of REJECTIONS) if (answer.includes(rejection)) return 'Z';
  let modified = answer;
  for (const ch of '.()[],:;!*#{}') modified = modified.replaceAll(ch, ' ');
  const splits = pySplit(modified).map(pyStrip);
  const letters = Object.keys(choices);
  const count = letters.filter((letter) => splits.includes(letter)).length;
  if (count === 1) {
    for (const letter of letters) {
      if (splits.includes(letter) && splits.indexOf(letter) > splits.length - 5) return letter;
    }
  } else if (count === 0 && ['Z', ''].filter((letter) => splits.includes(letter)).length === 1) {
    return 'Z';
  }
  const match = VERBOSE_ANSWER.exec(answer);
  if (match && letters.includes((match[1] as string).toUpperCase())) return (match[1] as string).toUpperCase();
  return false;
}

/** `can_infer_text`: exactly one option text contained in a not-too-long answer. */
export function canInferText(answer: string, choices: ChoiceMap): string | false {
  const lower = answer.toLowerCase();
  let total = 0;
  for (const text of Object.values(choices)) total += text.length;
  if (lower.length > 2 * total) return false;
  const candidates = Object.entries(choices)
    .filter(([, text]) => lower.includes(text.toLowerCase()))
    .map(([letter]) => letter);
  return candidates.length === 1 ? (candidates[0] as string) : false;
}

/** `can_infer`: option letter first, then option text. */
export function canInfer(answer: string, choices: ChoiceMap): string | false {
  return canInferOption(answer, choices) || canInferText(answer, choices);
}

/** One pass of a circular group: the prediction, its options and the right letter in that pass. */
export interface CircularPass {
  readonly prediction: string;
  readonly choices: ChoiceMap;
  readonly answer: string;
}

/** Outcome of one circular group. */
export interface CircularResult {
  readonly hit: 0 | 1;
  readonly log: string;
  /** Passes that rule-based matching could not read (and the judge, when given, had to). */
  readonly unresolved: number;
}

/**
 * `prefetch_circular_group` + `eval_circular_group`: the question counts only if
 * every pass is answered right. A pass whose answer cannot be matched by rules
 * fails the group under the exact-matching policy, unless `extract` (an LLM
 * choice extractor) returns its letter.
 */
export async function evaluateCircularGroup<Pass extends CircularPass>(
  passes: readonly Pass[],
  extract?: (pass: Pass) => Promise<string | false>,
): Promise<CircularResult> {
  const predicted: (string | false)[] = [];
  for (const [index, pass] of passes.entries()) {
    const prefetched = canInfer(pass.prediction, pass.choices);
    predicted.push(prefetched);
    if (prefetched && prefetched !== pass.answer) {
      return {
        hit: 0,
        log: `Failed in Prefetching Rolling ${index}: Answer is ${pass.answer}, Prediction is ${pass.prediction}, Pre-fetched is ${prefetched}. `,
        unresolved: 0,
      };
    }
  }
  const unresolved = predicted.filter((value) => value === false).length;
  if (unresolved === 0) return { hit: 1, log: 'Succeed During Pre-fetching', unresolved: 0 };
  if (!extract) {
    return { hit: 0, log: 'Failed in Prefetch, no GPT-based answer matching under `exact_matching` policy.', unresolved };
  }
  for (const [index, pass] of passes.entries()) {
    if (predicted[index]) continue;
    const option = await extract(pass);
    if (option !== pass.answer) {
      return { hit: 0, log: `Failed in Rolling ${index}: Answer is ${pass.answer}; Prediction is ${pass.prediction}; Extracted is ${String(option)}.`, unresolved };
    }
  }
  return { hit: 1, log: 'Succeed after choice extraction', unresolved };
}

/**
 * Rotate a question's options by `shift` places as LLaVA's model_vqa_mmbench.py
 * does for `--all-rounds` (`options = options[1:] + options[:1]` per round);
 * the answer letter moves with its option.
 */
export function rotateChoices(options: readonly string[], answerIndex: number, shift: number): { options: string[]; answerIndex: number } {
  const n = options.length;
  const k = ((shift % n) + n) % n;
  return { options: [...options.slice(k), ...options.slice(0, k)], answerIndex: (answerIndex - k + n) % n };
}
