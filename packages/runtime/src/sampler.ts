import { InvalidArgumentError } from '@vasink/tensor';
import { GenerationError } from './errors.js';
import { type Rng, createRng } from './rng.js';

/**
 * How the next token is chosen, with Hugging Face `generate` semantics.
 * Greedy unless `doSample`; warpers apply in HF order: temperature, top-k, top-p.
 */
export interface SamplingOptions {
  /** Sample instead of taking the argmax. Default false. */
  doSample?: boolean;
  /** Divides the logits. Default 1; 0 means greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (exactly k; ties go to the lower id). 0 = off (default). */
  topK?: number;
  /** Keep the smallest most-likely set whose probability reaches topP (at least one token). 1 = off (default). */
  topP?: number;
  /** RNG seed; the same seed and logits give the same tokens. Default 0. */
  seed?: number;
}

/** A raw logit of the distribution, for reports. */
export interface TopLogit {
  id: number;
  logit: number;
}

/** The token chosen at one step. */
export interface TokenChoice {
  id: number;
  /** log p(id) under the unmodified distribution: log-softmax of the raw logits (no temperature, no filtering); NaN when not asked for. */
  logProb: number;
  /** The highest raw logits, most likely first. */
  topLogits: TopLogit[];
}

export interface SampleOptions {
  /** How many raw logits to report. Default 5. */
  topLogits?: number;
  /** Compute `logProb` (a float64 log-softmax over the vocabulary, the costliest part of a greedy choice). Default true; NaN when false. */
  logProb?: boolean;
}

/** A stateful chooser: its RNG advances with every sampled (not greedy) token. */
export interface Sampler {
  readonly greedy: boolean;
  sample(logits: Float32Array, options?: SampleOptions): TokenChoice;
}

/** The candidates a sampler draws from: ids most likely first (lower id on ties), probabilities summing to 1. */
export interface SamplingDistribution {
  ids: Int32Array;
  probs: Float64Array;
}

interface ResolvedSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
}

function resolve(options: SamplingOptions): ResolvedSampling {
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  const topP = options.topP ?? 1;
  const seed = options.seed ?? 0;
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new InvalidArgumentError(`temperature must be a finite number >= 0, got ${temperature}`, { temperature });
  }
  if (!(Number.isInteger(topK) && topK >= 0)) throw new InvalidArgumentError(`topK must be an integer >= 0, got ${topK}`, { topK });
  if (!(topP > 0 && topP <= 1)) throw new InvalidArgumentError(`topP must be in (0, 1], got ${topP}`, { topP });
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`seed must be a safe integer, got ${seed}`, { seed });
  return { greedy: !(options.doSample ?? false) || temperature === 0, temperature, topK, topP, seed };
}

function checkLogits(logits: Float32Array): void {
  if (logits.length === 0) throw new GenerationError('logits are empty');
}

/** Index of the largest logit; the lowest such index on ties. NaN logits are an error. */
export function argmax(logits: Float32Array): number {
  checkLogits(logits);
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i]!;
    if (Number.isNaN(value)) throw new GenerationError(`logit ${i} is NaN`, { id: i });
    if (value > bestValue) {
      best = i;
      bestValue = value;
    }
  }
  if (best < 0) throw new GenerationError('every logit is -Infinity: no token can be chosen');
  return best;
}

/** log-softmax of the raw logits at `id`, computed in float64. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  checkLogits(logits);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[id]! - max - Math.log(sum);
}

/** Whether (value a, id i) ranks before (value b, id j): larger value first, lower id on ties. */
function ranksBefore(a: number, i: number, b: number, j: number): boolean {
  return a > b || (a === b && i < j);
}

