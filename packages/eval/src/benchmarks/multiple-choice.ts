import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchmarkDefinition, EvalItem, ImageRef, LoadOptions, LoadedBenchmark, Prediction, SubmissionFile } from '../benchmark.js';
import { DataIssues } from '../data-issues.js';
import { parseDelimited, quoteDelimitedField } from '../delimited.js';
import { readJson, readJsonl, readTextFile } from '../jsonl.js';
import { cvBenchScores } from '../metrics/cv-bench.js';
import { gqaAccuracy, gqaPrediction } from '../metrics/gqa.js';
import { canInfer, evaluateCircularGroup, rotateChoices } from '../metrics/mmbench.js';
import { mmvpRuleCorrect, mmvpScores, parseMmvpGrade } from '../metrics/mmvp.js';
import { scienceQaScores } from '../metrics/science-qa.js';
import { seedBenchScores } from '../metrics/seed-bench.js';
import { pyStrip } from '../python-text.js';
import { mmbenchChoiceJudgeRequest, mmvpJudgeRequest } from '../judge/judge-prompts.js';
import { OPTION_LETTER_SUFFIX, SHORT_ANSWER_SUFFIX, letterOptions, readLlavaQuestions, resolveImage, stringField } from './common.js';

const textOf = (predictions: ReadonlyMap<string, Prediction>, id: string) => (predictions.get(id) as Prediction).text;

/** GQA ground truth; `structural` (query, verify, logical, choose, compare) splits open from binary questions. */
export interface GqaReference {
  readonly answer?: string;
  readonly structural?: string;
}

/**
 * GQA: official `testdev_balanced_questions.json` (questionId → {imageId,
 * question, answer}) with images/, or LLaVA's `llava_gqa_testdev_balanced.jsonl`
 * with --annotations testdev_balanced_questions.json.
 */
export const gqaBenchmark: BenchmarkDefinition<GqaReference> = {
  name: 'gqa',
  title: 'GQA',
  group: 'general',
  inputs: 'testdev_balanced_questions.json (or llava_gqa_testdev_balanced.jsonl with --annotations testdev_balanced_questions.json); --images: GQA images/',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const items: EvalItem<GqaReference>[] = [];
    type Question = { imageId: string; question: string; answer?: string; types?: { structural?: string } };
    if (options.data.endsWith('.jsonl')) {
      const labels = options.annotations ? readJson<Record<string, Question>>(options.annotations) : {};
      for (const { line, value } of readLlavaQuestions(options.data, issues)) {
        const where = { file: options.data, line };
        const image = resolveImage({ dir: options.images, name: value.image ?? '', issues, ...where, check });
        if (!image) continue;
        const label = labels[String(value.question_id)];
        items.push({ id: String(value.question_id), prompt: value.text, images: [image], reference: { answer: label?.answer, structural: label?.types?.structural }, source: where });
      }
    } else {
      const questions = readJson<Record<string, Question>>(options.data);
      for (const [id, q] of Object.entries(questions)) {
        const image = resolveImage({ dir: options.images, name: `${q.imageId}.jpg`, issues, file: options.data, check });
        if (!image) continue;
        items.push({ id, prompt: `${q.question}${SHORT_ANSWER_SUFFIX}`, images: [image], reference: { answer: q.answer, structural: q.types?.structural }, source: { file: options.data } });
      }
    }
    const labeled = items.length > 0 && items.every((item) => item.reference.answer !== undefined);
    return { items, skipped: issues.issues, labeled, description: 'GQA' };
  },
  async score(items, predictions) {
    const entries = items.map((item) => ({ prediction: textOf(predictions, item.id), answer: item.reference.answer as string, structural: item.reference.structural }));
    const accuracy = gqaAccuracy(entries);
    const metrics: Record<string, number> = { accuracy: 100 * accuracy };
    // eval.py: "open" questions are the structural type "query", every other type is "binary".
    if (entries.every((entry) => entry.structural !== undefined)) {
      const open = entries.filter((entry) => entry.structural === 'query');
      const binary = entries.filter((entry) => entry.structural !== 'query');
      if (binary.length > 0) metrics.binary = 100 * gqaAccuracy(binary);
      if (open.length > 0) metrics.open = 100 * gqaAccuracy(open);
    }
    return {
      primary: { name: 'accuracy', value: 100 * accuracy },
      metrics,
      notes: ["Prediction converted as LLaVA's convert_gqa_for_eval.py (rstrip('.').lower()), exact match with the answer, as GQA's eval.py."],
    };
  },
  submission(items, predictions): SubmissionFile {
    const rows = items.map((item) => ({ questionId: item.id, prediction: gqaPrediction(predictions.get(item.id)?.text ?? '') }));
    return { fileName: 'testdev_balanced_predictions.json', content: JSON.stringify(rows), note: 'input of the official GQA eval.py' };
  },
};

