// Fuzz: hostile image bytes. Random bytes and real PNG/JPEG/WebP files with bytes flipped, cut or
// spliced decode to an image or fail with one ImageDecodeError (the input's fault) — never another error.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exposureOf } from '@vasink/tensor';
import { fuzzParameters } from '@vasink/test-utils';
import { decodeImage } from './decode-image.js';
import { ImageDecodeError } from './errors.js';

const FUZZ = fuzzParameters(150);
const seeds = ['rings-rgba.png', 'rings-palette.png', 'rings-q85.jpg', 'rings-lossy.webp', 'rings-cmyk.jpg'].map((name) =>
  new Uint8Array(readFileSync(new URL(`./__fixtures__/decode/${name}`, import.meta.url))),
);

async function outcome(bytes: Uint8Array): Promise<'ok' | 'refused'> {
  try {
    const image = await decodeImage(bytes, { maxPixels: 4_000_000 });
    expect(image.data.length).toBe(image.width * image.height * 3);
    return 'ok';
  } catch (error) {
    if (!(error instanceof ImageDecodeError) || exposureOf(error) !== 'input') throw error;
    return 'refused';
  }
}

const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
    fc.option(fc.nat(), { nil: undefined }),
  )
  .map(([seed, flips, cut]) => {
    const bytes = Uint8Array.from(seed);
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    return cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
  });

describe('image decoding under fuzzing', () => {
  it('real files with bytes flipped or cut, and random bytes: an image or one ImageDecodeError', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(mutated, fc.uint8Array({ maxLength: 512 })), async (bytes) => void (await outcome(bytes))), FUZZ);
  });
});
