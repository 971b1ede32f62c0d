import { type ChatTurn, type ModelManifest, type PreparedImages, type PreparedPrompt, type Tokenizer, conversationMessages, layoutConversation } from '@vasink/runtime';
import type { Qwen2VlAdapterSettings } from './adapter-settings.js';
import { Qwen2VlPromptError } from './errors.js';
import type { Qwen2VlImagesExtra } from './prepare-images.js';
import { mropePositionIds } from './rope-index.js';

/** Tokens of the chat format, as Qwen2-VL's tokenizer writes them. */
export const QWEN2_VL_PROMPT_TOKENS = {
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
  visionStart: '<|vision_start|>',
  visionEnd: '<|vision_end|>',
  imagePad: '<|image_pad|>',
} as const;

/**
 * The Qwen2-VL chat prompt — what the released chat template renders with
 * `add_generation_prompt`: a system turn, then each turn as
 * `<|im_start|>{role}\n…<|im_end|>\n` with a user turn's images as
 * `<|vision_start|><|image_pad|><|vision_end|>` before its text, then the
 * assistant header. One `<|image_pad|>` per image (expanded later). `history`:
 * earlier user/assistant turns (see `layoutConversation`).
 */
export function qwen2vlChatPrompt(options: { question: string; images: number; systemPrompt: string; history?: readonly ChatTurn[] }): string {
  const t = QWEN2_VL_PROMPT_TOKENS;
  const history = options.history ?? [];
  const layout = layoutConversation(history, options.images);
  const vision = (n: number) => `${t.visionStart}${t.imagePad}${t.visionEnd}`.repeat(n);
  const turn = (role: string, text: string) => `${t.imStart}${role}\n${text}${t.imEnd}\n`;
  return [
    turn('system', options.systemPrompt),
    ...history.map((h, k) => turn(h.role, `${vision(layout.turnImages[k] ?? 0)}${h.text}`)),
    turn('user', `${vision(layout.questionImages)}${options.question}`),
    `${t.imStart}assistant\n`,
  ].join('');
}

/**
 * Build the decoder prompt of one question about prepared images. Both
 * templates use the Qwen2-VL chat format: `default` writes it directly
 * ({@link qwen2vlChatPrompt}), `chat` renders the checkpoint's chat template
 * (the same text for the released checkpoints; the default format when the
 * checkpoint has none). Each `<|image_pad|>` is expanded to its image's merged
 * token count, and the M-RoPE positions come from `get_rope_index`.
 */
export function prepareQwen2VlPrompt(input: {
  question: string;
  system?: string;
  history?: readonly ChatTurn[];
  images: PreparedImages<Qwen2VlImagesExtra>;
  manifest: ModelManifest<Qwen2VlAdapterSettings<unknown>>;
  tokenizer: Tokenizer;
  template: 'default' | 'chat';
}): PreparedPrompt {
  const { question, images, manifest, tokenizer } = input;
  const settings = manifest.adapter;
  const count = images.tokensPerImage.length;
  const extra = images.extra;
  if (!extra || !Array.isArray(extra.gridThw) || extra.gridThw.length !== count) {
    throw new Qwen2VlPromptError('the prepared images carry no grid_thw for each image; prepare them with the qwen2-vl family', { images: count });
  }
  const conversation = { ...(input.system !== undefined ? { system: input.system } : {}), ...(input.history ? { history: input.history } : {}) };
  const text =
    input.template === 'chat' && tokenizer.chatTemplate !== undefined
      ? tokenizer.applyChatTemplate({ messages: conversationMessages(question, count, conversation), add_generation_prompt: true })
      : qwen2vlChatPrompt({ question, images: count, systemPrompt: input.system ?? settings.systemPrompt, ...(input.history ? { history: input.history } : {}) });

  const ids = tokenizer.encode(text, { addSpecialTokens: false });
  const pads = ids.filter((id) => id === settings.imageTokenId).length;
  if (pads !== count) {
    throw new Qwen2VlPromptError(
      `the prompt holds ${pads} ${QWEN2_VL_PROMPT_TOKENS.imagePad} tokens for ${count} images (a question must not contain the image placeholder itself)`,
      { pads, images: count },
    );
  }
  const inputIds: number[] = [];
  let image = 0;
  for (const id of ids) {
    const copies = id === settings.imageTokenId ? (images.tokensPerImage[image++] as number) : 1;
    for (let k = 0; k < copies; k++) inputIds.push(id);
  }
  const imageMask = Uint8Array.from(inputIds, (id) => (id === settings.imageTokenId ? 1 : 0));
  const { positionIds, nextPosition } = mropePositionIds({
    inputIds,
    imageGrids: extra.gridThw,
    imageTokenId: settings.imageTokenId,
    visionStartTokenId: settings.visionStartTokenId,
    spatialMergeSize: settings.image.mergeSize,
  });
  return { inputIds, imageMask, positionIds, nextPosition, text, stopStrings: [QWEN2_VL_PROMPT_TOKENS.imEnd] };
}
