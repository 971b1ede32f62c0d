import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';

import type { BenchmarkDefinition, EvalItem } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { EvalConfigError } from '../errors.js';
import { readJson, readTextFile } from '../jsonl.js';
import { chairGroundTruth, chairScores, chairVocabulary } from '../metrics/chair.js';
import { readLlavaQuestions, resolveImage } from './common.js';

/** CHAIR inputs for one caption. */
export interface ChairReference {
  readonly imageId: number;
  /** COCO annotation files and synonyms list, read when scoring. */
  readonly annotations: { readonly instances: readonly string[]; readonly captions: readonly string[]; readonly synonyms: string };
}

/**
 * CHAIR: a LLaVA-layout question file (one caption request per COCO image:
 * question_id, image `COCO_val2014_<id>.jpg`, text), --images COCO val2014 and
 * --annotations: the folder with instances_val2014.json, captions_val2014.json
 * (train2014 files too when present, as chair.py) and synonyms.txt
 * (LisaAnne/Hallucination data/synonyms.txt; `options.synonyms` overrides).
 */
export const chairBenchmark: BenchmarkDefinition<ChairReference> = {
  name: 'chair',
  title: 'CHAIR',
  group: 'hallucination',
  inputs: 'caption question .jsonl (LLaVA layout); --images COCO val2014; --annotations dir with instances_val2014.json, captions_val2014.json, synonyms.txt',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    if (!options.annotations) throw new EvalConfigError('CHAIR needs --annotations: the COCO annotations folder (instances_*2014.json, captions_*2014.json)');
    const dir = options.annotations;
    const pick = (kind: string) => ['val', 'train'].map((split) => join(dir, `${kind}_${split}2014.json`)).filter((file) => existsSync(file));
    const annotations = {
      instances: pick('instances'),
      captions: pick('captions'),
      synonyms: (options.options?.synonyms as string | undefined) ?? join(dir, 'synonyms.txt'),
    };
    const items: EvalItem<ChairReference>[] = [];
    for (const { line, value } of readLlavaQuestions(options.data, issues)) {
      const where = { file: options.data, line };
      const fromName = /(\d+)\.\w+$/.exec(basename(value.image ?? ''))?.[1];
      const imageId = Number(fromName ?? value.question_id);
      if (!Number.isInteger(imageId)) {
        issues.report({ ...where, reason: 'missing-field', message: 'cannot read a COCO image id from question_id or image' });
        continue;
      }
      const image = resolveImage({ dir: options.images, name: value.image ?? '', issues, ...where, check: options.checkImages ?? true });
      if (!image) continue;
      items.push({ id: String(value.question_id), prompt: value.text, images: [image], reference: { imageId, annotations }, source: where });
    }
    return { items, skipped: issues.issues, labeled: true, description: 'CHAIR on COCO captions' };
  },
  async score(items, predictions) {
    const first = items[0];
    if (!first) throw new EvalConfigError('CHAIR has no items');
    const { instances, captions, synonyms } = first.reference.annotations;
    const vocabulary = chairVocabulary(readTextFile(synonyms));
    const categories: { id: number; name: string }[] = [];
    const instanceList: { image_id: number; category_id: number }[] = [];
    for (const file of instances) {
      const data = readJson<{ categories: { id: number; name: string }[]; annotations: { image_id: number; category_id: number }[] }>(file);
      categories.push(...data.categories);
      instanceList.push(...data.annotations);
    }
    const captionList: { image_id: number; caption: string }[] = [];
    for (const file of captions) captionList.push(...readJson<{ annotations: { image_id: number; caption: string }[] }>(file).annotations);
    const truth = chairGroundTruth(new Set(items.map((item) => item.reference.imageId)), { categories, instances: instanceList, captions: captionList }, vocabulary);
    const result = chairScores(items.map((item) => ({ imageId: item.reference.imageId, caption: (predictions.get(item.id) as { text: string }).text })), truth, vocabulary);
    return {
      primary: { name: 'CHAIR_s', value: 100 * result.chairS },
      metrics: { CHAIR_s: 100 * result.chairS, CHAIR_i: 100 * result.chairI, recall: 100 * result.recall, length: result.length },
      notes: ['CHAIR as chair.py (NLTK tokens, pattern singularize, COCO synonyms); recall and length are not in chair.py (see README).'],
    };
  },
};
