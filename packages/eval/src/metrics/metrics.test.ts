import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { captionObjects, chairScores, chairVocabulary } from './chair.js';
import { cvBenchScores, parseCvBenchAnswer } from './cv-bench.js';
import { singularize } from './english-singularize.js';
import { gqaAccuracy } from './gqa.js';
import { llavaBenchSummary, mmhalSummary, mmvetScores, npRound, parseLlavaBenchScores, parseMmhalRating, parseMmvetGrade } from './judged.js';
import { canInfer, evaluateCircularGroup, rotateChoices } from './mmbench.js';
import { mmeScores, parseMmeAnswer } from './mme.js';
import { mmvpRuleCorrect, mmvpScores, parseMmvpGrade, parseMmvpOptions } from './mmvp.js';
import { parsePopeAnswer } from './pope.js';
import { parseScienceQaAnswer } from './science-qa.js';
import { seedBenchScores } from './seed-bench.js';
import { vqaEvalScore } from './vqa-accuracy.js';
import { evalAiNormalizeAnswer } from './vqa-normalize.js';
import { wordTokenize } from './word-tokenize.js';

describe('VQA normalisation and accuracy (hand-checked)', () => {
  it('normalises punctuation, digits, articles and contractions', () => {
    expect(evalAiNormalizeAnswer('Two Dogs.')).toBe('2 dogs');
    expect(evalAiNormalizeAnswer('The cat')).toBe('cat');
    expect(evalAiNormalizeAnswer('dont')).toBe("don't");
    expect(evalAiNormalizeAnswer('3.5')).toBe('3.5');
  });
  it('scores min(#humans/3, 1) averaged over leave-one-out subsets', () => {
    const answers = ['yes', 'yes', 'no', 'no', 'no', 'no', 'no', 'no', 'no', 'no'];
    // 'yes': 2 humans; leaving out a 'yes' leaves 1 match (1/3), else 2 (2/3): (2·1/3 + 8·2/3)/10 = 0.6
    expect(vqaEvalScore('yes', answers)).toBeCloseTo(0.6, 12);
    expect(vqaEvalScore('no', answers)).toBe(1);
  });
  it('does not normalise when all humans agree (official vqaEval)', () => {
    expect(vqaEvalScore('Yes', Array(10).fill('yes'))).toBe(0);
    expect(vqaEvalScore('yes', Array(10).fill('yes'))).toBe(1);
  });
});

describe('answer parsing of the official scripts', () => {
  it('POPE: "yes, there is..." is yes; No/not/no in the first sentence is no', () => {
    expect(parsePopeAnswer('Yes, there is a dog in the image.')).toBe('yes');
    expect(parsePopeAnswer('There is not a dog.')).toBe('no');
    expect(parsePopeAnswer('Yes. No cat though')).toBe('yes');
    expect(parsePopeAnswer('No,')).toBe('no');
    expect(parsePopeAnswer('Nope')).toBe('yes');
  });
  it('MME: first four characters decide; acc+ needs both answers of an image', () => {
    expect(parseMmeAnswer('Yes, it is')).toBe('yes');
    expect(parseMmeAnswer('Not really')).toBe('no');
    expect(parseMmeAnswer('I think so')).toBe('other');
    const s = mmeScores([
      { subtask: 'color', image: 'a.jpg', label: 'Yes', prediction: 'yes' },
      { subtask: 'color', image: 'a.jpg', label: 'No', prediction: 'no' },
      { subtask: 'color', image: 'b.jpg', label: 'Yes', prediction: 'yes' },
      { subtask: 'color', image: 'b.jpg', label: 'No', prediction: 'yes' },
    ]);
    expect(s.subtasks.color).toMatchObject({ acc: 0.75, accPlus: 0.5, score: 125 });
    expect(s.perception).toBe(125);
  });
  it('ScienceQA: letter, "X. ...", exactly one "The answer is X."', () => {
    expect(parseScienceQaAnswer('B')).toBe('B');
    expect(parseScienceQaAnswer('C. the third')).toBe('C');
    expect(parseScienceQaAnswer('The answer is D.')).toBe('D');
    expect(parseScienceQaAnswer('The answer is A. The answer is B.')).toBe('FAILED');
    expect(parseScienceQaAnswer('b')).toBe('FAILED');
  });
  it('GQA: rstrip(".").lower() then exact match', () => {
    expect(gqaAccuracy([{ prediction: 'Yes.', answer: 'yes' }, { prediction: 'the table', answer: 'table' }])).toBe(0.5);
  });
  it('SEED-Bench: exact letter', () => {
    expect(seedBenchScores([{ prediction: 'A', answer: 'A', questionTypeId: 1 }, { prediction: 'A.', answer: 'A', questionTypeId: 1 }, { prediction: undefined, answer: 'B', questionTypeId: 2 }])).toMatchObject({ perDimension: { '1': 50, '2': 0 } });
  });
});

