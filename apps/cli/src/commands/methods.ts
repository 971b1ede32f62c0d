import { ATTENTION_METHODS } from '@vasink/runtime';
import { parseCommand } from '../lib/usage.js';

const HELP = `usage: vasink methods [--markdown]

List the training-free attention methods vasink runs (--method, eval --methods,
the server's method field): paper, released code, what each edits, its
parameters and what it costs. --markdown prints the README's table.
`;

/** The methods table in Markdown: one row per registered method (the README holds this exact table). */
export function methodsMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = [
    '| method | paper | released code | edits | parameters (defaults) | cost |',
    '|---|---|---|---|---|---|',
    ...ATTENTION_METHODS.map((m) => `| \`${m.name}\` | ${cell(m.paper)} | ${m.repository.replace('https://github.com/', '')} | ${cell(m.edits)} | ${cell(m.parameters)} | ${cell(m.cost)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

export async function runMethods(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { markdown: { type: 'boolean' } }, HELP);
  if (!parsed) return 0;
  if (parsed.values.markdown) {
    process.stdout.write(methodsMarkdown());
    return 0;
  }
  for (const m of ATTENTION_METHODS) {
    process.stdout.write(`${m.name.padEnd(6)} ${m.label} — ${m.paper}\n       code: ${m.repository}\n       edits: ${m.edits}\n       defaults: ${m.parameters}\n       cost: ${m.cost}\n\n`);
  }
  process.stdout.write('Combine with +: --method var+vcd (methods that set the same part of a row cannot run together).\n');
  return 0;
}