/** ScienceQA ground truth. */
export interface ScienceQaReference {
  readonly answer: number;
  readonly choiceCount: number;
  readonly hasImage: boolean;
}

interface ScienceQaProblem {
  question: string;
  choices: string[];
  answer: number;
  hint?: string;
  image?: string | null;
  split?: string;
}

/**
 * ScienceQA-IMG: `problems.json` + `pid_splits.json` from the ScienceQA
 * repository (data/scienceqa) and images/<split>/<pid>/image.png, or LLaVA's
 * `llava_test_CQM-A.json` (prompt and answer letter per problem, as
 * model_vqa_science.py reads it). By default only problems with an image (the
 * IMG subset); `options.includeTextOnly` keeps all.
 */
export const scienceQaBenchmark: BenchmarkDefinition<ScienceQaReference> = {
  name: 'scienceqa',
  title: 'ScienceQA-IMG',
  group: 'general',
  inputs: 'directory with problems.json and pid_splits.json (ScienceQA data/scienceqa), or llava_test_CQM-A.json; --images: images/test',
  judged: false,
  load(options) {
    if (options.data.endsWith('.json')) return loadScienceQaLlava(options);
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const split = (options.options?.split as string | undefined) ?? 'test';
    const problemsFile = join(options.data, 'problems.json');
    const problems = readJson<Record<string, ScienceQaProblem>>(problemsFile);
    const splits = readJson<Record<string, string[]>>(join(options.data, 'pid_splits.json'));
    const ids = splits[split];
    if (!ids) issues.report({ file: join(options.data, 'pid_splits.json'), reason: 'missing-field', message: `no split "${split}"` });
    const items: EvalItem<ScienceQaReference>[] = [];
    for (const pid of ids ?? []) {
      const problem = problems[pid];
      if (!problem) {
        issues.report({ file: problemsFile, reason: 'missing-field', message: `problem ${pid} of split ${split} is missing` });
        continue;
      }
      const hasImage = typeof problem.image === 'string' && problem.image.length > 0;
      if (!hasImage && !options.options?.includeTextOnly) continue;
      if (!Number.isInteger(problem.answer) || problem.answer < 0 || problem.answer >= problem.choices.length || problem.choices.length > 5) {
        issues.report({ file: problemsFile, reason: 'unknown-answer', message: `problem ${pid}: answer ${problem.answer} is not one of ${problem.choices.length} choices` });
        continue;
      }
      let images: ImageRef[] = [];
      if (hasImage) {
        const image = resolveImage({ dir: options.images ?? join(options.data, 'images', split), name: join(pid, problem.image as string), issues, file: problemsFile, check });
        if (!image) continue;
        images = [image];
      }
      const context = problem.hint ? `Context: ${problem.hint}\n` : '';
      items.push({
        id: pid,
        prompt: `${context}${problem.question}\n${letterOptions(problem.choices)}${OPTION_LETTER_SUFFIX}`,
        images,
        reference: { answer: problem.answer, choiceCount: problem.choices.length, hasImage },
        source: { file: problemsFile },
      });
    }
    return { items, skipped: issues.issues, labeled: true, description: `ScienceQA ${split}${options.options?.includeTextOnly ? '' : ' (IMG)'}` };
  },
  async score(items, predictions) {
    const result = scienceQaScores(items.map((item) => ({ prediction: predictions.get(item.id)?.text, ...item.reference })));
    return {
      primary: { name: 'img accuracy', value: result.imgAccuracy },
      metrics: { 'img accuracy': result.imgAccuracy, accuracy: result.accuracy },
      notes: ['Answers parsed as eval_science_qa.py (letter, "X. ...", or one "The answer is X.").'],
    };
  },
};

