import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchmarkDefinition, EvalItem } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { readTextFile } from '../jsonl.js';
import { MME_SUBTASKS, mmeResponseField, mmeScores } from '../metrics/mme.js';
import { isDirectory, resolveImage } from './common.js';

/** Ground truth of one MME question. */
export interface MmeReference {
  readonly subtask: string;
  readonly image: string;
  readonly label: 'Yes' | 'No';
  readonly question: string;
}

const ALL_SUBTASKS = [...MME_SUBTASKS.perception, ...MME_SUBTASKS.cognition];

/**
 * MME (Fu et al.): the release folder `MME_Benchmark_release_version/<subtask>/`
 * (image + `<image>.txt` with two `question\tanswer` lines, or `images/` and
 * `questions_answers_YN/`), or the eval_tool layout (`<subtask>.txt` with
 * `image\tquestion\tanswer` lines; then --images is the release folder).
 */
export const mmeBenchmark: BenchmarkDefinition<MmeReference> = {
  name: 'mme',
  title: 'MME',
  group: 'general',
  inputs: 'MME_Benchmark_release_version/ (subtask folders), or eval_tool-style <subtask>.txt files with --images MME_Benchmark_release_version',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const items: EvalItem<MmeReference>[] = [];
    const evalToolLayout = existsSync(join(options.data, 'existence.txt'));
    for (const subtask of ALL_SUBTASKS) {
      if (evalToolLayout) {
        const file = join(options.data, `${subtask}.txt`);
        if (!existsSync(file)) continue;
        const lines = readTextFile(file).split('\n');
        lines.forEach((raw, index) => {
          const line = raw.replace(/\r$/, '');
          if (line.trim() === '') return;
          const parts = line.split('\t');
          const where = { file, line: index + 1 };
          if (parts.length < 3) {
            issues.report({ ...where, reason: 'bad-record', message: 'expected image<TAB>question<TAB>answer' });
            return;
          }
          const [imageName, question, answer] = parts as [string, string, string];
          const dir = options.images === undefined ? undefined : subtaskImageDir(options.images, subtask);
          const item = makeItem(subtask, imageName, question, answer, dir, issues, where, check);
          if (item) items.push(item);
        });
        continue;
      }
      const subtaskDir = join(options.data, subtask);
      if (!isDirectory(subtaskDir)) continue;
      const qaDir = isDirectory(join(subtaskDir, 'images')) ? join(subtaskDir, 'questions_answers_YN') : subtaskDir;
      const imageDir = subtaskImageDir(options.data, subtask);
      for (const name of readdirSync(qaDir).filter((file) => file.endsWith('.txt')).sort()) {
        const file = join(qaDir, name);
        const stem = name.slice(0, -4);
        const imageName = ['.jpg', '.png', '.jpeg'].map((ext) => stem + ext).find((candidate) => existsSync(join(imageDir, candidate))) ?? `${stem}.jpg`;
        readTextFile(file)
          .split('\n')
          .forEach((raw, index) => {
            const line = raw.replace(/\r$/, '');
            if (line.trim() === '') return;
            const parts = line.trim().split('\t');
            const where = { file, line: index + 1 };
            if (parts.length !== 2) {
              issues.report({ ...where, reason: 'bad-record', message: 'expected question<TAB>answer' });
              return;
            }
            const item = makeItem(subtask, imageName, parts[0] as string, parts[1] as string, imageDir, issues, where, check);
            if (item) items.push(item);
          });
      }
    }
    if (items.length === 0 && issues.issues.length === 0) {
      issues.report({ file: options.data, reason: 'missing-file', message: 'no MME subtask found (expected subtask folders or <subtask>.txt files)' });
    }
    return { items, skipped: issues.issues, labeled: true, description: evalToolLayout ? 'MME (eval_tool layout)' : 'MME (release folder)' };
  },
  async score(items, predictions) {
    const result = mmeScores(
      items.map((item) => ({
        subtask: item.reference.subtask,
        image: item.reference.image,
        label: item.reference.label,
        prediction: (predictions.get(item.id) as { text: string }).text,
      })),
    );
    const breakdown: Record<string, Record<string, number>> = { score: {}, acc: {}, 'acc+': {} };
    for (const [subtask, s] of Object.entries(result.subtasks)) {
      (breakdown.score as Record<string, number>)[subtask] = s.score;
      (breakdown.acc as Record<string, number>)[subtask] = 100 * s.acc;
      (breakdown['acc+'] as Record<string, number>)[subtask] = 100 * s.accPlus;
    }
    return {
      primary: { name: 'perception', value: result.perception },
      metrics: { perception: result.perception, cognition: result.cognition, total: result.perception + result.cognition },
      breakdown,
      notes: ['MME calculation.py: score = 100·acc + 100·acc+ per subtask; answers read from their first 4 characters.'],
    };
  },
};

function subtaskImageDir(root: string, subtask: string): string {
  return isDirectory(join(root, subtask, 'images')) ? join(root, subtask, 'images') : join(root, subtask);
}

function makeItem(
  subtask: string,
  imageName: string,
  question: string,
  answer: string,
  dir: string | undefined,
  issues: DataIssues,
  where: { file: string; line: number },
  check: boolean,
): EvalItem<MmeReference> | undefined {
  if (answer !== 'Yes' && answer !== 'No') {
    issues.report({ ...where, reason: 'unknown-answer', message: `answer must be Yes or No, got ${JSON.stringify(answer)}` });
    return undefined;
  }
  const image = resolveImage({ dir, name: imageName, issues, ...where, check });
  if (!image) return undefined;
  return {
    id: `${subtask}/${imageName}#${where.line}`,
    prompt: question,
    images: [image],
    category: subtask,
    reference: { subtask, image: imageName, label: answer, question },
    source: where,
  };
}

/** The eval_tool result file of one subtask: `image\tquestion\tanswer\tprediction` lines. */
export function mmeEvalToolLines(items: readonly EvalItem<MmeReference>[], predictions: ReadonlyMap<string, { text: string }>, subtask: string): string {
  return items
    .filter((item) => item.reference.subtask === subtask)
    .map((item) => `${item.reference.image}\t${item.reference.question}\t${item.reference.label}\t${mmeResponseField(predictions.get(item.id)?.text ?? '')}\n`)
    .join('');
}
