// Loaders on records as their authors released them (src/__fixtures__/README.md
// lists repository, path and commit of each). Where a test needs a file no
// stored source holds (an annotation file), it writes a hand-built one and says so.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { Prediction } from '../benchmark.js';
import { OPTION_LETTER_SUFFIX } from './common.js';
import { mmvetBenchmark } from './judged.js';
import { cvBenchBenchmark, gqaBenchmark, mmbenchBenchmark, scienceQaBenchmark, seedBenchmark } from './multiple-choice.js';
import { textVqaQuestionFromPrompt, textvqaBenchmark, vizwizBenchmark, vqav2Benchmark } from './vqa.js';

const records = (path: string) => fileURLToPath(new URL(`../__fixtures__/records/${path}`, import.meta.url));
const scratch = () => mkdtempSync(join(tmpdir(), 'vasink-eval-records-'));
const predictionsOf = (texts: Record<string, string>) =>
  new Map<string, Prediction>(Object.entries(texts).map(([id, text]) => [id, { id, row: 'base', text }]));

describe('MMBench_DEV_EN.tsv (VLMEvalKit release, two dev rows)', () => {
  const file = records('mmbench/MMBench_DEV_EN.tsv');
  const llava = readFileSync(records('mmbench/llava-v1.5-13b.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { question_id: number; prompt: string; text: string });

  it('reads quoted multi-line hints and builds the prompt LLaVA-1.5 was given', () => {
    const { items, labeled } = mmbenchBenchmark.load({ data: file });
    expect(labeled).toBe(true);
    // Two options each, no circular copies in the file: each row is rotated once more.
    expect(items.map((item) => item.id)).toEqual(['241', '241@1', '252', '252@1']);
    for (const answer of llava) {
      const item = items.find((candidate) => candidate.id === String(answer.question_id));
      expect(item?.prompt).toBe(`${answer.prompt}${OPTION_LETTER_SUFFIX}`);
    }
    expect(items[0]?.reference).toMatchObject({ index: 241, group: 241, answer: 'B', category: 'identity_reasoning', l2Category: 'attribute_reasoning' });
    expect(items[1]?.reference.answer).toBe('A');
    expect(items[1]?.prompt).toContain("\nA. Does Madelyn's snowboard slide down a hill in less time when it has a layer of wax or when it does not have a layer of wax?\nB. ");
    expect(items[0]?.images[0]).toHaveProperty('base64');
  });

  it('scores LLaVA-1.5-13B answers circularly (hand-checked) and writes the submission columns', async () => {
    const { items } = mmbenchBenchmark.load({ data: file });
    // LLaVA answered the first pass of both questions ('B', right); the rotated passes
    // here are hypothetical: 241 answered right, 252 answered with the old letter.
    const texts = Object.fromEntries(llava.map((answer) => [String(answer.question_id), answer.text]));
    const predictions = predictionsOf({ ...texts, '241@1': 'A', '252@1': 'B' });
    const score = await mmbenchBenchmark.score?.(items, predictions, {});
    expect(score?.metrics).toMatchObject({ 'circular accuracy': 50, 'single-pass accuracy': 100 });
    expect(score?.breakdown?.category).toEqual({ identity_reasoning: 100, physical_property_reasoning: 0 });
    const submission = mmbenchBenchmark.submission?.(items, predictions);
    expect(submission?.content.split('\n')[0]).toBe('index\tquestion\tA\tB\tC\tD\tprediction\tanswer\tsplit');
  });
});

describe('LLaVA-1.5 question files (haotian-liu/LLaVA#1199 eval data)', () => {
  it('GQA llava_gqa_testdev_balanced.jsonl, with hand-built answers keyed by the real ids', () => {
    const data = records('gqa/llava_gqa_testdev_balanced.jsonl');
    const bare = gqaBenchmark.load({ data, checkImages: false });
    expect(bare.labeled).toBe(false);
    expect(bare.items[0]).toMatchObject({ id: '201307251', prompt: 'Is it overcast?\nAnswer the question using a single word or phrase.', images: [{ path: 'n161313.jpg' }] });
    const dir = scratch();
    const annotations = join(dir, 'testdev_balanced_questions.json');
    // Hand-built: testdev_balanced_questions.json is in no stored source.
    writeFileSync(annotations, JSON.stringify({ '201307251': { imageId: 'n161313', question: 'Is it overcast?', answer: 'no' }, '201640614': { answer: 'woman' }, '202225914': { answer: 'yes' } }));
    const { items, labeled } = gqaBenchmark.load({ data, annotations, checkImages: false });
    expect(labeled).toBe(true);
    expect(items.map((item) => item.reference.answer)).toEqual(['no', 'woman', 'yes']);
  });

  it('TextVQA llava_textvqa_val_v051_ocr.jsonl: OCR-token prompts matched to annotations by image and question', () => {
    const data = records('textvqa/llava_textvqa_val_v051_ocr.jsonl');
    const bare = textvqaBenchmark.load({ data, checkImages: false });
    expect(bare.items.map((item) => item.id)).toEqual(['003a8ae2ef43b901#1', 'b9dc400eb20bad64#2', '2b538a43dd933fc1#3']);
    expect(textVqaQuestionFromPrompt(bare.items[0]?.prompt ?? '')).toBe('what is the brand of this camera?');
    const dir = scratch();
    const annotations = join(dir, 'TextVQA_0.5.1_val.json');
    // Hand-built in the released layout (data[]: question_id, image_id, lower-case question, 10 answers);
    // the official file is in no stored source. The third question has no annotation.
    writeFileSync(
      annotations,
      JSON.stringify({
        data: [
          { question_id: 34602, image_id: '003a8ae2ef43b901', question: 'what is the brand of this camera?', answers: Array(10).fill('dakota') },
          { question_id: 34603, image_id: 'b9dc400eb20bad64', question: 'what does the small white text spell?', answers: Array(10).fill('copenhagen') },
        ],
      }),
    );
    expect(() => textvqaBenchmark.load({ data, annotations, checkImages: false })).toThrow('no TextVQA annotation');
    const { items, skipped } = textvqaBenchmark.load({ data, annotations, checkImages: false, allowSkips: true });
    expect(items.map((item) => item.reference.questionId)).toEqual([34602, 34603]);
    expect(skipped.map((issue) => [issue.reason, issue.line])).toEqual([['unknown-answer', 3]]);
  });

  it('VizWiz llava_test.jsonl: server-scored, submission [{image, answer}]', () => {
    const { items, labeled } = vizwizBenchmark.load({ data: records('vizwiz/llava_test.jsonl'), checkImages: false });
    expect(labeled).toBe(false);
    expect(items[0]?.prompt).toBe("What is this? and what color is it?\nWhen the provided information is insufficient, respond with 'Unanswerable'.\nAnswer the question using a single word or phrase.");
    const submission = vizwizBenchmark.submission?.(items, predictionsOf({ '0': 'A Bottle.', '1': 'unanswerable', '2': 'No' }));
    expect(JSON.parse(submission?.content ?? '')).toEqual([
      { image: 'VizWiz_test_00000000.jpg', answer: 'bottle' },
      { image: 'VizWiz_test_00000001.jpg', answer: 'unanswerable' },
      { image: 'VizWiz_test_00000002.jpg', answer: 'no' },
    ]);
  });

  it('ScienceQA llava_test_CQM-A.json: IMG subset by default, answer letter from the gpt turn', () => {
    const data = records('scienceqa/llava_test_CQM-A.json');
    const img = scienceQaBenchmark.load({ data, images: '/data/scienceqa/images/test', checkImages: false });
    expect(img.items.map((item) => item.id)).toEqual(['5', '11']);
    expect(img.items[0]?.reference).toEqual({ answer: 1, choiceCount: 3, hasImage: true });
    expect(img.items[0]?.images).toEqual([{ path: '/data/scienceqa/images/test/5/image.png' }]);
    expect(img.items[0]?.prompt.startsWith('Context: People can use the engineering-design process')).toBe(true);
    expect(img.items[1]?.prompt).toBe(`What is the name of the colony shown?\nA. Maryland\nB. New Hampshire\nC. Rhode Island\nD. Vermont${OPTION_LETTER_SUFFIX}`);
    const all = scienceQaBenchmark.load({ data, checkImages: false, options: { includeTextOnly: true } });
    expect(all.items.map((item) => [item.id, item.reference.answer, item.reference.choiceCount, item.reference.hasImage])).toEqual([
      ['4', 1, 2, false],
      ['5', 1, 3, true],
      ['11', 1, 4, true],
      ['15', 0, 2, false],
    ]);
  });

  it('MM-Vet llava-mm-vet.jsonl: ids v1_<n> as the official results file keys them', async () => {
    const { items, labeled } = mmvetBenchmark.load({ data: records('mm-vet/llava-mm-vet.jsonl'), checkImages: false });
    expect(labeled).toBe(false);
    const official = JSON.parse(readFileSync(records('mm-vet/llava_llama2_13b_chat.head.json'), 'utf8')) as Record<string, string>;
    expect(items.map((item) => item.id)).toEqual(Object.keys(official));
    expect(items[0]).toMatchObject({ prompt: 'What is x in the equation?', images: [{ path: expect.stringMatching(/images\/v1_0\.png$/) }] });
    const score = await mmvetBenchmark.score?.(items, predictionsOf(official), {});
    expect(score?.scored).toBe(0);
    expect(Object.keys(JSON.parse(mmvetBenchmark.submission?.(items, predictionsOf(official))?.content ?? '{}'))).toEqual(['v1_0', 'v1_1', 'v1_2']);
  });
});

describe('SEED-Bench.json (records documented in the authors\' DATASET.md)', () => {
  it('keeps the image dimensions (1–9) and skips the video ones', () => {
    const { items } = seedBenchmark.load({ data: records('seed-bench/SEED-Bench.json'), checkImages: false });
    expect(items.map((item) => item.id)).toEqual(['101669']);
    expect(items[0]?.reference).toEqual({ answer: 'A', questionTypeId: 5, questionId: '101669' });
  });
});

describe('CV-Bench (no released record is stored; hand-built records in the documented layout)', () => {
  const record = (idx: number, type: string, source: string) =>
    JSON.stringify({ idx, type, task: type === '2D' ? 'Count' : 'Depth', image: null, question: 'q', choices: ['3', '2'], answer: '(B)', prompt: 'q Select from the following choices.\n(A) 3\n(B) 2', filename: `img/${type}/x_${idx}.png`, source, source_dataset: source, source_filename: 'f.jpg', target_class: null, target_size: null, bbox: null });
  it('reads test.jsonl, or test_2d.jsonl + test_3d.jsonl (the current release layout)', () => {
    const single = scratch();
    writeFileSync(join(single, 'test.jsonl'), `${record(0, '2D', 'ADE20K')}\n${record(1, '3D', 'Omni3D')}\n`);
    expect(cvBenchBenchmark.load({ data: single, checkImages: false }).items.map((item) => item.id)).toEqual(['0', '1']);
    const split = scratch();
    mkdirSync(join(split, 'img'));
    writeFileSync(join(split, 'test_2d.jsonl'), `${record(0, '2D', 'COCO')}\n`);
    writeFileSync(join(split, 'test_3d.jsonl'), `${record(0, '3D', 'Omni3D')}\n`);
    const { items } = cvBenchBenchmark.load({ data: split, checkImages: false });
    expect(items.map((item) => [item.id, item.reference.source])).toEqual([
      ['2D-0', 'COCO'],
      ['3D-0', 'Omni3D'],
    ]);
    expect(items[0]?.images).toEqual([{ path: join(split, 'img/2D/x_0.png') }]);
  });
});

describe('VQAv2 (no released file is stored; hand-built in the layout vqaTools/vqa.py reads)', () => {
  it('questions + annotations: COCO image names from data_subtype, ten answers, answer and question types', async () => {
    const dir = scratch();
    const data = join(dir, 'v2_OpenEnded_mscoco_val2014_questions.json');
    const annotations = join(dir, 'v2_mscoco_val2014_annotations.json');
    writeFileSync(data, JSON.stringify({ info: {}, task_type: 'Open-Ended', data_type: 'mscoco', data_subtype: 'val2014', license: {}, questions: [{ question_id: 262148000, image_id: 262148, question: 'Where is he looking?' }] }));
    const answers = ['down', 'down', 'at table', 'skateboard', 'down', 'table', 'down', 'down', 'down', 'down'];
    writeFileSync(annotations, JSON.stringify({ annotations: [{ question_id: 262148000, image_id: 262148, question_type: 'none of the above', answer_type: 'other', multiple_choice_answer: 'down', answers: answers.map((answer, i) => ({ answer, answer_confidence: 'yes', answer_id: i + 1 })) }] }));
    const { items, labeled } = vqav2Benchmark.load({ data, annotations, images: '/coco/val2014', checkImages: false });
    expect(labeled).toBe(true);
    expect(items[0]).toMatchObject({ id: '262148000', prompt: 'Where is he looking?\nAnswer the question using a single word or phrase.', images: [{ path: '/coco/val2014/COCO_val2014_000000262148.jpg' }] });
    expect(items[0]?.reference).toMatchObject({ answers, answerType: 'other', questionType: 'none of the above' });
    // 7 humans said "down": every leave-one-out subset keeps at least 3 → 100.
    const score = await vqav2Benchmark.score?.(items, predictionsOf({ '262148000': 'Down.' }), {});
    expect(score?.primary.value).toBe(100);
  });
});

