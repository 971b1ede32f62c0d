import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { type ChatTemplateSource, type ChatTemplateContext, renderChatTemplate } from './chat-template.js';
import { MissingFileError, TokenizerError } from './errors.js';

/** A special token as `tokenizer_config.json` writes it: its text, or an AddedToken object. */
export type TokenizerConfigToken = string | { content: string; [key: string]: unknown } | null;

/** The fields of `tokenizer_config.json` the runtime reads; the rest is kept as is. */
export interface TokenizerConfig {
  bos_token?: TokenizerConfigToken;
  eos_token?: TokenizerConfigToken;
  pad_token?: TokenizerConfigToken;
  unk_token?: TokenizerConfigToken;
  added_tokens_decoder?: Record<string, { content: string; special?: boolean; [key: string]: unknown }>;
  chat_template?: ChatTemplateSource;
  [key: string]: unknown;
}

/** A special token resolved to its id. */
export interface SpecialToken {
  content: string;
  id: number;
}

/** bos / eos / pad / unk as the tokenizer config names them; absent when it names none. */
export interface SpecialTokens {
  bos?: SpecialToken;
  eos?: SpecialToken;
  pad?: SpecialToken;
  unk?: SpecialToken;
}

/** The part of a tokenizer that turns ids back into text (all streaming needs). */
export interface TokenDecoder {
  /** Text of `ids`; incomplete UTF-8 at the end decodes to U+FFFD. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface EncodeOptions {
  /** Add the tokenizer's own special tokens (LLaMA's BOS). Default true; false for rendered chat prompts that carry them. */
  addSpecialTokens?: boolean;
}

/** A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`). */
export interface Tokenizer extends TokenDecoder {
  /** Token ids of `text`. Added tokens in the text (`<|image_pad|>`) map to their single id. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Text of `ids`. Special tokens are kept unless `skipSpecialTokens`. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Id of a token string (vocabulary or added token), undefined when unknown. */
  tokenToId(token: string): number | undefined;
  /** Token string of an id, undefined when unknown. */
  idToToken(id: number): string | undefined;
  /** Ids the tokenizer knows, added tokens included (the model's embedding table may be larger). */
  readonly vocabSize: number;
  /**
   * Characters of the longest token as the vocabulary spells it (byte-level and
   * SentencePiece spellings take at least one character per input character),
   * so a text of `n` characters has at least about `n / maxTokenLength` tokens:
   * a bound to refuse an absurd prompt before tokenizing it.
   */
  readonly maxTokenLength: number;
  readonly specialTokens: SpecialTokens;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** Every added token marked special (skipped by `skipSpecialTokens`). */
  readonly specialTokenIds: ReadonlySet<number>;
  /** The chat template from the config, `chat_template.jinja` or `chat_template.json`. */
  readonly chatTemplate: ChatTemplateSource | undefined;
  readonly config: Readonly<TokenizerConfig>;
  /** Render the chat template with this tokenizer's bos/eos tokens (see `renderChatTemplate`). */
  applyChatTemplate(context: ChatTemplateContext, options?: { templateName?: string }): string;
}

export interface CreateTokenizerOptions {
  /** Parsed `tokenizer.json`. */
  tokenizerJson: unknown;
  /** Parsed `tokenizer_config.json`. */
  tokenizerConfig: TokenizerConfig;
  /** Overrides the config's chat template. */
  chatTemplate?: ChatTemplateSource;
  /** Names the source in error messages. */
  source?: string;
}

function tokenContent(token: TokenizerConfigToken | undefined): string | undefined {
  if (token === null || token === undefined) return undefined;
  if (typeof token === 'string') return token;
  if (typeof token === 'object' && typeof token.content === 'string') return token.content;
  return undefined;
}

