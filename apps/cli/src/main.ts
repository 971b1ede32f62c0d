import { describeError, exposureOf } from '@vasink/tensor';
import { runBench } from './commands/bench.js';
import { runConvert } from './commands/convert.js';
import { runDemo } from './commands/demo.js';
import { runEval } from './commands/eval.js';
import { runFindSinkDims } from './commands/find-sink-dims.js';
import { runFixture } from './commands/fixture.js';
import { runGenerate } from './commands/generate.js';
import { runInspect } from './commands/inspect.js';
import { runMethods } from './commands/methods.js';
import { runServe } from './commands/serve.js';
import { FAMILIES } from './lib/families.js';
import { UsageError } from './lib/usage.js';

const USAGE = `vasink — Visual Attention Redistribution for multimodal models

usage: vasink <command> [options]      (vasink <command> --help for its options)

commands:
  demo              the built-in default: tiny checkpoint (cached) → convert → answer about
                    the bundled sample image without and with VAR → show what VAR did
  fixture           write a random checkpoint (${FAMILIES.map((f) => f.name).join(' | ')}) in the Hugging Face layout:
                    tiny crafted ones, or the released models' exact shapes (--size 7b, 2b, …)
  convert           convert a Hugging Face checkpoint into a vasink model directory
  generate          answer a question about images with an attention method (--method var, the
                    default, pai, vaf, vcd, none; --compare: without and with it)
  inspect           write a report and pictures of sinks, heads and attention (base vs a method)
  methods           the attention methods: paper, released code, what each edits, defaults, cost
  find-sink-dims    propose the sink dimensions of a model from its hidden states
  eval              run and score a benchmark, resumable and shardable (--methods none,var,pai,…)
  bench             measure load, vision, prefill and decode speed (VAR off vs on), memory
                    and the decode floor of a converted model on this machine
  serve             OpenAI-compatible HTTP server with per-request VAR and a playground page
  help              show this text

exit codes: 0 done, 1 bad input (a file, image, record or value you gave), 2 bad usage (flags),
            3 setup (model directory, memory, port, permissions), 70 a bug in vasink (with its stack)
`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  demo: runDemo,
  fixture: runFixture,
  convert: runConvert,
  generate: runGenerate,
  inspect: runInspect,
  methods: runMethods,
  'find-sink-dims': runFindSinkDims,
  eval: runEval,
  bench: runBench,
  serve: runServe,
};

/** Run the CLI; returns the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`vasink: unknown command "${command}" (run vasink help)\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (error) {
    return report(command, error);
  }
}

/**
 * Exit codes, by whose fault an error is (see `ErrorExposure`): 2 a usage
 * mistake (flags), 1 the user's input (a file, an image, a record, a flag's
 * value), 3 the setup (model directory, memory, port, permissions), 70 a bug
 * in vasink. All but the last are one line on stderr.
 */
export const EXIT_CODES = { usage: 2, input: 1, config: 3, internal: 70 } as const;

function report(command: string, error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`vasink ${command}: ${error.message}\n`);
    return EXIT_CODES.usage;
  }
  const exposure = exposureOf(error);
  if (exposure !== 'internal') {
    process.stderr.write(`vasink ${command}: ${describeError(error)}\n`);
    return EXIT_CODES[exposure];
  }
  process.stderr.write(
    `vasink ${command}: internal error (a bug in vasink; please report it with this text): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT_CODES.internal;
}
