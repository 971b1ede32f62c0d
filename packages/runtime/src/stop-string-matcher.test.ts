import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { StopStringMatcher } from './stop-string-matcher.js';

function run(stops: string[], deltas: string[]): { text: string; stopped: boolean } {
  const matcher = new StopStringMatcher(stops);
  let text = '';
  for (const delta of deltas) {
    const match = matcher.push(delta);
    text += match.text;
    if (match.stopped) return { text, stopped: true };
  }
  return { text: text + matcher.flush(), stopped: false };
}

describe('StopStringMatcher', () => {
  it('stops on a stop string spanning deltas and trims it', () => {
    const matcher = new StopStringMatcher(['###', '\nUSER:']);
    expect(matcher.push('The answer is 4.\nUS')).toEqual({ text: 'The answer is 4.', stopped: false });
    expect(matcher.push('ER: next')).toEqual({ text: '', stopped: true, stopString: '\nUSER:' });
    expect(matcher.push('more')).toEqual({ text: '', stopped: true });
  });

  it('releases held text once it can no longer start a stop string', () => {
    const matcher = new StopStringMatcher(['STOP']);
    expect(matcher.push('go ST')).toEqual({ text: 'go ', stopped: false });
    expect(matcher.push('ART')).toEqual({ text: 'START', stopped: false });
    expect(matcher.push('S')).toEqual({ text: '', stopped: false });
    expect(matcher.flush()).toBe('S');
  });

  it('takes the earliest of several matches', () => {
    expect(run(['bc', 'abcd'], ['xabcd'])).toEqual({ text: 'x', stopped: true });
    expect(run(['cd', 'b'], ['xa', 'bcd'])).toEqual({ text: 'xa', stopped: true });
  });

  it('equals cutting the whole text at the first stop string, however it is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n'), minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\n', 'd'), maxLength: 5 }), { maxLength: 12 }),
        (stops, deltas) => {
          const whole = deltas.join('');
          const cuts = stops.map((stop) => whole.indexOf(stop)).filter((index) => index >= 0);
          const expected = cuts.length === 0 ? { text: whole, stopped: false } : { text: whole.slice(0, Math.min(...cuts)), stopped: true };
          expect(run(stops, deltas)).toEqual(expected);
        },
      ),
    );
  });

  it('never emits text that later turns out to be part of a stop string', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 1, maxLength: 4 }), fc.array(fc.constantFrom('a', 'b', 'ab', 'ba'), { maxLength: 10 }), (stop, deltas) => {
        const matcher = new StopStringMatcher([stop]);
        let shown = '';
        for (const delta of deltas) {
          const match = matcher.push(delta);
          shown += match.text;
          if (match.stopped) break;
        }
        expect(shown.includes(stop)).toBe(false);
      }),
    );
  });

  it('rejects empty stop strings', () => {
    expect(() => new StopStringMatcher([''])).toThrow(InvalidArgumentError);
  });
});