describe('MMBench circular evaluation (VLMEvalKit)', () => {
  const choices = { A: 'cat', B: 'dog', C: 'bird' };
  it('matches option letters and texts', () => {
    expect(canInfer('B', choices)).toBe('B');
    expect(canInfer('The answer is (C).', choices)).toBe('C');
    expect(canInfer('a dog', choices)).toBe('B');
    expect(canInfer('A or B', choices)).toBe(false);
    expect(canInfer('Cannot determine the answer', choices)).toBe('Z');
  });
  it('fails a group on one wrong pass and, without a judge, on one unreadable pass', async () => {
    const passes = [0, 1, 2].map((shift) => {
      const r = rotateChoices(['cat', 'dog', 'bird'], 1, shift);
      return { choices: Object.fromEntries(r.options.map((t, i) => [String.fromCharCode(65 + i), t])), answer: String.fromCharCode(65 + r.answerIndex) };
    });
    expect(passes.map((p) => p.answer)).toEqual(['B', 'A', 'C']);
    expect((await evaluateCircularGroup(passes.map((p) => ({ ...p, prediction: p.answer })))).hit).toBe(1);
    expect((await evaluateCircularGroup(passes.map((p, i) => ({ ...p, prediction: i === 2 ? 'A' : p.answer })))).hit).toBe(0);
    const unreadable = passes.map((p, i) => ({ ...p, prediction: i === 1 ? 'hmm' : p.answer }));
    expect(await evaluateCircularGroup(unreadable)).toMatchObject({ hit: 0, unresolved: 1 });
    expect((await evaluateCircularGroup(unreadable, async () => 'A')).hit).toBe(1);
  });
});

describe('vision-centric', () => {
  it('MMVP: options, rule grading, judge reply, pair accuracy', () => {
    expect(parseMmvpOptions('(a) Open (b) Closed')).toEqual({ A: 'Open', B: 'Closed' });
    expect(mmvpRuleCorrect('(b) Closed', '(a) Open (b) Closed', '(b)')).toBe(true);
    expect(mmvpRuleCorrect('Open', '(a) Open (b) Closed', '(b)')).toBe(false);
    expect(parseMmvpGrade('Yes')).toBe('yes');
    expect(parseMmvpGrade('Yes.')).toBe('undetermined');
    expect(mmvpScores([true, true, true, false])).toMatchObject({ pairAccuracy: 0.5, questionAccuracy: 0.75 });
  });
  it('CV-Bench: ((ADE20K + COCO)/2 + Omni3D)/2', () => {
    expect(parseCvBenchAnswer('(B) left')).toBe('(B)');
    expect(parseCvBenchAnswer('A')).toBe('(A)');
    const s = cvBenchScores([
      { prediction: 'A', answer: '(A)', source: 'ADE20K', task: 'Count' },
      { prediction: 'B', answer: '(A)', source: 'ADE20K', task: 'Count' },
      { prediction: '(C)', answer: '(C)', source: 'COCO', task: 'Relation' },
      { prediction: 'B', answer: '(B)', source: 'Omni3D', task: 'Depth' },
      { prediction: 'A', answer: '(B)', source: 'Omni3D', task: 'Distance' },
    ]);
    expect(s.accuracy2d).toBe(0.75);
    expect(s.accuracy3d).toBe(0.5);
    expect(s.overall).toBe(0.625);
  });
});

