// MME's official calculation.py (eval_tool, BradyFU/Awesome-Multimodal-Large-
// Language-Models, branch Evaluation): per subtask acc and acc+ (both answers
// for an image right), score = 100·acc + 100·acc+, perception = sum of 10
// subtasks, cognition = sum of 4.

/** The official subtask lists. */
export const MME_SUBTASKS = {
  perception: ['existence', 'count', 'position', 'color', 'posters', 'celebrity', 'scene', 'landmark', 'artwork', 'OCR'],
  cognition: ['commonsense_reasoning', 'numerical_calculation', 'text_translation', 'code_reasoning'],
} as const;

/** `parse_pred_ans`: exact yes/no, else look for "yes" then "no" in the first 4 characters. */
export function parseMmeAnswer(prediction: string): 'yes' | 'no' | 'other' {
  const answer = prediction.toLowerCase();
  if (answer === 'yes' || answer === 'no') return answer;
  const prefix = answer.slice(0, 4);
  if (prefix.includes('yes')) return 'yes';
  if (prefix.includes('no')) return 'no';
  return 'other';
}

/** MME predictions go into tab-separated lines: tabs and newlines become spaces. */
export function mmeResponseField(prediction: string): string {
  return prediction.replace(/[\t\r\n]/g, ' ');
}

/** One MME answer: its subtask, the image it belongs to (answers come in pairs per image) and the truth. */
export interface MmeEntry {
  readonly subtask: string;
  readonly image: string;
  readonly label: string;
  readonly prediction: string;
}

/** Per-subtask MME result. */
export interface MmeSubtaskScore {
  readonly acc: number;
  readonly accPlus: number;
  /** 100·acc + 100·acc+ (range 0–200). */
  readonly score: number;
  readonly other: number;
  readonly questions: number;
  readonly images: number;
}

/** MME totals and subtasks. */
export interface MmeScores {
  readonly perception: number;
  readonly cognition: number;
  readonly subtasks: Record<string, MmeSubtaskScore>;
}

/**
 * Score MME. Entries of a subtask keep file order; consecutive entries of the
 * same image form a pair for acc+ (the official script pairs consecutive
 * lines; its files hold two questions per image).
 */
export function mmeScores(entries: readonly MmeEntry[]): MmeScores {
  const bySubtask = new Map<string, MmeEntry[]>();
  for (const entry of entries) {
    const list = bySubtask.get(entry.subtask);
    if (list) list.push(entry);
    else bySubtask.set(entry.subtask, [entry]);
  }
  const subtasks: Record<string, MmeSubtaskScore> = {};
  for (const [subtask, list] of bySubtask) {
    let correct = 0;
    let other = 0;
    let plus = 0;
    let images = 0;
    for (let i = 0; i < list.length; ) {
      const image = (list[i] as MmeEntry).image;
      let allRight = true;
      let j = i;
      while (j < list.length && (list[j] as MmeEntry).image === image && j - i < 2) {
        const entry = list[j] as MmeEntry;
        const pred = parseMmeAnswer(mmeResponseField(entry.prediction));
        if (pred === 'other') other += 1;
        if (pred === entry.label.toLowerCase()) correct += 1;
        else allRight = false;
        j += 1;
      }
      if (allRight) plus += 1;
      images += 1;
      i = j;
    }
    const acc = correct / list.length;
    const accPlus = plus / images;
    subtasks[subtask] = { acc, accPlus, score: acc * 100 + accPlus * 100, other, questions: list.length, images };
  }
  const total = (names: readonly string[]) => {
    let sum = 0;
    for (const name of names) sum += subtasks[name]?.score ?? 0;
    return sum;
  };
  return { perception: total(MME_SUBTASKS.perception), cognition: total(MME_SUBTASKS.cognition), subtasks };
}
