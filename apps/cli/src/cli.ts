#!/usr/bin/env node
import { VasinkError } from '@vasink/tensor';
import { runDemo } from './commands/demo.js';

const USAGE = `vasink — Visual Attention Redistribution for multimodal models

usage: vasink <command> [options]

commands:
  demo [--preset <name>] [--json]   run VAR inside a decoder graph on a built-in synthetic
                                     model and prompt (onnxruntime, CPU) and report what moved
  help                               show this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'demo':
      return runDemo(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`vasink: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (VasinkError.is(error)) {
      process.stderr.write(`vasink: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`vasink: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 70;
    }
  },
);
