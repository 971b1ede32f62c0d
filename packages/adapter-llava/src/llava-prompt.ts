import { type ChatTurn, type PreparedPrompt, type Tokenizer, conversationMessages, layoutConversation } from '@vasink/runtime';
import { LlavaPromptError } from './errors.js';

/** The placeholder LLaVA prompts carry where an image goes. */
export const IMAGE_PLACEHOLDER = '<image>';

/** The system message of LLaVA's `conv_vicuna_v1` conversation (conversation.py). */
export const VICUNA_V1_SYSTEM =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

/** Earlier turns and a system message around the question. */
export interface LlavaConversation {
  /** Replaces the format's system message ({@link VICUNA_V1_SYSTEM} for `vicuna_v1`). */
  readonly system?: string;
  /** User and assistant turns before the question (see `layoutConversation`). */
  readonly history?: readonly ChatTurn[];
}

/**
 * A question in LLaVA-1.5's `vicuna_v1` format, exactly as LLaVA's
 * `Conversation.get_prompt` builds it (`SeparatorStyle.TWO`, sep `' '`, sep2
 * `'</s>'`): the system message, then `'USER: '` / `'ASSISTANT: '` turns —
 * a user turn followed by `' '`, an answer by `'</s>'` — with one `'<image>\n'`
 * per image before a user turn's text, and `' ASSISTANT:'` last.
 *
 *     A chat between … questions. USER: <image>\nWhat is this? ASSISTANT:
 *     … USER: <image>\nWhat is this? ASSISTANT: A cat.</s>USER: Its colour? ASSISTANT:
 */
export function vicunaV1Prompt(question: string, imageCount: number, conversation: LlavaConversation = {}): string {
  const history = conversation.history ?? [];
  const layout = layoutConversation(history, imageCount);
  const images = (n: number) => `${IMAGE_PLACEHOLDER}\n`.repeat(n);
  let text = `${conversation.system ?? VICUNA_V1_SYSTEM} `;
  history.forEach((turn, k) => {
    text += turn.role === 'user' ? `USER: ${images(layout.turnImages[k] ?? 0)}${turn.text} ` : `ASSISTANT: ${turn.text}</s>`;
  });
  return `${text}USER: ${images(layout.questionImages)}${question} ASSISTANT:`;
}

/** The original-format prompts LLaVA checkpoints were evaluated with: LLaVA-1.5 and LLaVA-NeXT Vicuna `vicuna_v1`, LLaVA-NeXT Mistral `mistral_instruct`. */
export type LlavaPromptFormat = 'vicuna_v1' | 'mistral_instruct';

/**
 * A question in LLaVA's `mistral_instruct` format (conversation.py,
 * `SeparatorStyle.LLAMA_2`, empty system message, sep `''`, sep2 `'</s>'`):
 * each user turn `'[INST] … [/INST]'`, each answer `' … </s>'`, images as
 * `'<image>\n'` before the user text; a system message goes first inside the
 * first `[INST]` as `<<SYS>>\n…\n<</SYS>>\n\n`.
 *
 *     [INST] <image>\nWhat is this? [/INST]
 *     [INST] <image>\nWhat is this? [/INST] A cat. </s>[INST] Its colour? [/INST]
 */
export function mistralInstructPrompt(question: string, imageCount: number, conversation: LlavaConversation = {}): string {
  const history = conversation.history ?? [];
  const layout = layoutConversation(history, imageCount);
  const images = (n: number) => `${IMAGE_PLACEHOLDER}\n`.repeat(n);
  const system = conversation.system ? `<<SYS>>\n${conversation.system}\n<</SYS>>\n\n` : '';
  let text = '';
  let first = true;
  const user = (content: string) => {
    text += `[INST] ${first ? system : ''}${content} [/INST]`;
    first = false;
  };
  history.forEach((turn, k) => {
    if (turn.role === 'user') user(`${images(layout.turnImages[k] ?? 0)}${turn.text}`);
    else text += ` ${turn.text} </s>`;
  });
  user(`${images(layout.questionImages)}${question}`);
  return text;
}