interface LlavaScienceQaEntry {
  id?: unknown;
  image?: unknown;
  conversations?: { from?: unknown; value?: unknown }[];
}

/**
 * LLaVA's ScienceQA question file (`llava_test_CQM-A.json`: id, image
 * "<pid>/image.png" when there is one, human turn "Context: ...\nquestion\nA. ..."
 * and the answer letter as the gpt turn). The prompt is the human turn without
 * `<image>`, as model_vqa_science.py builds it with --single-pred-prompt.
 */
function loadScienceQaLlava(options: LoadOptions): LoadedBenchmark<ScienceQaReference> {
  const issues = new DataIssues(options);
  const check = options.checkImages ?? true;
  const file = options.data;
  const entries = readJson<LlavaScienceQaEntry[]>(file);
  if (!Array.isArray(entries)) issues.report({ file, reason: 'unknown-format', message: 'expected a JSON list of LLaVA conversations (llava_test_CQM-A.json)' });
  const items: EvalItem<ScienceQaReference>[] = [];
  for (const entry of Array.isArray(entries) ? entries : []) {
    const id = typeof entry.id === 'string' || typeof entry.id === 'number' ? String(entry.id) : undefined;
    const human = entry.conversations?.[0]?.value;
    const answer = entry.conversations?.[1]?.value;
    if (id === undefined || typeof human !== 'string' || typeof answer !== 'string') {
      issues.report({ file, reason: 'missing-field', message: `entry ${String(entry.id)}: needs an id and a human and a gpt turn` });
      continue;
    }
    // The options are the trailing "X. text" lines, A first.
    const lines = human.split('\n');
    let choiceCount = 0;
    while (choiceCount < lines.length && /^[A-E]\. /.test(lines[lines.length - 1 - choiceCount] as string)) choiceCount += 1;
    const answerIndex = answer.length === 1 ? answer.charCodeAt(0) - 65 : -1;
    if (answerIndex < 0 || answerIndex >= choiceCount) {
      issues.report({ file, reason: 'unknown-answer', message: `problem ${id}: answer ${JSON.stringify(answer)} is not one of ${choiceCount} options` });
      continue;
    }
    const hasImage = typeof entry.image === 'string';
    if (!hasImage && !options.options?.includeTextOnly) continue;
    let images: ImageRef[] = [];
    if (hasImage) {
      // LLaVA's layout: scienceqa/llava_test_CQM-A.json beside scienceqa/images/test/<pid>/image.png.
      const image = resolveImage({ dir: options.images ?? join(file, '..', 'images', 'test'), name: entry.image as string, issues, file, check });
      if (!image) continue;
      images = [image];
    }
    items.push({
      id,
      prompt: `${pyStrip(human.replaceAll('<image>', ''))}${OPTION_LETTER_SUFFIX}`,
      images,
      reference: { answer: answerIndex, choiceCount, hasImage },
      source: { file },
    });
  }
  return { items, skipped: issues.issues, labeled: true, description: `ScienceQA (LLaVA question file${options.options?.includeTextOnly ? '' : ', IMG'})` };
}

/** SEED-Bench ground truth. */
export interface SeedReference {
  readonly answer: string;
  readonly questionTypeId: number;
  readonly questionId: string;
}

