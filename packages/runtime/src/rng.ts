import { InvalidArgumentError } from '@vasink/tensor';

/** A seeded pseudo-random generator: the same seed gives the same sequence on every platform. */
export interface Rng {
  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
}

function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * xoshiro128** seeded through splitmix32. `seed` is any safe integer; its high
 * and low 32 bits both feed the state, so seeds beyond 2^32 stay distinct.
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`seed must be a safe integer, got ${seed}`, { seed });
  const low = seed >>> 0;
  const high = Math.floor(seed / 2 ** 32) >>> 0;
  let mix = low ^ Math.imul(high, 0x27d4eb2d);
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    let value: number;
    [mix, value] = splitmix32(mix);
    s[i] = value;
  }
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;

  const nextUint32 = (): number => {
    const s0 = s[0]!;
    const s1 = s[1]!;
    const s2 = s[2]!;
    const s3 = s[3]!;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = (n3 << 11) | (n3 >>> 21);
    return result;
  };
  return {
    nextUint32,
    nextFloat: () => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / 9007199254740992,
  };
}
