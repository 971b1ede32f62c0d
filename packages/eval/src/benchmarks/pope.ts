import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchmarkDefinition, EvalItem } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { readJsonl } from '../jsonl.js';
import { popeMetrics } from '../metrics/pope.js';
import { SHORT_ANSWER_SUFFIX, isDirectory, resolveImage, stringField } from './common.js';

export const POPE_CATEGORIES = ['random', 'popular', 'adversarial'] as const;

/** Ground truth of a POPE question. */
export interface PopeReference {
  readonly category: string;
  readonly label: 'yes' | 'no';
}

/**
 * POPE (Li et al., 2023) on COCO: `coco_pope_{random,popular,adversarial}.json`
 * from the POPE repository's output/coco (one JSON object per line:
 * question_id, image, text, label) and the COCO val2014 images.
 */
export const popeBenchmark: BenchmarkDefinition<PopeReference> = {
  name: 'pope',
  title: 'POPE',
  group: 'hallucination',
  inputs: 'directory with coco_pope_random.json, coco_pope_popular.json, coco_pope_adversarial.json (POPE output/coco); --images: COCO val2014',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const dir = isDirectory(options.data) ? options.data : join(options.data, '..');
    const wanted = (options.options?.categories as string[] | undefined) ?? [...POPE_CATEGORIES];
    const items: EvalItem<PopeReference>[] = [];
    for (const category of wanted) {
      const file = join(dir, `coco_pope_${category}.json`);
      if (!existsSync(file)) {
        issues.report({ file, reason: 'missing-file', message: `POPE ${category} split not found` });
        continue;
      }
      for (const { line, value } of readJsonl(file, issues)) {
        const where = { file, line };
        const id = stringField(value, 'question_id', issues, where);
        const text = stringField(value, 'text', issues, where);
        const imageName = stringField(value, 'image', issues, where);
        const label = stringField(value, 'label', issues, where);
        if (id === undefined || text === undefined || imageName === undefined || label === undefined) continue;
        if (label !== 'yes' && label !== 'no') {
          issues.report({ ...where, reason: 'unknown-answer', message: `label must be "yes" or "no", got ${JSON.stringify(label)}` });
          continue;
        }
        const image = resolveImage({ dir: options.images, name: imageName, issues, ...where, check: options.checkImages ?? true });
        if (!image) continue;
        items.push({
          id: `${category}-${id}`,
          prompt: `${text}${SHORT_ANSWER_SUFFIX}`,
          images: [image],
          category,
          reference: { category, label },
          source: where,
        });
      }
    }
    return { items, skipped: issues.issues, labeled: true, description: `POPE COCO (${wanted.join(', ')})` };
  },
  async score(items, predictions) {
    const metrics: Record<string, number> = {};
    const breakdown: Record<string, Record<string, number>> = {};
    const f1s: number[] = [];
    const accuracies: number[] = [];
    for (const category of POPE_CATEGORIES) {
      const entries = items
        .filter((item) => item.reference.category === category)
        .map((item) => ({ prediction: (predictions.get(item.id) as { text: string }).text, label: item.reference.label }));
      if (entries.length === 0) continue;
      const m = popeMetrics(entries);
      breakdown[category] = {
        accuracy: 100 * m.accuracy,
        precision: 100 * m.precision,
        recall: 100 * m.recall,
        f1: 100 * m.f1,
        'yes ratio': 100 * m.yesRatio,
        TP: m.TP,
        FP: m.FP,
        TN: m.TN,
        FN: m.FN,
      };
      metrics[`${category} accuracy`] = 100 * m.accuracy;
      metrics[`${category} f1`] = 100 * m.f1;
      f1s.push(100 * m.f1);
      accuracies.push(100 * m.accuracy);
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    metrics['mean accuracy'] = mean(accuracies);
    return {
      primary: { name: 'mean f1', value: mean(f1s) },
      metrics: { 'mean f1': mean(f1s), ...metrics },
      breakdown,
      notes: ['Answers parsed as POPE evaluate.py: "no" iff the first sentence has the word No/not/no.'],
    };
  },
};
