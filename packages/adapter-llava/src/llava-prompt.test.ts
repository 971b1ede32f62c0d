import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Tokenizer, loadTokenizer } from '@vasink/runtime';
import { LlavaPromptError } from './errors.js';
import { VICUNA_V1_SYSTEM, buildLlavaPrompt, tokenizeLlavaPrompt, vicunaV1Prompt } from './llava-prompt.js';
import { writeTokenizerFixture } from './tokenizer-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'vasink-llava-prompt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let llavaHf: Tokenizer;
let original: Tokenizer;

beforeAll(async () => {
  await writeTokenizerFixture(root, { llavaHf: true });
  llavaHf = await loadTokenizer(root);
  const plain = join(root, 'original');
  mkdirSync(plain);
  await writeTokenizerFixture(plain, { llavaHf: false });
  original = await loadTokenizer(plain);
});

/** LLaVA's mm_utils.tokenizer_image_token, transcribed: chunks tokenised with BOS, the BOS offset dropped from each. */
function tokenizerImageToken(prompt: string, tokenizer: Tokenizer, imageTokenIndex: number): number[] {
  const chunks = prompt.split('<image>').map((chunk) => tokenizer.encode(chunk));
  const inputIds: number[] = [];
  let offset = 0;
  if (chunks.length > 0 && (chunks[0]?.length ?? 0) > 0 && chunks[0]![0] === tokenizer.bosTokenId) {
    offset = 1;
    inputIds.push(chunks[0]![0]!);
  }
  const separated = chunks.flatMap((chunk, i) => (i === 0 ? [chunk] : [Array(offset + 1).fill(imageTokenIndex), chunk]));
  for (const x of separated) inputIds.push(...x.slice(offset));
  return inputIds;
}

