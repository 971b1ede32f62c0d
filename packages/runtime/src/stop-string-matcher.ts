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
    const match = this.#firstMatch(pending);
    // A longer stop string may have begun before the match and still complete: wait for it,
    // so the result equals cutting the whole text at its first stop string.
    const partial = this.#firstPartial(pending, match?.at ?? pending.length);
    if (match && partial === undefined) {
      this.#stopped = true;
      this.#held = '';
      return { text: pending.slice(0, match.at), stopped: true, stopString: match.stop };
    }
    const keep = partial ?? pending.length;
    this.#held = pending.slice(keep);
    return { text: pending.slice(0, keep), stopped: false };
  }

  /**
   * End of the stream: release held text. A stop string inside it (one that
   * waited on a longer candidate that never completed) still cuts it.
   */
  flush(): string {
    const text = this.#held;
    this.#held = '';
    if (this.#stopped) return '';
    const match = this.#firstMatch(text);
    if (!match) return text;
    this.#stopped = true;
    return text.slice(0, match.at);
  }

  /** The earliest complete stop string in `text` (the longest wins a tie at one position). */
  #firstMatch(text: string): { at: number; stop: string } | undefined {
    let best: { at: number; stop: string } | undefined;
    for (const stop of this.#stopStrings) {
      const at = text.indexOf(stop);
      if (at >= 0 && (!best || at < best.at)) best = { at, stop };
    }
    return best;
  }

  /** The earliest position before `limit` where `text`'s tail is a proper prefix of a stop string. */
  #firstPartial(text: string, limit: number): number | undefined {
    for (let j = 0; j < limit; j++) {
      const tail = text.slice(j);
      if (this.#stopStrings.some((stop) => stop.length > tail.length && stop.startsWith(tail))) return j;
    }
    return undefined;
  }
}
