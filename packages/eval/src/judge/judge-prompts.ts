import { LLAVA_BENCH_RULE_PROMPT, MMHAL_TEMPLATE, MMVET_PROMPT } from './judge-prompt-texts.js';

/** One chat message sent to the judge. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** What the judge is asked, and under which prompt version (recorded with results). */
export interface JudgeRequest {
  /** Stable id of the prompt text and its parameters, e.g. `mmvet-v1`. */
  readonly promptVersion: string;
  readonly messages: readonly ChatMessage[];
  readonly temperature: number;
  readonly maxTokens?: number;
}

/** Where each judge prompt comes from, by version id. */
export const JUDGE_PROMPTS: Readonly<Record<string, { benchmark: string; source: string; officialModel: string }>> = {
  'mmvet-v1': { benchmark: 'mm-vet', source: 'yuweihao/MM-Vet mm-vet_evaluator.py @ c7ff270d', officialModel: 'gpt-4-0613' },
  'mmvet-v1-retry': { benchmark: 'mm-vet', source: 'yuweihao/MM-Vet mm-vet_evaluator.py @ c7ff270d (retry prompt)', officialModel: 'gpt-4-0613' },
  'llava-bench-v1': { benchmark: 'llava-bench', source: 'haotian-liu/LLaVA llava/eval/eval_gpt_review_bench.py + table/rule.json @ 181a2f81', officialModel: 'gpt-4-0314' },
  'mmhal-v1': { benchmark: 'mmhal', source: 'llava-rlhf/LLaVA-RLHF Eval/eval_gpt_mmhal.py @ 830a083f', officialModel: 'gpt-4-0314' },
  'mmvp-v1': { benchmark: 'mmvp', source: 'tsb0601/MMVP scripts/gpt_grader.py @ 05081e9f', officialModel: 'gpt-4-0314' },
  'mmbench-choice-v1': { benchmark: 'mmbench', source: 'open-compass/VLMEvalKit vlmeval/dataset/utils/multiple_choice.py build_prompt', officialModel: 'gpt-3.5-turbo-0125' },
};

/** MM-Vet: grade one prediction against its ground truth (score 0.0–1.0). `retry` adds the official re-ask suffix. */
export function mmvetJudgeRequest(input: { question: string; answer: string; prediction: string; retry?: number }): JudgeRequest {
  const retry = input.retry ?? 0;
  let content = `${MMVET_PROMPT}\n${[
    input.question,
    input.answer.replaceAll('<AND>', ' <AND> ').replaceAll('<OR>', ' <OR> '),
    input.prediction,
    '',
  ].join(' | ')}`;
  if (retry > 0) content += '\nPredict the correctness of the answer (digit): ';
  // The official grader raises the temperature by 0.5 on every unreadable reply.
  return { promptVersion: retry > 0 ? 'mmvet-v1-retry' : 'mmvet-v1', messages: [{ role: 'user', content }], temperature: 0.5 * retry, maxTokens: 3 };
}

/** LLaVA-Bench (in-the-Wild): compare the reference (GPT-4) answer with the model's, as eval_gpt_review_bench.py. */
export function llavaBenchJudgeRequest(input: { context: string; question: string; reference: string; prediction: string }): JudgeRequest {
  const role = 'Assistant';
  const content =
    `[Context]\n${input.context}\n\n` +
    `[Question]\n${input.question}\n\n` +
    `[${role} 1]\n${input.reference}\n\n[End of ${role} 1]\n\n` +
    `[${role} 2]\n${input.prediction}\n\n[End of ${role} 2]\n\n` +
    `[System]\n${LLAVA_BENCH_RULE_PROMPT}\n\n`;
  return {
    promptVersion: 'llava-bench-v1',
    messages: [
      { role: 'system', content: 'You are a helpful and precise assistant for checking the quality of the answer.' },
      { role: 'user', content },
    ],
    temperature: 0.2,
    maxTokens: 1024,
  };
}

/** MMHal-Bench: rate one response 0–6 (eval_gpt_mmhal.py). */
export function mmhalJudgeRequest(input: { imageContent: readonly string[]; question: string; gtAnswer: string; prediction: string }): JudgeRequest {
  const slots = [input.imageContent.join(', '), input.question, input.gtAnswer, input.prediction];
  let slot = 0;
  const content = MMHAL_TEMPLATE.replace(/\{\}/g, () => slots[slot++] ?? '{}');
  return { promptVersion: 'mmhal-v1', messages: [{ role: 'user', content }], temperature: 0 };
}

/** MMVP: ask whether one answer is correct (gpt_grader.py). `question` is `Question + ' ' + Options`. */
export function mmvpJudgeRequest(input: { question: string; correctAnswer: string; prediction: string }): JudgeRequest {
  return {
    promptVersion: 'mmvp-v1',
    messages: [
      {
        role: 'system',
        content: 'You are a helpful and precise assistant for checking the quality of the answer. Please answer in only yes or no.',
      },
      {
        role: 'user',
        content: `Given the following question ${input.question}, the correct answer is ${input.correctAnswer}. Does the following answer correctly answers the question, answer:${input.prediction}?`,
      },
    ],
    temperature: 0.2,
  };
}

/** MMBench choice extractor (VLMEvalKit `build_prompt` with `build_option_str`). */
export function mmbenchChoiceJudgeRequest(input: { question: string; choices: Readonly<Record<string, string>>; prediction: string }): JudgeRequest {
  let options = 'There are several options: \n';
  for (const [letter, text] of Object.entries(input.choices)) options += `${letter}. ${text}\n`;
  const content =
    'You are an AI assistant who will help me to match an answer with several options of a single-choice question. ' +
    'You are provided with a question, several options, and an answer, and you need to find which option is most similar to the answer. ' +
    'If the meaning of all options are significantly different from the answer, output Z. ' +
    'Your should output a single uppercase character in A, B, C, D (if they are valid options), and Z. \n' +
    'Example 1: \n' +
    'Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n' +
    'Answer: a cute teddy bear\nYour output: A\n' +
    'Example 2: \n' +
    'Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n' +
    'Answer: Spider\nYour output: Z\n' +
    'Example 3: \n' +
    `Question: ${input.question}?\nOptions: ${options}\nAnswer: ${input.prediction}\nYour output: `;
  return { promptVersion: 'mmbench-choice-v1', messages: [{ role: 'user', content }], temperature: 0 };
}
