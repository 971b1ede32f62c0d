// Property tests run with a fixed fast-check seed so CI is reproducible; set
// FC_SEED to explore other seeds locally (a failure prints its seed and path).
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20251121) });