/** Build a tokenizer from already parsed files. */
export function createTokenizer(options: CreateTokenizerOptions): Tokenizer {
  const { tokenizerJson, tokenizerConfig: config } = options;
  const source = options.source ?? 'tokenizer';
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null || !('model' in tokenizerJson)) {
    throw new TokenizerError(`${source}: tokenizer.json has no "model" section; is it a Hugging Face tokenizers file?`, { details: { source } });
  }
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(tokenizerJson, config);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TokenizerError(`${source}: cannot build the tokenizer: ${reason}`, { details: { source }, cause: error });
  }

  const addedByContent = new Map<string, number>();
  for (const [id, token] of Object.entries(config.added_tokens_decoder ?? {})) {
    if (typeof token?.content === 'string') addedByContent.set(token.content, Number(id));
  }
  const specialTokenIds = new Set<number>();
  for (const [id, token] of hf.get_added_tokens_decoder()) if (token.special) specialTokenIds.add(id);

  const resolve = (field: 'bos_token' | 'eos_token' | 'pad_token' | 'unk_token'): SpecialToken | undefined => {
    const content = tokenContent(config[field]);
    if (content === undefined) return undefined;
    const id = addedByContent.get(content) ?? hf.token_to_id(content);
    if (id === undefined) {
      throw new TokenizerError(`${source}: tokenizer_config.json names ${field} ${JSON.stringify(content)}, which is not in the vocabulary`, {
        details: { source, field, content },
      });
    }
    return { content, id };
  };
  const specialTokens: SpecialTokens = {};
  for (const [key, field] of [
    ['bos', 'bos_token'],
    ['eos', 'eos_token'],
    ['pad', 'pad_token'],
    ['unk', 'unk_token'],
  ] as const) {
    const token = resolve(field);
    if (token !== undefined) specialTokens[key] = token;
  }

  const chatTemplate = options.chatTemplate ?? config.chat_template ?? undefined;
  let vocabSize = 0;
  let maxTokenLength = 1;
  for (const [token, id] of hf.get_vocab(true)) {
    vocabSize = Math.max(vocabSize, id + 1);
    maxTokenLength = Math.max(maxTokenLength, token.length);
  }

  return {
    encode: (text, encodeOptions = {}) => hf.encode(text, { add_special_tokens: encodeOptions.addSpecialTokens ?? true }).ids,
    // The underlying decode rejects an empty list; streaming asks for it often.
    decode: (ids, decodeOptions = {}) =>
      ids.length === 0 ? '' : hf.decode([...ids], { skip_special_tokens: decodeOptions.skipSpecialTokens ?? false }),
    tokenToId: (token) => hf.token_to_id(token),
    idToToken: (id) => hf.id_to_token(id),
    vocabSize,
    maxTokenLength,
    specialTokens,
    bosTokenId: specialTokens.bos?.id,
    eosTokenId: specialTokens.eos?.id,
    padTokenId: specialTokens.pad?.id,
    specialTokenIds,
    chatTemplate,
    config,
    applyChatTemplate: (context, templateOptions) =>
      renderChatTemplate(
        chatTemplate,
        { bos_token: specialTokens.bos?.content, eos_token: specialTokens.eos?.content, ...context },
        { ...templateOptions, source: `${source}/tokenizer_config.json` },
      ),
  };
}

async function readJson(path: string, hint = ''): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError(`${basename(path)} not found: ${path}${hint}`, { path });
    throw new TokenizerError(`cannot read ${path}: ${(error as Error).message}`, { details: { path }, cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${path} is not valid JSON: ${(error as Error).message}`, { details: { path }, cause: error });
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Load the tokenizer of a Hugging Face model folder: `tokenizer.json` and
 * `tokenizer_config.json` (both required). When the config has no
 * `chat_template`, `chat_template.jinja` or `chat_template.json` (as newer
 * transformers and processors save it) is used.
 */
export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  const hint = " (a tokenizer needs tokenizer.json and tokenizer_config.json, as transformers' save_pretrained writes them)";
  const tokenizerJson = await readJson(join(modelDir, 'tokenizer.json'), hint);
  const configJson = await readJson(join(modelDir, 'tokenizer_config.json'), hint);
  if (typeof configJson !== 'object' || configJson === null || Array.isArray(configJson)) {
    throw new TokenizerError(`${join(modelDir, 'tokenizer_config.json')} is not a JSON object`, { details: { path: modelDir } });
  }
  const config = configJson as TokenizerConfig;
  let chatTemplate = config.chat_template ?? undefined;
  if (chatTemplate === undefined) chatTemplate = await readOptional(join(modelDir, 'chat_template.jinja'));
  if (chatTemplate === undefined) {
    const path = join(modelDir, 'chat_template.json');
    if ((await readOptional(path)) !== undefined) {
      chatTemplate = ((await readJson(path)) as { chat_template?: ChatTemplateSource }).chat_template;
    }
  }
  return createTokenizer({
    tokenizerJson,
    tokenizerConfig: config,
    source: modelDir,
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
  });
}
