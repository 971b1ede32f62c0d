import type { BenchmarkDefinition, EvalItem, SubmissionFile } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { readLlavaQuestions, resolveImage } from './common.js';

/** A question from a LLaVA-layout file. */
export interface LlavaCustomReference {
  readonly questionId: string | number;
}

/**
 * Any benchmark in the LLaVA evaluation layout (question jsonl: question_id,
 * image, text, category + image folder), as the released VAR code ran it.
 * No local score: the run writes an answers jsonl in model_vqa.py's format
 * for the benchmark's own scorer.
 */
export const llavaCustomBenchmark: BenchmarkDefinition<LlavaCustomReference> = {
  name: 'llava-questions',
  title: 'LLaVA-layout questions',
  group: 'general',
  inputs: 'question .jsonl (question_id, image, text, category); --images: image folder',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const items: EvalItem<LlavaCustomReference>[] = [];
    for (const { line, value } of readLlavaQuestions(options.data, issues)) {
      const where = { file: options.data, line };
      const image = value.image === undefined ? undefined : resolveImage({ dir: options.images, name: value.image, issues, ...where, check: options.checkImages ?? true });
      if (value.image !== undefined && !image) continue;
      items.push({ id: String(value.question_id), prompt: value.text, images: image ? [image] : [], category: value.category, reference: { questionId: value.question_id }, source: where });
    }
    return { items, skipped: issues.issues, labeled: false, description: `LLaVA layout: ${options.data}` };
  },
  submission(items, predictions): SubmissionFile {
    const lines = items.map((item) => `${JSON.stringify({ question_id: item.reference.questionId, prompt: item.prompt, text: predictions.get(item.id)?.text ?? '', model_id: 'vasink' })}\n`);
    return { fileName: 'answers.jsonl', content: lines.join(''), note: "answers in LLaVA model_vqa.py's format" };
  },
};
