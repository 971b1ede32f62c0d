import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse a command's arguments strictly; unknown flags and missing values
 * become a UsageError naming the flag. `--help` prints `help` and returns null.
 */
export function parseCommand<O extends Options>(
  args: string[],
  options: O,
  help: string,
  positionals: { min?: number; max?: number } = {},
): { values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values']; positionals: string[] } | null {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help);
    return null;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs explains some mistakes over several lines: keep them on one.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`${message} (see --help)`);
  }
  const count = parsed.positionals.length;
  if (count < (positionals.min ?? 0)) throw new UsageError(`missing argument${(positionals.min ?? 0) - count > 1 ? 's' : ''} (see --help)`);
  if (count > (positionals.max ?? 0)) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max ?? 0]}" (see --help)`);
  return { values: parsed.values, positionals: parsed.positionals };
}

/** A required flag's value, or a UsageError naming the flag. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required (see --help)`);
  return value;
}

/** Parse a number flag; UsageError when it is not a number. */
export function numberFlag(value: string | undefined, flag: string, options: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (options.integer && !Number.isInteger(n)) || (options.min !== undefined && n < options.min)) {
    const kind = options.integer ? 'an integer' : 'a number';
    throw new UsageError(`--${flag} must be ${kind}${options.min === undefined ? '' : ` ≥ ${options.min}`}, got "${value}"`);
  }
  return n;
}

/** Parse a comma-separated list of integers (`--sink-dims 1415,2533`). */
export function intListFlag(value: string | undefined, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--${flag} must be comma-separated non-negative integers, got "${value}"`);
  return parts.map(Number);
}
