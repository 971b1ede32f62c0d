import { InvalidArgumentError } from '@vasink/tensor';

/** Result of feeding text to a `StopStringMatcher`. */
export interface StopMatch {
  /** Text safe to show: it cannot belong to a stop string. */
  text: string;
  /** A stop string was completed; `text` ends just before it and the rest is dropped. */
  stopped: boolean;
  /** The stop string that matched. */
  stopString?: string;
}

/**
 * Watches streamed text for stop strings. Text that could be the start of a
 * stop string is held back until the next delta decides; a match is trimmed,
 * with everything after it.
 */
export class StopStringMatcher {
  readonly #stopStrings: readonly string[];
  #held = '';
  #stopped = false;

  constructor(stopStrings: readonly string[]) {
    for (const stop of stopStrings) {
      if (typeof stop !== 'string' || stop.length === 0) {
        throw new InvalidArgumentError(`stop strings must be non-empty strings, got ${JSON.stringify(stop)}`, { stopStrings: [...stopStrings] });
      }
    }
    this.#stopStrings = [...stopStrings];
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Feed a text delta. */
  push(delta: string): StopMatch {
    if (this.#stopped) return { text: '', stopped: true };
    const pending = this.#held + delta;
    let at = -1;
    let matched: string | undefined;
    for (const stop of this.#stopStrings) {
      const index = pending.indexOf(stop);
      if (index >= 0 && (at < 0 || index < at)) {
        at = index;
        matched = stop;
      }
    }
    if (matched !== undefined) {
      this.#stopped = true;
      this.#held = '';
      return { text: pending.slice(0, at), stopped: true, stopString: matched };
    }
    const hold = this.#partialMatchLength(pending);
    this.#held = pending.slice(pending.length - hold);
    return { text: pending.slice(0, pending.length - hold), stopped: false };
  }

  /** Release held text at the end of the stream (it never completed a stop string). */
  flush(): string {
    const text = this.#held;
    this.#held = '';
    return text;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  #partialMatchLength(text: string): number {
    let best = 0;
    for (const stop of this.#stopStrings) {
      for (let length = Math.min(stop.length - 1, text.length); length > best; length--) {
        if (text.endsWith(stop.slice(0, length))) {
          best = length;
          break;
        }
      }
    }
    return best;
  }
}
