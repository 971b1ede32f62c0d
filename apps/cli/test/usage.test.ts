import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('vasink usage and errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-cli-'));
    await writeFile(join(dir, 'broken.png'), 'this is not a png');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints help for the tool and for every command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['demo', 'fixture', 'convert', 'generate', 'inspect', 'find-sink-dims', 'eval', 'bench', 'serve', 'methods']) {
      expect(top.stdout).toContain(command);
      const sub = await runCli([command, '--help']);
      expect(sub.code, command).toBe(0);
      expect(sub.stdout, command).toMatch(new RegExp(`usage: vasink ${command}`));
    }
  });

  it('vasink methods lists the registry, and the README holds its table exactly', async () => {
    const listed = await runCli(['methods']);
    expect(listed.code).toBe(0);
    for (const name of ['var', 'pai', 'vaf', 'vcd']) expect(listed.stdout).toMatch(new RegExp(`^${name} `, 'm'));
    const markdown = await runCli(['methods', '--markdown']);
    expect(markdown.code).toBe(0);
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(markdown.stdout.trim());
    expect(markdown.stdout.trim().split('\n')).toHaveLength(2 + 4);
  });

  it('turns mistakes into one clear line and a non-zero exit', async () => {
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /unknown command "frobnicate"/],
      [['generate', '--model', dir, '--bogus'], 2, /Unknown option '--bogus'/],
      [['generate', '--model', dir, '--prompt', 'hi'], 2, /--image is required/],
      [['generate', '--model', dir, '--prompt', 'hi', '--image', join(dir, 'missing.png')], 2, /image not found: .*missing.png/],
      [['generate', '--model', dir, '--prompt', 'hi', '--image', join(dir, 'broken.png')], 1, /broken.png/],
      [['generate', '--model', join(dir), '--prompt', 'hi', '--image', join(dir, 'broken.png'), '--max-new-tokens', 'x'], 2, /--max-new-tokens must be an integer/],
      [['generate', '--model', dir, '--prompt', 'hi', '--image', join(dir, 'broken.png'), '--preset', 'turbo'], 1, /unknown VAR preset "turbo"/],
      [['convert', dir, join(dir, 'out')], 2, /has no config.json/],
      [['fixture', 'gpt', join(dir, 'x')], 2, /unknown model family "gpt"/],
      [['fixture', 'llava', join(dir, 'x'), '--size', '2b'], 2, /--size must be tiny, bench, 7b or 13b for llava, got "2b"/],
      [['fixture', 'qwen2-vl', join(dir, 'x'), '--size', '13b'], 2, /--size must be tiny, bench, 2b or 7b for qwen2-vl, got "13b"/],
      [['fixture', 'llava', join(dir, 'x'), '--layers', '2'], 2, /--layers applies to the real-shape sizes \(7b, 13b\), not to tiny/],
      [['fixture', 'llava', join(dir, 'x'), '--size', '7b', '--layers', '0'], 2, /--layers must be an integer ≥ 1, got "0"/],
      [['fixture', 'qwen2-vl', join(dir, 'x'), '--size', '2b', '--layers', '40'], 1, /layers must be an integer from 1 to 28/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('operating-system errors on paths the user gave are one line with exit 1, setup problems exit 3 — never a stack trace', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const sample = new URL('../assets/sample.png', import.meta.url).pathname;
    await runCli(['fixture', 'llava', join(dir, 'hf')]);
    const cases: [string[], number, RegExp][] = [
      [['convert', join(dir, 'hf'), file], 1, /a-file: (already exists|a part of the path is a file)/],
      [['convert', join(dir, 'hf'), join(file, 'sub')], 1, /a-file\/sub: a part of the path is a file, not a directory \(ENOTDIR/],
      [['convert', join(dir, 'hf'), ''], 2, /.+/],
      [['fixture', 'llava', join(file, 'x')], 1, /a part of the path is a file/],
      [['serve', '--model', dir, '--port', '99999'], 1, /port must be an integer in \[0, 65535\], got 99999/],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr, args.join(' ')).not.toMatch(/internal error|    at /);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
    }
    expect(sample).toBeTruthy();
    // A port in use is the setup's problem: exit 3.
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const busy = await runCli(['serve', '--model', dir, '--port', String(port)]);
    blocker.close();
    expect(busy.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE, listen\\)`));
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
    expect(busy.code).toBe(3);
  });

  it('refuses a directory that is not a converted model', async () => {
    const sample = new URL('../assets/sample.png', import.meta.url).pathname;
    const result = await runCli(['generate', '--model', dir, '--prompt', 'hi', '--image', sample]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not a converted vasink model \(no manifest.json\)/);
  });
});