/** SEED-Bench (image part, dimensions 1–9): `SEED-Bench.json` and SEED-Bench-image/. */
export const seedBenchmark: BenchmarkDefinition<SeedReference> = {
  name: 'seed-bench',
  title: 'SEED-Bench (image)',
  group: 'general',
  inputs: 'SEED-Bench.json; --images: SEED-Bench-image',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const check = options.checkImages ?? true;
    const data = readJson<{ questions?: Record<string, unknown>[] }>(options.data);
    const items: EvalItem<SeedReference>[] = [];
    (data.questions ?? []).forEach((q, index) => {
      const where = { file: options.data, record: index };
      const type = Number(q.question_type_id);
      if (q.data_type !== 'image' && !(type >= 1 && type <= 9)) return;
      const choices = ['choice_a', 'choice_b', 'choice_c', 'choice_d'].map((key) => q[key]);
      const answer = q.answer;
      if (typeof answer !== 'string' || !['A', 'B', 'C', 'D'].includes(answer) || choices.some((c) => typeof c !== 'string')) {
        issues.report({ file: options.data, reason: 'unknown-answer', message: `question ${String(q.question_id)}: answer must be A–D with four choices` });
        return;
      }
      const dataId = String(q.data_id);
      const dir = options.images;
      const name = dir && !existsSync(join(dir, dataId)) && existsSync(join(dir, `${dataId}.jpg`)) ? `${dataId}.jpg` : dataId;
      const image = resolveImage({ dir, name, issues, file: where.file, check });
      if (!image) return;
      items.push({
        id: String(q.question_id),
        prompt: `${String(q.question)}\n${letterOptions(choices as string[])}${OPTION_LETTER_SUFFIX}`,
        images: [image],
        reference: { answer, questionTypeId: type, questionId: String(q.question_id) },
        source: { file: options.data },
      });
    });
    return { items, skipped: issues.issues, labeled: true, description: 'SEED-Bench image dimensions' };
  },
  async score(items, predictions) {
    const result = seedBenchScores(items.map((item) => ({ prediction: predictions.get(item.id)?.text, answer: item.reference.answer, questionTypeId: item.reference.questionTypeId })));
    return {
      primary: { name: 'image accuracy', value: result.total },
      metrics: { 'image accuracy': result.total },
      breakdown: { dimension: result.perDimension },
      notes: ["Exact match of the answer text with the letter, as LLaVA's convert_seed_for_submission.py."],
    };
  },
  submission(items, predictions): SubmissionFile {
    const lines = items.map((item) => `${JSON.stringify({ question_id: item.reference.questionId, prediction: predictions.get(item.id)?.text ?? '' })}\n`).join('');
    return { fileName: 'seed-bench-upload.jsonl', content: lines, note: 'SEED-Bench leaderboard upload (LLaVA convert_seed_for_submission.py)' };
  },
};

/** MMBench question (one circular pass). */
export interface MmbenchReference {
  readonly index: number;
  readonly group: number;
  readonly question: string;
  readonly choices: Readonly<Record<string, string>>;
  readonly answer?: string;
  readonly category?: string;
  readonly l2Category?: string;
  readonly row: Readonly<Record<string, string>>;
}

const isNone = (value: string | undefined) => value === undefined || value === '' || ['nan', 'none'].includes(value.toLowerCase());

/**
 * MMBench: the TSV as released (`mmbench_dev_20230712.tsv`, legacy or
 * VLMEvalKit format; base64 images inside). Circular evaluation groups rows by
 * index mod 1e6; a file without the circular copies gets them by rotating the
 * options as LLaVA's `--all-rounds` (`options.circular`, default true).
 */
