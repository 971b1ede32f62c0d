import type { ViteUserConfig } from 'vitest/config';

/** Build a package's vitest config from the shared base. */
export function vasinkVitestConfig(overrides?: ViteUserConfig): ViteUserConfig;