describe('vicuna_v1 prompt', () => {
  it("renders LLaVA's conv_vicuna_v1 (SeparatorStyle.TWO) exactly", () => {
    expect(VICUNA_V1_SYSTEM).toBe(
      "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.",
    );
    expect(vicunaV1Prompt('What is this?', 1)).toBe(`${VICUNA_V1_SYSTEM} USER: <image>\nWhat is this? ASSISTANT:`);
    expect(vicunaV1Prompt('Compare.', 2)).toBe(`${VICUNA_V1_SYSTEM} USER: <image>\n<image>\nCompare. ASSISTANT:`);
    expect(vicunaV1Prompt('Hi', 0)).toBe(`${VICUNA_V1_SYSTEM} USER: Hi ASSISTANT:`);
  });

  it('tokenises as tokenizer_image_token does, then expands each image token', () => {
    for (const tokenizer of [llavaHf, original]) {
      for (const images of [1, 2]) {
        const text = vicunaV1Prompt('What colour is the car?', images);
        const llava = tokenizerImageToken(text, tokenizer, -200);
        const tokensPerImage = Array(images).fill(5) as number[];
        const { inputIds, imageMask } = tokenizeLlavaPrompt(text, { tokenizer, imageTokenId: 777, tokensPerImage });
        const expanded = llava.flatMap((id) => (id === -200 ? Array(5).fill(777) : [id]));
        expect(inputIds).toEqual(expanded);
        expect(Array.from(imageMask)).toEqual(expanded.map((id) => (id === 777 ? 1 : 0)));
      }
    }
  });

  it('puts one BOS first, "▁" + newline after the image (SentencePiece on a fresh chunk), "ASSISTANT:" last', () => {
    const prompt = buildLlavaPrompt({ question: 'Describe the scene.', tokensPerImage: [3], tokenizer: llavaHf, imageTokenId: 32000, template: 'default' });
    const tokens = prompt.inputIds.map((id) => llavaHf.idToToken(id));
    expect(prompt.inputIds[0]).toBe(llavaHf.bosTokenId);
    expect(prompt.inputIds.filter((id) => id === llavaHf.bosTokenId)).toHaveLength(1);
    const firstImage = prompt.imageMask.indexOf(1);
    expect(tokens.slice(firstImage - 3, firstImage)).toEqual(['ER', ':', '▁']);
    expect(tokens.slice(firstImage, firstImage + 5)).toEqual(['<image>', '<image>', '<image>', '▁', '<0x0A>']);
    expect(llavaHf.decode(prompt.inputIds.slice(-4))).toBe('ASSISTANT:');
    expect(prompt.text).toBe(vicunaV1Prompt('Describe the scene.', 1));
  });

  it("equals llava-hf's processor: the whole text tokenised with <image> as an added token, then expanded", () => {
    const text = vicunaV1Prompt('Is there a dog?', 1);
    const whole = llavaHf.encode(text).flatMap((id) => (id === 32000 ? Array(4).fill(32000) : [id]));
    expect(tokenizeLlavaPrompt(text, { tokenizer: llavaHf, imageTokenId: 32000, tokensPerImage: [4] }).inputIds).toEqual(whole);
  });

  it("renders the checkpoint's chat template (llava-hf: USER: <image>\\n… ASSISTANT:) with a BOS", () => {
    const prompt = buildLlavaPrompt({ question: 'What is this?', tokensPerImage: [2], tokenizer: llavaHf, imageTokenId: 32000, template: 'chat' });
    expect(prompt.text).toBe('USER: <image>\nWhat is this? ASSISTANT:');
    expect(prompt.inputIds).toEqual(llavaHf.encode(prompt.text).flatMap((id) => (id === 32000 ? [32000, 32000] : [id])));
    expect(() => buildLlavaPrompt({ question: 'Hi', tokensPerImage: [], tokenizer: original, imageTokenId: 0, template: 'chat' })).toThrow(LlavaPromptError);
  });

  it('renders a conversation as Conversation.get_prompt does (TWO: user turns end in " ", answers in "</s>")', () => {
    const history = [
      { role: 'user', text: 'What is this?', images: 1 },
      { role: 'assistant', text: 'A cat.' },
    ] as const;
    expect(vicunaV1Prompt('What colour is it?', 1, { history })).toBe(
      `${VICUNA_V1_SYSTEM} USER: <image>\nWhat is this? ASSISTANT: A cat.</s>USER: What colour is it? ASSISTANT:`,
    );
    // Images not shown by the history go with the question; the system message can be replaced.
    expect(vicunaV1Prompt('And this one?', 2, { system: 'Be brief.', history })).toBe(
      'Be brief. USER: <image>\nWhat is this? ASSISTANT: A cat.</s>USER: <image>\nAnd this one? ASSISTANT:',
    );
    expect(() => vicunaV1Prompt('Hi', 0, { history: [{ role: 'user', text: 'a' }] })).toThrow(/ends with a user turn/);
    // "</s>" is the tokenizer's EOS, image tokens sit in the first turn.
    const prompt = buildLlavaPrompt({ question: 'What colour is it?', tokensPerImage: [3], tokenizer: llavaHf, imageTokenId: 32000, template: 'default', history });
    const eos = llavaHf.specialTokens.eos?.id;
    expect(eos).toBeDefined();
    expect(prompt.inputIds.filter((id) => id === eos)).toHaveLength(1);
    const eosAt = prompt.inputIds.indexOf(eos!);
    expect(llavaHf.decode(prompt.inputIds.slice(eosAt - 4, eosAt))).toContain('A cat.');
    expect(prompt.imageMask.lastIndexOf(1)).toBeLessThan(eosAt);
    expect(prompt.imageMask.reduce((a, b) => a + b, 0)).toBe(3);
    expect(llavaHf.decode(prompt.inputIds.slice(-4))).toBe('ASSISTANT:');
  });

  it("renders a conversation with the checkpoint's chat template", () => {
    const history = [
      { role: 'user', text: 'What is this?', images: 1 },
      { role: 'assistant', text: 'A cat.' },
    ] as const;
    const prompt = buildLlavaPrompt({ question: 'Its colour?', tokensPerImage: [2], tokenizer: llavaHf, imageTokenId: 32000, template: 'chat', history, system: 'Be brief.' });
    // llava-hf's template prints no role for system messages, and the system text is not among the roles it renders.
    expect(prompt.text).toBe('Be brief. USER: <image>\nWhat is this? ASSISTANT: A cat. USER: Its colour? ASSISTANT:');
  });

  it('refuses placeholders that do not match the images', () => {
    expect(() => buildLlavaPrompt({ question: 'What is <image>?', tokensPerImage: [4], tokenizer: llavaHf, imageTokenId: 32000, template: 'default' })).toThrow(
      'the prompt has 2 <image> placeholder(s) for 1 image(s); does the question itself contain "<image>"?',
    );
    const textOnly = buildLlavaPrompt({ question: 'Hello', tokensPerImage: [], tokenizer: llavaHf, imageTokenId: 32000, template: 'default' });
    expect(textOnly.imageMask.every((m) => m === 0)).toBe(true);
    expect(textOnly.inputIds).toEqual(llavaHf.encode(vicunaV1Prompt('Hello', 0)));
  });
});