export const mmbenchBenchmark: BenchmarkDefinition<MmbenchReference> = {
  name: 'mmbench',
  title: 'MMBench',
  group: 'general',
  inputs: 'mmbench_dev_20230712.tsv (or MMBench_DEV_EN.tsv / test TSV)',
  judged: 'optional',
  load(options) {
    const issues = new DataIssues(options);
    const { header, rows } = parseDelimited(readTextFile(options.data), '\t');
    for (const column of ['index', 'question', 'A', 'B']) {
      if (!header.includes(column)) issues.report({ file: options.data, line: 1, reason: 'unknown-format', message: `MMBench TSV has no "${column}" column` });
    }
    const imageOf = new Map<string, string>();
    for (const row of rows) if ((row.fields.image ?? '').length > 64) imageOf.set(row.fields.index as string, row.fields.image as string);
    const items: EvalItem<MmbenchReference>[] = [];
    const circularInFile = rows.some((row) => Number(row.fields.index) >= 1e6);
    const rotate = (options.options?.circular ?? true) !== false && !circularInFile;
    for (const { line, fields } of rows) {
      const where = { file: options.data, line };
      const index = Number(fields.index);
      if (!Number.isInteger(index)) {
        issues.report({ ...where, reason: 'missing-field', message: 'row has no integer "index"' });
        continue;
      }
      const options_: string[] = [];
      for (const letter of ['A', 'B', 'C', 'D']) {
        if (isNone(fields[letter])) break;
        options_.push(fields[letter] as string);
      }
      const answer = isNone(fields.answer) ? undefined : fields.answer;
      const answerIndex = answer === undefined ? -1 : answer.charCodeAt(0) - 65;
      if (answer !== undefined && (answerIndex < 0 || answerIndex >= options_.length)) {
        issues.report({ ...where, reason: 'unknown-answer', message: `answer ${JSON.stringify(answer)} is not one of the ${options_.length} options` });
        continue;
      }
      let base64 = fields.image ?? '';
      if (base64.length <= 64) base64 = imageOf.get(base64) ?? imageOf.get(String(index % 1e6)) ?? '';
      if (base64 === '') {
        issues.report({ ...where, reason: 'missing-image', message: 'row has no image' });
        continue;
      }
      const rounds = rotate ? options_.length : 1;
      for (let round = 0; round < rounds; round += 1) {
        const rotated = rotateChoices(options_, Math.max(answerIndex, 0), round);
        const choices = Object.fromEntries(rotated.options.map((text, i) => [String.fromCharCode(65 + i), text]));
        const question = isNone(fields.hint) ? (fields.question as string) : `${fields.hint}\n${fields.question}`;
        let prompt = question;
        for (const [letter, text] of Object.entries(choices)) prompt += `\n${letter}. ${text}`;
        items.push({
          id: round === 0 ? String(index) : `${index}@${round}`,
          prompt: `${prompt}${OPTION_LETTER_SUFFIX}`,
          images: [{ base64 }],
          category: fields.category,
          reference: {
            index,
            group: index % 1e6,
            question: fields.question as string,
            choices,
            answer: answer === undefined ? undefined : String.fromCharCode(65 + rotated.answerIndex),
            category: fields.category,
            l2Category: fields['l2-category'],
            row: fields,
          },
          source: where,
        });
      }
    }
    const labeled = items.length > 0 && items.every((item) => item.reference.answer !== undefined);
    return { items, skipped: issues.issues, labeled, description: `MMBench (${rotate ? 'options rotated for circular evaluation' : 'circular copies from the file'})` };
  },
  async score(items, predictions, context) {
    if (!items.every((item) => item.reference.answer !== undefined)) {
      return { primary: { name: 'circular accuracy', value: Number.NaN }, metrics: {} as Record<string, number>, scored: 0, notes: ['No answers: submit the submission TSV to the MMBench server.'] };
    }
    const groups = new Map<number, EvalItem<MmbenchReference>[]>();
    for (const item of items) groups.set(item.reference.group, [...(groups.get(item.reference.group) ?? []), item]);
    let hits = 0;
    let vanilla = 0;
    let unresolved = 0;
    const perCategory = new Map<string, { n: number; hit: number }>();
    const versions = new Set<string>();
    for (const [, members] of groups) {
      const passes = members.map((item) => ({ prediction: textOf(predictions, item.id), choices: item.reference.choices, answer: item.reference.answer as string, question: item.reference.question }));
      const extract = context.judge
        ? async (pass: (typeof passes)[number]) => {
            for (let attempt = 0; attempt < 3; attempt += 1) {
              const request = mmbenchChoiceJudgeRequest({ question: pass.question, choices: pass.choices, prediction: pass.prediction });
              versions.add(request.promptVersion);
              const reply = await (context.judge as NonNullable<typeof context.judge>).complete(attempt === 0 ? request : { ...request, temperature: 0.0001 * attempt });
              const option = canInfer(reply.content, pass.choices);
              if (option) return option;
            }
            return false as const;
          }
        : undefined;
      const result = await evaluateCircularGroup(passes, extract);
      hits += result.hit;
      unresolved += result.unresolved;
      const first = members[0] as EvalItem<MmbenchReference>;
      if (canInfer(passes[0]?.prediction ?? '', first.reference.choices) === first.reference.answer) vanilla += 1;
      const category = first.reference.category ?? 'unknown';
      const bucket = perCategory.get(category) ?? { n: 0, hit: 0 };
      bucket.n += 1;
      bucket.hit += result.hit;
      perCategory.set(category, bucket);
    }
    return {
      primary: { name: 'circular accuracy', value: (100 * hits) / groups.size },
      metrics: { 'circular accuracy': (100 * hits) / groups.size, 'single-pass accuracy': (100 * vanilla) / groups.size, 'unmatched passes': unresolved },
      breakdown: { category: Object.fromEntries([...perCategory].map(([key, { n, hit }]) => [key, (100 * hit) / n])) },
      ...(context.judge && versions.size > 0 ? { judge: { model: context.judge.model, url: context.judge.url, promptVersions: [...versions] } } : {}),
      notes: [
        context.judge
          ? 'Circular evaluation (VLMEvalKit): rule matching first, the judge extracts choices it cannot read.'
          : 'Circular evaluation (VLMEvalKit) under the exact-matching policy: passes rules cannot read count as wrong.',
      ],
    };
  },
  submission(items, predictions): SubmissionFile {
    const originals = items.filter((item) => !item.id.includes('@'));
    const first = originals[0];
    if (!first) return { fileName: 'mmbench-submission.tsv', content: '', note: 'empty' };
    const columns = Object.keys(first.reference.row).filter((name) => !['hint', 'category', 'source', 'image', 'comment', 'l2-category'].includes(name));
    columns.splice(6, 0, 'prediction');
    const lines = [columns.join('\t')];
    for (const item of originals) {
      lines.push(columns.map((column) => quoteDelimitedField(column === 'prediction' ? predictions.get(item.id)?.text ?? '' : item.reference.row[column] ?? '', '\t')).join('\t'));
    }
    return {
      fileName: 'mmbench-submission.tsv',
      content: `${lines.join('\n')}\n`,
      note: "Columns of LLaVA's convert_mmbench_for_submission.py; that script writes .xlsx (openpyxl), this is the same table as TSV — open and save it as .xlsx for the server.",
    };
  },
};

