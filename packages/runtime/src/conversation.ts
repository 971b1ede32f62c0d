import { InvalidArgumentError } from '@vasink/tensor';
import type { ChatContentPart, ChatMessage } from './chat-template.js';

/** One earlier turn of a conversation, before the question being asked. */
export interface ChatTurn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
  /** User turns: how many of the request's images this turn shows (in order, before its text). Default 0. */
  readonly images?: number;
}

/** Where a prompt's images go: per history turn, then the question's. */
export interface ConversationLayout {
  /** Images of each history turn (0 for assistant turns). */
  readonly turnImages: readonly number[];
  /** Images shown with the question (the remaining ones). */
  readonly questionImages: number;
}

const article = (word: string) => `${/^[aeio]/i.test(word) ? 'an' : 'a'} ${word}`; // 'a user', 'an assistant'

/**
 * Check a conversation history and place the request's images in it. The
 * history alternates user and assistant turns, starts with a user turn and
 * ends with an assistant turn (the question is the next user turn); only user
 * turns show images; history turns show at most `imageCount` images in all,
 * the question shows the rest.
 */
export function layoutConversation(history: readonly ChatTurn[], imageCount: number): ConversationLayout {
  const turnImages: number[] = [];
  let used = 0;
  history.forEach((turn, k) => {
    const expected = k % 2 === 0 ? 'user' : 'assistant';
    if (turn.role !== expected) {
      throw new InvalidArgumentError(
        `history[${k}] is ${article(String(turn.role))} turn where ${article(expected)} turn belongs: the history alternates user and assistant turns, starting with a user turn`,
        { index: k, role: turn.role },
      );
    }
    if (typeof turn.text !== 'string') throw new InvalidArgumentError(`history[${k}].text must be a string`, { index: k });
    const images = turn.images ?? 0;
    if (!Number.isSafeInteger(images) || images < 0) throw new InvalidArgumentError(`history[${k}].images must be a non-negative integer, got ${String(images)}`, { index: k });
    if (images > 0 && turn.role === 'assistant') throw new InvalidArgumentError(`history[${k}]: an assistant turn cannot show images`, { index: k });
    used += images;
    turnImages.push(images);
  });
  if (history.length % 2 !== 0) {
    throw new InvalidArgumentError('the history ends with a user turn: it must end with the assistant\'s answer (the question is the next user turn)', {
      turns: history.length,
    });
  }
  if (used > imageCount) {
    throw new InvalidArgumentError(`the history shows ${used} image(s) but the request has ${imageCount}`, { used, images: imageCount });
  }
  return { turnImages, questionImages: imageCount - used };
}

/**
 * The conversation as chat-template messages: the system message (if given),
 * the history, then the question as the last user message; each user turn's
 * images as `{ type: 'image' }` parts before its text.
 */
export function conversationMessages(question: string, imageCount: number, conversation: { system?: string; history?: readonly ChatTurn[] } = {}): ChatMessage[] {
  const history = conversation.history ?? [];
  const layout = layoutConversation(history, imageCount);
  const message = (role: string, text: string, images: number): ChatMessage => ({
    role,
    content: [...Array.from({ length: images }, (): ChatContentPart => ({ type: 'image' })), { type: 'text', text }],
  });
  return [
    ...(conversation.system !== undefined ? [message('system', conversation.system, 0)] : []),
    ...history.map((turn, k) => message(turn.role, turn.text, layout.turnImages[k] ?? 0)),
    message('user', question, layout.questionImages),
  ];
}