/** Ids of the k largest values, largest first, lower id first on ties. */
export function topKIndices(values: ArrayLike<number>, k: number): Int32Array {
  const n = values.length;
  const count = Math.min(k, n);
  if (count <= 0) return new Int32Array(0);
  if (count * 8 >= n) {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    all.sort((i, j) => values[j]! - values[i]! || i - j);
    return all.slice(0, count);
  }
  // Keep a sorted window of the best `count`: most values fail the first comparison.
  const ids = new Int32Array(count);
  const kept = new Float64Array(count);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const value = values[i]!;
    if (size === count && !ranksBefore(value, i, kept[count - 1]!, ids[count - 1]!)) continue;
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranksBefore(value, i, kept[mid]!, ids[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    const end = Math.min(size, count - 1);
    ids.copyWithin(lo + 1, lo, end);
    kept.copyWithin(lo + 1, lo, end);
    ids[lo] = i;
    kept[lo] = value;
    if (size < count) size++;
  }
  return ids;
}

/** The `k` highest raw logits, most likely first. */
export function topLogits(logits: Float32Array, k: number): TopLogit[] {
  return Array.from(topKIndices(logits, k), (id) => ({ id, logit: logits[id]! }));
}

function sortByValue(ids: Int32Array, values: Float64Array): Int32Array {
  return ids.sort((i, j) => values[j]! - values[i]! || i - j);
}

/**
 * The distribution a sampler with `options` draws from (temperature, then
 * top-k, then top-p over what top-k kept), in float64. Greedy options give the
 * argmax with probability 1.
 */
export function samplingDistribution(logits: Float32Array, options: SamplingOptions = {}): SamplingDistribution {
  return distributionOf(logits, resolve(options), true);
}

/** `sorted` false leaves an unfiltered distribution in id order: drawing needs no order, and sorting a 150k vocabulary each step costs. */
function distributionOf(logits: Float32Array, sampling: ResolvedSampling, sorted: boolean): SamplingDistribution {
  if (sampling.greedy) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  const n = logits.length;
  const scaled = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const value = logits[i]!;
    if (Number.isNaN(value) || value === Infinity) throw new GenerationError(`logit ${i} is ${value}`, { id: i });
    const z = value / sampling.temperature;
    scaled[i] = z;
    if (z > max) max = z;
  }
  if (max === -Infinity) throw new GenerationError('every logit is -Infinity: no token can be chosen');

  // Unnormalised probabilities of the candidates; `ids` sorted most likely first when known.
  let ids: Int32Array | undefined;
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) weights[i] = Math.exp(scaled[i]! - max);
  if (sampling.topK > 0 && sampling.topK < n) ids = topKIndices(scaled, sampling.topK);

  if (sampling.topP < 1) {
    let total = 0;
    if (ids === undefined) {
      for (let i = 0; i < n; i++) total += weights[i]!;
      // The nucleus lies among the tokens above some threshold: sort only those.
      for (const threshold of [1e-3, 1e-6, 1e-10, 0]) {
        let mass = 0;
        let count = 0;
        for (let i = 0; i < n; i++) {
          if (weights[i]! >= threshold) {
            mass += weights[i]!;
            count++;
          }
        }
        if (mass >= sampling.topP * total || threshold === 0) {
          const candidates = new Int32Array(count);
          for (let i = 0, c = 0; i < n; i++) if (weights[i]! >= threshold) candidates[c++] = i;
          ids = sortByValue(candidates, scaled);
          break;
        }
      }
    } else {
      for (const id of ids) total += weights[id]!;
    }
    const sorted = ids!;
    let before = 0;
    let keep = 0;
    while (keep < sorted.length && (keep === 0 || before < sampling.topP * total)) {
      before += weights[sorted[keep]!]!;
      keep++;
    }
    ids = sorted.slice(0, keep);
  }

  if (ids === undefined) {
    ids = Int32Array.from({ length: n }, (_, i) => i);
    if (sorted) sortByValue(ids, scaled);
  }
  const probs = new Float64Array(ids.length);
  let sum = 0;
  for (let c = 0; c < ids.length; c++) sum += probs[c] = weights[ids[c]!]!;
  for (let c = 0; c < ids.length; c++) probs[c] = probs[c]! / sum;
  return { ids, probs };
}

function draw(distribution: SamplingDistribution, rng: Rng): number {
  const u = rng.nextFloat();
  let cumulative = 0;
  const { ids, probs } = distribution;
  for (let c = 0; c < ids.length; c++) {
    cumulative += probs[c]!;
    if (u < cumulative) return ids[c]!;
  }
  return ids[ids.length - 1]!; // rounding left u just above the total
}

/**
 * A sampler for one sequence. Greedy choices use no randomness; sampled ones
 * draw from `samplingDistribution` with a seeded RNG, so the same seed and
 * logits reproduce the same tokens.
 */
export function createSampler(options: SamplingOptions = {}): Sampler {
  const sampling = resolve(options);
  const rng = createRng(sampling.seed);
  return {
    greedy: sampling.greedy,
    sample(logits, sampleOptions = {}) {
      const report = sampleOptions.topLogits ?? 5;
      const id = sampling.greedy ? argmax(logits) : draw(distributionOf(logits, sampling, false), rng);
      return { id, logProb: sampleOptions.logProb === false ? Number.NaN : logSoftmaxAt(logits, id), topLogits: topLogits(logits, report) };
    },
  };
}
