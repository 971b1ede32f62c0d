// Run a script against the workspace's TypeScript sources, without building:
//
//   node --conditions=@vasink/source --import @vasink/scripts/run-source scripts/load.mjs --tiny
//
// `--conditions=@vasink/source` makes `@vasink/*` resolve to their `src`
// (as the tests do); the hooks below strip types with TypeScript's
// transpileModule and map the sources' `.js` import specifiers to `.ts`.
import { register } from 'node:module';

register('./source-hooks.mjs', import.meta.url);
