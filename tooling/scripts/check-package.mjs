#!/usr/bin/env node
// Package quality gate run by `lint:package` in every public package:
// publint on the packed tarball, then a smoke import of the packed build in a
// scratch directory — proving the package is consumable on its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const dir = process.cwd();
const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'vasink-pack-'));
try {
  execFileSync('pnpm', ['pack', '--pack-destination', scratch], { cwd: dir, stdio: 'pipe' });
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack produced no tarball for ${manifest.name}`);
  execFileSync('tar', ['-xzf', tarball], { cwd: scratch });
  const packed = join(scratch, 'package');
  const listed = execFileSync('tar', ['-tzf', join(scratch, tarball)], { encoding: 'utf8' }).split('\n');
  for (const required of ['package/README.md', 'package/dist/index.js', 'package/dist/index.d.ts']) {
    if (!listed.includes(required)) throw new Error(`${manifest.name}: packed tarball lacks ${required}`);
  }
  const publint = resolve(dir, 'node_modules/.bin/publint');
  execFileSync(publint, ['run', packed, '--strict'], { stdio: 'inherit' });
  console.log(`${manifest.name}@${manifest.version}: packed ${listed.filter(Boolean).length} files, publint clean`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
