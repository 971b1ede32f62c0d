#!/usr/bin/env node
// Scaffold a public package with the workspace's conventions:
//   node tooling/scripts/new-package.mjs <name> "<description>" [dep ...]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: new-package.mjs <name> "<description>" [dep ...]');
  process.exit(2);
}
const dir = join('packages', name);
if (existsSync(join(dir, 'package.json'))) {
  console.error(`${dir} exists`);
  process.exit(2);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const dependencies = Object.fromEntries(deps.map((d) => [d, d.startsWith('@vasink/') ? 'workspace:*' : '*']));
const manifest = {
  name: `@vasink/${name}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  exports: {
    '.': {
      '@vasink/source': './src/index.ts',
      types: './dist/index.d.ts',
      import: './dist/index.js',
    },
    './package.json': './package.json',
  },
  main: './dist/index.js',
  types: './dist/index.d.ts',
  files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/__fixtures__'],
  scripts: {
    build: 'tsup src/index.ts --format esm --dts --clean --sourcemap',
    typecheck: 'tsc -p tsconfig.json',
    test: 'vitest run',
    'lint:package': 'vasink-check-package',
  },
  dependencies,
  devDependencies: {
    '@vasink/scripts': 'workspace:*',
    '@vasink/tsconfig': 'workspace:*',
    '@vasink/vitest-config': 'workspace:*',
  },
  engines: { node: '>=20.19' },
  publishConfig: { access: 'public' },
};
writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({ extends: '@vasink/tsconfig/base.json', include: ['src', 'test', '*.config.ts'] }, null, 2) + '\n',
);
writeFileSync(
  join(dir, 'vitest.config.ts'),
  "import { vasinkVitestConfig } from '@vasink/vitest-config';\n\nexport default vasinkVitestConfig();\n",
);
console.log(`created ${dir}`);
