import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.js';

/** One of several templates a config can carry (`[{ name: 'default', template }, { name: 'tool_use', ... }]`). */
export interface NamedChatTemplate {
  name: string;
  template: string;
}

/** A chat template as `tokenizer_config.json` stores it: one string, or a list of named templates. */
export type ChatTemplateSource = string | readonly NamedChatTemplate[];

/** A part of a multimodal message, as Hugging Face processors pass it. */
export type ChatContentPart = { type: 'text'; text: string } | { type: 'image'; [key: string]: unknown } | { type: string; [key: string]: unknown };

export interface ChatMessage {
  role: string;
  /** Plain text, or a list of parts (`{ type: 'image' }` marks where an image goes). */
  content: string | readonly ChatContentPart[];
  [key: string]: unknown;
}

/** Variables a chat template sees; extra keys (`enable_thinking`, `add_vision_id`) pass through. */
export interface ChatTemplateContext {
  messages: readonly ChatMessage[];
  add_generation_prompt?: boolean;
  bos_token?: string | undefined;
  eos_token?: string | undefined;
  [key: string]: unknown;
}

export interface RenderChatTemplateOptions {
  /** Which named template to use when there are several. Default `'default'`. */
  templateName?: string;
  /** Names where the template came from, for error messages. */
  source?: string;
}

const compiled = new Map<string, Template>();

function compile(template: string, source: string): Template {
  let result = compiled.get(template);
  if (result === undefined) {
    try {
      result = new Template(template);
    } catch (error) {
      throw new ChatTemplateError(`${source}: the chat template does not parse: ${(error as Error).message}`, { details: { source }, cause: error });
    }
    if (compiled.size >= 32) compiled.clear();
    compiled.set(template, result);
  }
  return result;
}

function pickTemplate(template: ChatTemplateSource | null | undefined, options: RenderChatTemplateOptions, source: string): string {
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const name = options.templateName ?? 'default';
    const found = (template as readonly NamedChatTemplate[]).find((entry) => entry.name === name);
    if (found === undefined) {
      const names = (template as readonly NamedChatTemplate[]).map((entry) => entry.name).join(', ');
      throw new ChatTemplateError(`${source}: no chat template named ${JSON.stringify(name)} (available: ${names})`, {
        details: { source, name, available: names },
      });
    }
    return found.template;
  }
  throw new ChatTemplateError(
    `${source} has no chat template: add "chat_template" to tokenizer_config.json, a chat_template.jinja beside it, or pass a template explicitly`,
    { details: { source } },
  );
}

/**
 * Render a Jinja chat template (Hugging Face `apply_chat_template` semantics,
 * `tokenize=False`). A list of named templates uses `templateName` or
 * `'default'`. Message content may be a string or a list of parts; the
 * template decides how image parts become tokens.
 */
export function renderChatTemplate(
  template: ChatTemplateSource | null | undefined,
  context: ChatTemplateContext,
  options: RenderChatTemplateOptions = {},
): string {
  const source = options.source ?? 'tokenizer config';
  const program = compile(pickTemplate(template, options, source), source);
  try {
    const variables: Record<string, unknown> = { add_generation_prompt: false };
    for (const [key, value] of Object.entries(context)) if (value !== undefined) variables[key] = value;
    return program.render(variables);
  } catch (error) {
    throw new ChatTemplateError(`${source}: rendering the chat template failed: ${(error as Error).message}`, { details: { source }, cause: error });
  }
}
