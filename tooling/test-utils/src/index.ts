// Test helpers shared by the packages' suites (private: never published).
import { type ModelProto, encodeModel } from '@vasink/onnx-graph';
import { type TypedTensor, fromOrtTensor, toOrtTensor } from '@vasink/tensor';
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';

/** A CPU onnxruntime session over a built model, fed and read as vasink tensors. */
export interface ModelRunner {
  run(feeds: Record<string, TypedTensor>): Promise<Record<string, TypedTensor>>;
  release(): Promise<void>;
}

/** Create one session for a built model; run it many times. */
export async function createModelRunner(model: ModelProto): Promise<ModelRunner> {
  const session = await ort.InferenceSession.create(encodeModel(model), { executionProviders: ['cpu'] });
  return {
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(tensor) as ort.Tensor;
      const results = await session.run(ortFeeds);
      const out: Record<string, TypedTensor> = {};
      for (const [name, tensor] of Object.entries(results)) out[name] = fromOrtTensor(tensor);
      return out;
    },
    release: () => session.release(),
  };
}

/** Run a built model once in onnxruntime-node (CPU) and return its outputs as vasink tensors. */
export async function runModel(
  model: ModelProto,
  feeds: Record<string, TypedTensor>,
): Promise<Record<string, TypedTensor>> {
  const runner = await createModelRunner(model);
  try {
    return await runner.run(feeds);
  } finally {
    await runner.release();
  }
}

/**
 * Largest relative error |a − e| / max(|e|, floor) over two arrays. `floor`
 * turns the relative error into an absolute one for near-zero expectations
 * (tiny probabilities), where relative error means nothing.
 */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(a) || Number.isNaN(e)) return Number.NaN;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(Math.abs(e), floor));
  }
  return worst;
}

/** max |a − e| / max |e|: the relative error of a whole vector (logits, a layer's output), meaningful where single entries are near 0. */
export function normRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return diff / scale;
}

/** Deterministic uniform [0, 1) generator (xorshift32). */
export { seededUniform as seededRandom } from '@vasink/tensor';

/**
 * fast-check parameters of the fuzz suites: a fixed seed in CI; longer runs by
 * flag — `VASINK_FUZZ_RUNS=10000 VASINK_FUZZ_SEED=7 pnpm test` — or `VASINK_FUZZ_SEED=random`.
 */
export function fuzzParameters(defaultRuns: number): { seed: number; numRuns: number } {
  const runs = Number(process.env.VASINK_FUZZ_RUNS ?? defaultRuns);
  const seedText = process.env.VASINK_FUZZ_SEED ?? '20261203';
  const seed = seedText === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  if (seedText === 'random') process.stderr.write(`fuzz seed ${seed}\n`);
  return { seed, numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns };
}

/**
 * Fuzz a config parser: `base` (a released config.json) with 1–5 random fields of `sections` (`''` = top
 * level) set to hostile values (wrong types, 1e8, 2^53, NaN, …). Each variant must parse, passing `check`,
 * or throw an error `isInputError` accepts, in one line — never a TypeError, RangeError or allocation.
 */
export function fuzzConfigFields(options: {
  base: Record<string, unknown>;
  sections: readonly string[];
  keys: readonly string[];
  parse: (config: Record<string, unknown>) => unknown;
  check?: (parsed: unknown) => void;
  isInputError: (error: unknown) => boolean;
  runs: number;
}): void {
  const value = fc.oneof(
    fc.integer({ min: -3, max: 100 }),
    fc.constantFrom<unknown>(0, 1e8, 2 ** 31, 2 ** 53, 1e300, -1, 0.5, Number.NaN, '4096', null, true, [], {}, [1, 2], 'gelu', 'silu', 'full'),
    fc.string({ maxLength: 8 }),
  );
  const edit = fc.tuple(fc.constantFrom(...options.sections), fc.constantFrom(...options.keys), value);
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
      const config = structuredClone(options.base);
      for (const [section, key, v] of edits) {
        const target = section === '' ? config : ((config[section] ??= {}) as Record<string, unknown>);
        // A copy: the arbitraries hand out shared objects, which later edits must not mutate (JSON is never cyclic).
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) target[key] = structuredClone(v);
      }
      let parsed: unknown;
      try {
        parsed = options.parse(config);
      } catch (error) {
        if (!options.isInputError(error) || (error as Error).message.includes('\n')) throw error;
        return;
      }
      options.check?.(parsed);
    }),
    fuzzParameters(options.runs),
  );
}
