import { describe, expect, it } from 'vitest';
import { conversationMessages, layoutConversation } from './conversation.js';

describe('layoutConversation', () => {
  it('places images: history user turns first, the question gets the rest', () => {
    expect(layoutConversation([], 2)).toEqual({ turnImages: [], questionImages: 2 });
    const history = [
      { role: 'user', text: 'What is this?', images: 1 },
      { role: 'assistant', text: 'A cat.' },
      { role: 'user', text: 'And this?', images: 2 },
      { role: 'assistant', text: 'Two dogs.' },
    ] as const;
    expect(layoutConversation(history, 4)).toEqual({ turnImages: [1, 0, 2, 0], questionImages: 1 });
    expect(layoutConversation(history, 3)).toEqual({ turnImages: [1, 0, 2, 0], questionImages: 0 });
  });

  it('names what is wrong with a history', () => {
    expect(() => layoutConversation([{ role: 'assistant', text: 'hi' }], 0)).toThrow(/history\[0\] is an assistant turn where a user turn belongs/);
    expect(() => layoutConversation([{ role: 'user', text: 'a' }, { role: 'user', text: 'b' }], 0)).toThrow(/history\[1\] is a user turn where an assistant turn belongs/);
    expect(() => layoutConversation([{ role: 'user', text: 'a' }], 0)).toThrow(/ends with a user turn/);
    expect(() => layoutConversation([{ role: 'user', text: 'a', images: 2 }, { role: 'assistant', text: 'b' }], 1)).toThrow(/shows 2 image\(s\) but the request has 1/);
    expect(() => layoutConversation([{ role: 'user', text: 'a', images: -1 }, { role: 'assistant', text: 'b' }], 1)).toThrow(/images must be a non-negative integer/);
    expect(() => layoutConversation([{ role: 'user', text: 'a' }, { role: 'assistant', text: 'b', images: 1 }], 1)).toThrow(/assistant turn cannot show images/);
  });

  it('lays the conversation out as chat-template messages', () => {
    expect(conversationMessages('Hi?', 0)).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi?' }] }]);
    expect(
      conversationMessages('Its colour?', 2, {
        system: 'Be brief.',
        history: [
          { role: 'user', text: 'What is this?', images: 1 },
          { role: 'assistant', text: 'A cat.' },
        ],
      }),
    ).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] },
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Its colour?' }] },
    ]);
  });
});
