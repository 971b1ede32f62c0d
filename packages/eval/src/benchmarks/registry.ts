import type { BenchmarkDefinition } from '../benchmark.js';
import { EvalConfigError } from '../errors.js';
import { chairBenchmark } from './chair.js';
import { llavaBenchBenchmark, mmhalBenchmark, mmvetBenchmark } from './judged.js';
import { llavaCustomBenchmark } from './llava-custom.js';
import { mmeBenchmark } from './mme.js';
import { cvBenchBenchmark, gqaBenchmark, mmbenchBenchmark, mmvpBenchmark, scienceQaBenchmark, seedBenchmark } from './multiple-choice.js';
import { popeBenchmark } from './pope.js';
import { textvqaBenchmark, vizwizBenchmark, vqav2Benchmark } from './vqa.js';

/** Every benchmark, by name (the `vasink eval <benchmark>` argument). */
export const BENCHMARKS: Readonly<Record<string, BenchmarkDefinition<any>>> = Object.fromEntries(
  [
    popeBenchmark,
    chairBenchmark,
    mmhalBenchmark,
    mmvpBenchmark,
    cvBenchBenchmark,
    vqav2Benchmark,
    gqaBenchmark,
    vizwizBenchmark,
    textvqaBenchmark,
    scienceQaBenchmark,
    mmeBenchmark,
    mmbenchBenchmark,
    seedBenchmark,
    llavaBenchBenchmark,
    mmvetBenchmark,
    llavaCustomBenchmark,
  ].map((benchmark) => [benchmark.name, benchmark]),
);

/** Look a benchmark up by name; unknown names list the known ones. */
export function getBenchmark(name: string): BenchmarkDefinition<any> {
  const benchmark = BENCHMARKS[name];
  if (!benchmark) throw new EvalConfigError(`unknown benchmark "${name}"; known: ${Object.keys(BENCHMARKS).join(', ')}`, { name });
  return benchmark;
}