describe('CHAIR', () => {
  const vocabulary = chairVocabulary(readFileSync(new URL('../__fixtures__/records/chair/synonyms.txt', import.meta.url), 'utf8'));
  it('tokenises and singularises like NLTK + pattern', () => {
    expect(wordTokenize('a dog. two cats, and a man\'s hat!')).toEqual(['a', 'dog', '.', 'two', 'cats', ',', 'and', 'a', 'man', "'s", 'hat', '!']);
    expect(['dogs', 'buses', 'people', 'knives', 'glasses', 'ears'].map(singularize)).toEqual(['dog', 'bus', 'person', 'knife', 'glass', 'ears']);
  });
  it('maps synonyms and double words to COCO objects', () => {
    expect(captionObjects('A man rides a motorbike next to two hot dogs.', vocabulary).objects).toEqual(['person', 'motorcycle', 'hot dog']);
    // Official quirk: synonyms.txt has "scooter,  motor bike" (two spaces), so "motor bike" names no object.
    expect(captionObjects('A motor bike.', vocabulary).objects).toEqual([]);
    expect(captionObjects('The seat of the toilet.', vocabulary).objects).toEqual(['toilet']);
  });
  it('computes CHAIR_s, CHAIR_i, recall and length', () => {
    const truth = new Map([
      [1, new Set(['dog', 'person'])],
      [2, new Set(['cat'])],
    ]);
    const s = chairScores(
      [
        { imageId: 1, caption: 'A dog and a man with a frisbee.' },
        { imageId: 2, caption: 'A cat.' },
      ],
      truth,
      vocabulary,
    );
    expect(s.chairS).toBe(0.5);
    expect(s.chairI).toBe(0.25);
    expect(s.recall).toBe(1);
    expect(s.length).toBe(5);
  });
});

describe('judged benchmarks: reading the judge', () => {
  it('MM-Vet grade and scores', () => {
    expect(parseMmvetGrade('0.5')).toBe(0.5);
    expect(parseMmvetGrade('1.0 because')).toBe(1);
    expect(parseMmvetGrade('1.5')).toBeUndefined();
    expect(parseMmvetGrade('correct')).toBeUndefined();
    const s = mmvetScores([
      { capabilities: ['ocr', 'math'], score: 1 },
      { capabilities: ['ocr'], score: 0.5 },
      { capabilities: ['rec'], score: 0 },
    ]);
    expect(s.perCapability).toEqual({ ocr: 75, math: 100, rec: 0 });
    expect(s.total).toBe(50);
    expect(npRound(31.25, 1)).toBe(31.2);
  });
  it('LLaVA-Bench scores and relative summary', () => {
    expect(parseLlavaBenchScores('8 7\nbecause')).toEqual([8, 7]);
    expect(parseLlavaBenchScores('8, 7')).toEqual([-1, -1]);
    expect(parseLlavaBenchScores('Scores: 8 7')).toEqual([-1, -1]);
    const s = llavaBenchSummary([
      { category: 'llava_bench_conv', scores: [8, 6] },
      { category: 'llava_bench_detail', scores: [9, 9] },
    ]);
    expect(s.llava_bench_conv).toEqual({ relative: 75, reference: 80, model: 60 });
    expect(s.all?.relative).toBe(88.2);
  });
  it('MMHal rating and summary', () => {
    expect(parseMmhalRating('Explanation...\nRating: 5, very informative')).toEqual({ rating: 5, found: true });
    expect(parseMmhalRating('rating: 2 or rating: 3')).toEqual({ rating: 0, found: false });
    expect(mmhalSummary([{ rating: 5, questionType: 'a' }, { rating: 2, questionType: 'a' }])).toEqual({ averageScore: 3.5, hallucinationRate: 0.5, perType: { a: 3.5 } });
  });
});