/** MMVP ground truth. */
export interface MmvpReference {
  readonly index: number;
  readonly question: string;
  readonly options: string;
  readonly correctAnswer: string;
}

/** MMVP: `Questions.csv` (Index, Question, Options, Correct Answer) and `MMVP Images/<Index>.jpg`. */
export const mmvpBenchmark: BenchmarkDefinition<MmvpReference> = {
  name: 'mmvp',
  title: 'MMVP',
  group: 'vision-centric',
  inputs: 'MMVP directory with Questions.csv and "MMVP Images/"',
  judged: 'optional',
  load(options) {
    const issues = new DataIssues(options);
    const file = join(options.data, 'Questions.csv');
    const { rows } = parseDelimited(readTextFile(file), ',');
    const items: EvalItem<MmvpReference>[] = [];
    for (const { line, fields } of rows) {
      const where = { file, line };
      const index = Number(fields.Index);
      const question = fields.Question;
      const opts = fields.Options;
      const correct = fields['Correct Answer'];
      if (!Number.isInteger(index) || !question || !opts || !correct) {
        issues.report({ ...where, reason: 'missing-field', message: 'row needs Index, Question, Options and Correct Answer' });
        continue;
      }
      if (!/^\([a-z]\)$/i.test(correct.trim())) {
        issues.report({ ...where, reason: 'unknown-answer', message: `Correct Answer must look like "(a)", got ${JSON.stringify(correct)}` });
        continue;
      }
      const image = resolveImage({ dir: options.images ?? join(options.data, 'MMVP Images'), name: `${index}.jpg`, issues, ...where, check: options.checkImages ?? true });
      if (!image) continue;
      items.push({ id: String(index), prompt: `${question} ${opts}`, images: [image], reference: { index, question, options: opts, correctAnswer: correct.trim() }, source: where });
    }
    return { items, skipped: issues.issues, labeled: true, description: 'MMVP' };
  },
  async score(items, predictions, context) {
    const mode = context.judge ? 'judge' : 'rule';
    const correct: boolean[] = [];
    const sorted = [...items].sort((a, b) => a.reference.index - b.reference.index);
    for (const item of sorted) {
      const prediction = textOf(predictions, item.id);
      if (context.judge) {
        const reply = await context.judge.complete(mmvpJudgeRequest({ question: `${item.reference.question} ${item.reference.options}`, correctAnswer: item.reference.correctAnswer, prediction }));
        correct.push(parseMmvpGrade(reply.content) === 'yes');
      } else {
        correct.push(mmvpRuleCorrect(prediction, item.reference.options, item.reference.correctAnswer));
      }
    }
    const result = mmvpScores(correct);
    return {
      primary: { name: 'pair accuracy', value: 100 * result.pairAccuracy },
      metrics: { 'pair accuracy': 100 * result.pairAccuracy, 'question accuracy': 100 * result.questionAccuracy },
      ...(context.judge ? { judge: { model: context.judge.model, url: context.judge.url, promptVersions: ['mmvp-v1'] } } : {}),
      notes: [mode === 'judge' ? 'Graded by the judge with MMVP gpt_grader.py\'s prompt; a pair counts when both answers are right.' : 'Graded by option matching (VLMEvalKit can_infer), no judge; a pair counts when both answers are right.'],
    };
  },
};

