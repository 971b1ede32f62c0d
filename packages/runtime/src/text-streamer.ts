import { IncrementalDecoder } from './incremental-decoder.js';
import { StopStringMatcher } from './stop-string-matcher.js';
import type { TokenDecoder } from './tokenizer.js';

export interface TextStreamerOptions {
  /** Generation stops at the first of these; it is trimmed from the text. */
  stopStrings?: readonly string[];
  /** Leave special tokens out of the text. Default true. */
  skipSpecialTokens?: boolean;
}

/** What one generated id adds to the visible text. */
export interface StreamDelta {
  text: string;
  /** A stop string completed; nothing more will be shown. */
  stopped: boolean;
  stopString?: string;
}

/**
 * Generated ids in, visible text out: whole characters only (see
 * `IncrementalDecoder`) and nothing from a stop string on (see
 * `StopStringMatcher`). Concatenating every delta and `finish()` gives the
 * final text.
 */
export class TextStreamer {
  readonly #decoder: IncrementalDecoder;
  readonly #matcher: StopStringMatcher;
  #text = '';

  constructor(tokenizer: TokenDecoder, options: TextStreamerOptions = {}) {
    const decoderOptions = options.skipSpecialTokens === undefined ? {} : { skipSpecialTokens: options.skipSpecialTokens };
    this.#decoder = new IncrementalDecoder(tokenizer, decoderOptions);
    this.#matcher = new StopStringMatcher(options.stopStrings ?? []);
  }

  /** All text shown so far. */
  get text(): string {
    return this.#text;
  }

  get stopped(): boolean {
    return this.#matcher.stopped;
  }

  /** Ids pushed so far. */
  get ids(): readonly number[] {
    return this.#decoder.ids;
  }

  /** Add one generated id. */
  push(id: number): StreamDelta {
    if (this.#matcher.stopped) return { text: '', stopped: true };
    const match = this.#matcher.push(this.#decoder.push(id));
    this.#text += match.text;
    return match.stopString === undefined ? { text: match.text, stopped: match.stopped } : match;
  }

  /** End of generation: the text still held back (incomplete character, possible stop-string start). */
  finish(): string {
    if (this.#matcher.stopped) return '';
    const match = this.#matcher.push(this.#decoder.flush());
    const text = match.stopped ? match.text : match.text + this.#matcher.flush();
    this.#text += text;
    return text;
  }
}
