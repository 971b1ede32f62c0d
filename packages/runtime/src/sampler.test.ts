import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { GenerationError } from './errors.js';
import { argmax, createSampler, logSoftmaxAt, samplingDistribution, topKIndices, topLogits } from './sampler.js';

const logitsArb = (min = 2, max = 40) =>
  fc.array(fc.float({ min: -20, max: 20, noNaN: true, noDefaultInfinity: true }), { minLength: min, maxLength: max }).map((values) => Float32Array.from(values));

function softmax(values: ArrayLike<number>, temperature = 1): number[] {
  const scaled = Array.from(values, (v) => v / temperature);
  const max = Math.max(...scaled);
  const exps = scaled.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Ids ordered most likely first, lower id on ties. */
function ranked(values: ArrayLike<number>): number[] {
  return Array.from(values, (_, i) => i).sort((i, j) => values[j]! - values[i]! || i - j);
}

describe('greedy', () => {
  it('chooses the argmax (lowest id on ties) and reports log-softmax of the raw logits', () => {
    fc.assert(
      fc.property(logitsArb(), (logits) => {
        const choice = createSampler().sample(logits);
        expect(choice.id).toBe(ranked(logits)[0]);
        expect(choice.id).toBe(argmax(logits));
        expect(choice.logProb).toBeCloseTo(Math.log(softmax(logits)[choice.id]!), 5);
      }),
    );
  });

  it('is what temperature 0 means, even with doSample', () => {
    const logits = Float32Array.of(0.1, 3, 2.9);
    expect(createSampler({ doSample: true, temperature: 0 }).greedy).toBe(true);
    expect(createSampler({ doSample: true, temperature: 0 }).sample(logits).id).toBe(1);
  });

  it('reports the top raw logits, most likely first', () => {
    const logits = Float32Array.of(1, 5, -2, 5, 3);
    expect(createSampler().sample(logits, { topLogits: 3 }).topLogits).toEqual([
      { id: 1, logit: 5 },
      { id: 3, logit: 5 },
      { id: 4, logit: 3 },
    ]);
    expect(createSampler().sample(logits, { topLogits: 0 }).topLogits).toEqual([]);
    expect(topLogits(logits, 10)).toHaveLength(5);
  });
});

describe('topKIndices', () => {
  it('equals a full sort for every k, on vocabularies with ties', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 300 }), fc.nat(300), (values, k) => {
        expect([...topKIndices(values, k)]).toEqual(ranked(values).slice(0, k));
      }),
    );
  });
});

