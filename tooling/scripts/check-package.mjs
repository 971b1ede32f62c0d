#!/usr/bin/env node
// Package quality gate run by `lint:package` in every public package: pack it
// with pnpm, check the tarball holds README and the ESM build with types, run
// publint on the packed files, and import the built entry point by the
// package's own name (exports map, no source condition) — proving it is
// consumable on its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const dir = process.cwd();
const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'vasink-pack-'));
// pnpm runs this script; reuse the same pnpm (it need not be on PATH).
const pnpm = process.env.npm_execpath
  ? [process.execPath, [process.env.npm_execpath]]
  : ['pnpm', []];
try {
  execFileSync(pnpm[0], [...pnpm[1], 'pack', '--pack-destination', scratch], { cwd: dir, stdio: 'pipe' });
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack produced no tarball for ${manifest.name}`);
  const listed = execFileSync('tar', ['-tzf', join(scratch, tarball)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const required of ['package/README.md', 'package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts']) {
    if (!listed.includes(required)) throw new Error(`${manifest.name}: packed tarball lacks ${required}`);
  }
  const leaked = listed.filter((f) => /\.test\.ts$|__fixtures__/.test(f));
  if (leaked.length > 0) throw new Error(`${manifest.name}: tests or fixtures in the tarball: ${leaked.slice(0, 3).join(', ')}`);
  execFileSync('tar', ['-xzf', tarball], { cwd: scratch });
  const packed = join(scratch, 'package');
  const { messages } = await publint({ pkgDir: packed, strict: true, pack: false });
  if (messages.length > 0) {
    const packedManifest = JSON.parse(readFileSync(join(packed, 'package.json'), 'utf8'));
    for (const message of messages) console.error(`publint ${message.type}: ${formatMessage(message, packedManifest)}`);
    throw new Error(`${manifest.name}: publint reported ${messages.length} problem(s)`);
  }
  const entry = await import(pathToFileURL(join(dir, 'dist/index.js')).href);
  const exported = Object.keys(entry);
  if (exported.length === 0) throw new Error(`${manifest.name}: dist/index.js exports nothing`);
  // Self-reference through the exports map, as a consumer resolves it.
  execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(manifest.name)})`], { cwd: dir, stdio: 'inherit' });
  console.log(`${manifest.name}@${manifest.version}: ${listed.length} files packed, publint clean, ${exported.length} exports import`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