/** The rendered chat template of the checkpoint for the conversation (a user turn's images before its text, as LLaVA's templates place them). */
export function chatTemplatePrompt(question: string, imageCount: number, tokenizer: Tokenizer, conversation: LlavaConversation = {}): string {
  if (tokenizer.chatTemplate === undefined) {
    throw new LlavaPromptError(
      "this model's tokenizer has no chat template (tokenizer_config.json chat_template, chat_template.json or chat_template.jinja); use the default template (vicuna_v1)",
    );
  }
  return tokenizer.applyChatTemplate({ messages: conversationMessages(question, imageCount, conversation), add_generation_prompt: true });
}

export interface TokenizeLlavaPromptOptions {
  tokenizer: Tokenizer;
  /** The id written at image positions (the engine overwrites those embeddings). */
  imageTokenId: number;
  /** Image tokens of each image, in order: `'<image>'` number k becomes `tokensPerImage[k]` copies. */
  tokensPerImage: readonly number[];
  /** Prepend the tokenizer's special tokens (LLaMA's BOS). Default true. */
  addSpecialTokens?: boolean;
}

/**
 * LLaVA's `tokenizer_image_token`, then the expansion llava-hf's processor
 * does: split the text on `'<image>'`, tokenise each chunk on its own (so a
 * chunk after an image starts with SentencePiece's `▁`, as in LLaVA), keep one
 * BOS at the start, put the image token between chunks, and expand image k to
 * `tokensPerImage[k]` copies. Throws LlavaPromptError when placeholders and
 * images disagree.
 */
export function tokenizeLlavaPrompt(text: string, options: TokenizeLlavaPromptOptions): { inputIds: number[]; imageMask: Uint8Array } {
  const { tokenizer, imageTokenId, tokensPerImage } = options;
  const chunks = text.split(IMAGE_PLACEHOLDER);
  if (chunks.length - 1 !== tokensPerImage.length) {
    throw new LlavaPromptError(
      `the prompt has ${chunks.length - 1} ${IMAGE_PLACEHOLDER} placeholder(s) for ${tokensPerImage.length} image(s)${chunks.length - 1 > tokensPerImage.length ? `; does the question itself contain "${IMAGE_PLACEHOLDER}"?` : ''}`,
      { placeholders: chunks.length - 1, images: tokensPerImage.length },
    );
  }
  const ids: number[] = [];
  const mask: number[] = [];
  chunks.forEach((chunk, k) => {
    if (k > 0) {
      const count = tokensPerImage[k - 1] as number;
      for (let i = 0; i < count; i++) {
        ids.push(imageTokenId);
        mask.push(1);
      }
    }
    // Later chunks without special tokens: LLaVA tokenises them with BOS and drops it again.
    const chunkIds = tokenizer.encode(chunk, { addSpecialTokens: k === 0 && (options.addSpecialTokens ?? true) });
    for (const id of chunkIds) {
      ids.push(id);
      mask.push(0);
    }
  });
  return { inputIds: ids, imageMask: Uint8Array.from(mask) };
}

/**
 * A LLaVA prompt for one question: `'default'` = the original format
 * (`vicuna_v1`, {@link vicunaV1Prompt}, or `mistral_instruct`,
 * {@link mistralInstructPrompt}); `'chat'` = the checkpoint's chat template.
 * Tokenised with {@link tokenizeLlavaPrompt}; a BOS is added unless the
 * rendered text already starts with it.
 */
export function buildLlavaPrompt(
  options: {
    question: string;
    tokensPerImage: readonly number[];
    tokenizer: Tokenizer;
    imageTokenId: number;
    template: 'default' | 'chat';
    /** The `'default'` template: `vicuna_v1` unless given. */
    format?: LlavaPromptFormat;
  } & LlavaConversation,
): PreparedPrompt {
  const { question, tokensPerImage, tokenizer, imageTokenId, template } = options;
  const count = tokensPerImage.length;
  const conversation = { ...(options.system !== undefined ? { system: options.system } : {}), ...(options.history ? { history: options.history } : {}) };
  const original = options.format === 'mistral_instruct' ? mistralInstructPrompt : vicunaV1Prompt;
  const text = template === 'chat' ? chatTemplatePrompt(question, count, tokenizer, conversation) : original(question, count, conversation);
  const bos = tokenizer.specialTokens.bos?.content;
  const addSpecialTokens = !(bos !== undefined && text.startsWith(bos));
  const { inputIds, imageMask } = tokenizeLlavaPrompt(text, { tokenizer, imageTokenId, tokensPerImage, addSpecialTokens });
  return { inputIds, imageMask, text };
}
