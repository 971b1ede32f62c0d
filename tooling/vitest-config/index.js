// Shared vitest configuration: workspace packages resolve to their `src`
// through the `@vasink/source` export condition, so tests never need a rebuild.
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';

const base = defineConfig({
  resolve: { conditions: ['@vasink/source'] },
  ssr: { resolve: { conditions: ['@vasink/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    // Hooks convert and load models; turbo runs several packages' suites at once on 2 cores.
    hookTimeout: 300_000,
    pool: 'forks',
    setupFiles: [fileURLToPath(new URL('./fast-check-seed.js', import.meta.url))],
    // Also a JSON record per package, summed by tooling/scripts/test-summary.mjs after `pnpm test`.
    reporters: ['default', ['json', { outputFile: 'node_modules/.vitest/results.json' }]],
  },
});

/** Build a package's vitest config from the shared base. */
export function vasinkVitestConfig(overrides = {}) {
  return mergeConfig(base, overrides);
}