/** CV-Bench ground truth. */
export interface CvBenchReference {
  readonly answer: string;
  readonly source: string;
  readonly task: string;
  readonly type: string;
}

/** The annotation files of a CV-Bench directory: `test.jsonl`, or `test_2d.jsonl` + `test_3d.jsonl` since the split release. */
function cvBenchFiles(data: string): string[] {
  if (data.endsWith('.jsonl')) return [data];
  const single = join(data, 'test.jsonl');
  const split = [join(data, 'test_2d.jsonl'), join(data, 'test_3d.jsonl')];
  return !existsSync(single) && split.every((file) => existsSync(file)) ? split : [single];
}

/**
 * CV-Bench: `test.jsonl` (idx, type, task, prompt, answer "(A)", source,
 * filename) and img/; the dataset repository now ships the same records as
 * `test_2d.jsonl` and `test_3d.jsonl`, which a directory may hold instead.
 */
export const cvBenchBenchmark: BenchmarkDefinition<CvBenchReference> = {
  name: 'cv-bench',
  title: 'CV-Bench',
  group: 'vision-centric',
  inputs: 'CV-Bench directory with test.jsonl (or test_2d.jsonl and test_3d.jsonl) and img/',
  judged: false,
  load(options) {
    const issues = new DataIssues(options);
    const files = cvBenchFiles(options.data);
    const items: EvalItem<CvBenchReference>[] = [];
    for (const file of files) {
      const root = options.images ?? join(file, '..');
      for (const { line, value } of readJsonl(file, issues)) {
        const where = { file, line };
        const fields = ['idx', 'type', 'task', 'prompt', 'answer', 'source', 'filename'].map((key) => stringField(value, key, issues, where));
        if (fields.some((field) => field === undefined)) continue;
        const [idx, type, task, prompt, answer, source, filename] = fields as string[];
        if (!/^\([A-Z]\)$/.test(answer as string)) {
          issues.report({ ...where, reason: 'unknown-answer', message: `answer must look like "(A)", got ${JSON.stringify(answer)}` });
          continue;
        }
        const image = resolveImage({ dir: root, name: filename as string, issues, ...where, check: options.checkImages ?? true });
        if (!image) continue;
        // test_2d/test_3d may number their records independently.
        const id = files.length > 1 ? `${type}-${idx}` : (idx as string);
        items.push({ id, prompt: `${prompt}${OPTION_LETTER_SUFFIX}`, images: [image], category: type, reference: { answer: answer as string, source: source as string, task: task as string, type: type as string }, source: where });
      }
    }
    return { items, skipped: issues.issues, labeled: true, description: 'CV-Bench test' };
  },
  async score(items, predictions) {
    const result = cvBenchScores(items.map((item) => ({ prediction: textOf(predictions, item.id), ...item.reference })));
    const pct = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).map(([key, value]) => [key, 100 * value]));
    return {
      primary: { name: 'overall', value: 100 * result.overall },
      metrics: { overall: 100 * result.overall, '2D': 100 * result.accuracy2d, '3D': 100 * result.accuracy3d },
      breakdown: { source: pct(result.perSource), task: pct(result.perTask) },
      notes: ['Overall = ((ADE20K + COCO)/2 + Omni3D)/2, as published with CV-Bench; letter = first "(X)" in the answer, else its first character.'],
    };
  },
};