describe('sampling', () => {
  it('top-k = 1 and a tiny top-p are greedy', () => {
    fc.assert(
      fc.property(logitsArb(), fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0.05, max: 3, noNaN: true }), (logits, seed, temperature) => {
        const greedy = argmax(logits);
        expect(createSampler({ doSample: true, topK: 1, seed, temperature }).sample(logits).id).toBe(greedy);
        expect(createSampler({ doSample: true, topP: 1e-9, seed, temperature }).sample(logits).id).toBe(greedy);
      }),
    );
  });

  it('draws only from the allowed set: the k best, then the smallest nucleus reaching top-p', () => {
    fc.assert(
      fc.property(
        logitsArb(2, 30),
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0.2, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (logits, topK, topP, temperature, seed) => {
          // Reference, written independently: HF order temperature → top-k → top-p.
          let allowed = ranked(logits);
          if (topK > 0) allowed = allowed.slice(0, topK);
          const probs = softmax(allowed.map((id) => logits[id]!), temperature);
          let mass = 0;
          let keep = 0;
          while (keep < allowed.length && (keep === 0 || mass < topP)) mass += probs[keep++]!;
          // Near the top-p boundary float rounding may decide either way: allow one more token there.
          const allowedSet = new Set(allowed.slice(0, Math.min(allowed.length, keep + 1)));
          const minimal = new Set(allowed.slice(0, keep));

          const distribution = samplingDistribution(logits, { doSample: true, topK, topP, temperature });
          for (const id of distribution.ids) expect(allowedSet.has(id)).toBe(true);
          for (const id of minimal) if (Math.abs(mass - topP) > 1e-9) expect([...distribution.ids]).toContain(id);
          expect(distribution.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);

          const sampler = createSampler({ doSample: true, topK, topP, temperature, seed });
          for (let draw = 0; draw < 20; draw++) {
            const choice = sampler.sample(logits);
            expect([...distribution.ids]).toContain(choice.id);
            expect(choice.logProb).toBeCloseTo(logSoftmaxAt(logits, choice.id), 9);
            expect(choice.logProb).toBeCloseTo(Math.log(softmax(logits)[choice.id]!), 4);
          }
        },
      ),
    );
  });

  it('reproduces its tokens for a seed', () => {
    fc.assert(
      fc.property(logitsArb(3, 20), fc.integer({ min: 0, max: 2 ** 31 }), (logits, seed) => {
        const run = () => {
          const sampler = createSampler({ doSample: true, temperature: 1.5, topP: 0.95, seed });
          return Array.from({ length: 30 }, () => sampler.sample(logits).id);
        };
        expect(run()).toEqual(run());
      }),
    );
  });

  it('matches softmax(logits / T) on a small vocabulary (chi-square, 40 000 draws)', () => {
    const logits = Float32Array.of(2, 1.5, 0.3, -0.5, 1, -3);
    for (const temperature of [0.7, 1, 1.8]) {
      const expected = softmax(logits, temperature);
      const counts = new Array<number>(logits.length).fill(0);
      const sampler = createSampler({ doSample: true, temperature, seed: 1234 });
      const n = 40_000;
      for (let i = 0; i < n; i++) counts[sampler.sample(logits, { topLogits: 0 }).id]!++;
      const chiSquare = counts.reduce((sum, count, id) => sum + (count - n * expected[id]!) ** 2 / (n * expected[id]!), 0);
      expect(chiSquare).toBeLessThan(30); // df 5: p < 1e-5 beyond ~28
    }
  });

  it('renormalises over the nucleus: top-p 0.7 of [0.5, 0.3, 0.2] keeps two tokens at 5:3', () => {
    const logits = Float32Array.from([0.5, 0.3, 0.2].map(Math.log));
    const distribution = samplingDistribution(logits, { doSample: true, topP: 0.7 });
    expect([...distribution.ids]).toEqual([0, 1]);
    expect(distribution.probs[0]).toBeCloseTo(0.625, 6);
    const counts = [0, 0, 0];
    const sampler = createSampler({ doSample: true, topP: 0.7, seed: 9 });
    for (let i = 0; i < 20_000; i++) counts[sampler.sample(logits).id]!++;
    expect(counts[2]).toBe(0);
    expect(counts[0]! / 20_000).toBeGreaterThan(0.6);
    expect(counts[0]! / 20_000).toBeLessThan(0.65);
  });

  it('finds the nucleus on a 150k vocabulary without a full sort, equal to the sorted answer', () => {
    const n = 151_936;
    const logits = new Float32Array(n);
    let state = 12345;
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      logits[i] = (state / 2 ** 32) * 12 - 6;
    }
    logits[777] = 14;
    logits[1001] = 13.5;
    const start = performance.now();
    const distribution = samplingDistribution(logits, { doSample: true, topP: 0.9, temperature: 0.8 });
    const elapsed = performance.now() - start;
    const order = ranked(logits);
    expect([...distribution.ids]).toEqual(order.slice(0, distribution.ids.length));
    expect(elapsed).toBeLessThan(1000);
  });

  it('keeps -Infinity logits out and rejects NaN or all-masked logits', () => {
    const masked = Float32Array.of(-Infinity, 0, -Infinity, 0);
    const sampler = createSampler({ doSample: true, seed: 3 });
    for (let i = 0; i < 50; i++) expect([1, 3]).toContain(sampler.sample(masked).id);
    expect(() => createSampler().sample(Float32Array.of(0, Number.NaN))).toThrow(GenerationError);
    expect(() => createSampler({ doSample: true }).sample(Float32Array.of(-Infinity, -Infinity))).toThrow(/every logit is -Infinity/);
    expect(() => createSampler().sample(new Float32Array(0))).toThrow(GenerationError);
  });

  it('rejects invalid options with their names', () => {
    expect(() => createSampler({ temperature: -1 })).toThrow(InvalidArgumentError);
    expect(() => createSampler({ topK: 1.5 })).toThrow(/topK/);
    expect(() => createSampler({ topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => createSampler({ seed: 0.5 })).toThrow(/seed/);
  });
});
