import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (turbo builds it before this package's tests). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Run `vasink …` as a user would; resolves with exit code and output. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 240_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
