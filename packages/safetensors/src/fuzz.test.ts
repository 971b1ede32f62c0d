// Fuzz: hostile safetensors headers. Whatever the bytes, the reader answers with a SafetensorsError
// (whose fault: the input) or a header — never a TypeError, a RangeError or an allocation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exposureOf } from '@vasink/tensor';
import { fuzzParameters } from '@vasink/test-utils';
import { SafetensorsError } from './errors.js';
import { decodeHeaderLength, parseHeader } from './header.js';

const FUZZ = fuzzParameters(300);

function outcome(run: () => unknown): 'ok' | 'refused' {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (!(error instanceof SafetensorsError) || exposureOf(error) !== 'input') throw error;
    expect(error.message).not.toContain('\n');
    return 'refused';
  }
}

const number = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.constantFrom(2 ** 53, 1e300, -0, 0.5, Number.MAX_SAFE_INTEGER), fc.double());
const value = fc.oneof(number, fc.string(), fc.constant(null), fc.boolean(), fc.array(number, { maxLength: 6 }));
const entry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32', ''), fc.string()),
    shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 4096 }), fc.constantFrom(2 ** 40, 0.5)), { maxLength: 5 }), value),
    data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -4, max: 1 << 20 }), fc.integer({ min: -4, max: 1 << 20 })), value),
  },
  { requiredKeys: [] },
);
const header = fc.dictionary(fc.oneof(fc.string(), fc.constant('__metadata__')), fc.oneof(entry, value, fc.dictionary(fc.string(), value)), { maxKeys: 6 });

describe('safetensors headers under fuzzing', () => {
  it('a parsed JSON header of random entries: a header or one SafetensorsError', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 1 << 22 }), (json, extra) => {
        const bytes = new TextEncoder().encode(JSON.stringify(json));
        outcome(() => parseHeader('fuzz.safetensors', bytes, 8 + bytes.length + extra));
      }),
      FUZZ,
    );
  });

  it('random bytes as the header and as its length prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 2 ** 40 }), (bytes, prefix, size) => {
        outcome(() => parseHeader('fuzz.safetensors', bytes, size));
        outcome(() => decodeHeaderLength('fuzz.safetensors', prefix, size));
      }),
      FUZZ,
    );
  });
});
