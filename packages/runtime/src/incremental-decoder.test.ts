import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { llamaTokenizer, qwenTokenizer } from './__fixtures__/tokenizers.js';
import { IncrementalDecoder } from './incremental-decoder.js';
import type { Tokenizer } from './tokenizer.js';

function stream(tokenizer: Tokenizer, ids: readonly number[]): { deltas: string[]; tail: string } {
  const decoder = new IncrementalDecoder(tokenizer);
  const deltas = ids.map((id) => decoder.push(id));
  return { deltas, tail: decoder.flush() };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const SAMPLES = ['🦜🫠 parrot', '日本語の文章、鱻と龘。', 'Grüße 😀👍🏽 naïve café', '👨‍👩‍👧 family', 'x€y ∑ 𝄞 done', 'plain ascii text'];

describe.each([
  ['SentencePiece with byte fallback', llamaTokenizer],
  ['byte-level BPE', qwenTokenizer],
] as const)('IncrementalDecoder, %s', (_name, load) => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    tokenizer = await load();
  });

  it.each(SAMPLES)('streams %j in whole characters and ends with the full text', (text) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const { deltas, tail } = stream(tokenizer, ids);
    expect(deltas.join('') + tail).toBe(text);
    expect(tail).toBe('');
    for (const delta of deltas) expect(delta).not.toContain('\uFFFD');
    // Every delta is well-formed UTF-16: no lone surrogate of a split emoji.
    for (const delta of deltas) expect(delta).not.toMatch(LONE_SURROGATE);
  });

  it('holds back the bytes of a character split over several tokens', () => {
    const ids = tokenizer.encode('a🫠', { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(2); // the emoji really is split here
    const { deltas } = stream(tokenizer, ids);
    expect(deltas[0]).toBe('a');
    expect(deltas.slice(1, -1).every((d) => d === '')).toBe(true);
    expect(deltas.at(-1)).toBe('🫠');
  });

  it('equals decoding the whole sequence, for random sequences of real pieces', () => {
    const pieces = SAMPLES.flatMap((text) => tokenizer.encode(text, { addSpecialTokens: false }));
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 40 }), (ids) => {
        const { deltas, tail } = stream(tokenizer, ids);
        expect(deltas.join('') + tail).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
      }),
      { numRuns: 200 },
    );
  });

  it('flushes an incomplete character at the end as U+FFFD', () => {
    const ids = tokenizer.encode('ok🦜', { addSpecialTokens: false });
    const { deltas, tail } = stream(tokenizer, ids.slice(0, -1));
    expect(deltas.join('')).toBe('ok');
    expect(tail).toMatch(/^\s?\uFFFD+$/u);
  });
});

describe('IncrementalDecoder with special tokens', () => {
  it('skips them by default and keeps them when asked', async () => {
    const tokenizer = await qwenTokenizer();
    const ids = tokenizer.encode('<|vision_start|>hi<|im_end|>', { addSpecialTokens: false });
    const skip = new IncrementalDecoder(tokenizer);
    expect(ids.map((id) => skip.push(id)).join('') + skip.flush()).toBe('hi');
    const keep = new IncrementalDecoder(tokenizer, { skipSpecialTokens: false });
    expect(ids.map((id) => keep.push(id)).join('') + keep.flush()).toBe('<|vision_start|>hi<|im_end|>');
  });
});
