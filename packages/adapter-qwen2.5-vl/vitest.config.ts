import { vasinkVitestConfig } from '@vasink/vitest-config';

export default vasinkVitestConfig();
