import type { TokenDecoder } from './tokenizer.js';

export interface IncrementalDecoderOptions {
  /** Leave special tokens out of the text. Default true. */
  skipSpecialTokens?: boolean;
}

const REPLACEMENT = '\uFFFD';

/**
 * Turns token ids, one at a time, into text deltas that never split a
 * character: a multi-byte character spread over several tokens (byte-fallback
 * `<0xF0><0x9F><0xA6><0x9C>`, byte-level pieces of an emoji or CJK character)
 * is held back while the decoded text ends in U+FFFD.
 *
 * Decodes a short window (the previous emission plus what is pending), not
 * the whole sequence, so the cost per token stays flat; the window keeps one
 * earlier token so that decoders which treat the first token specially
 * (SentencePiece's leading-space strip) see the same context twice.
 */
export class IncrementalDecoder {
  readonly #tokenizer: TokenDecoder;
  readonly #skipSpecialTokens: boolean;
  readonly #ids: number[] = [];
  #prefixOffset = 0;
  #readOffset = 0;

  constructor(tokenizer: TokenDecoder, options: IncrementalDecoderOptions = {}) {
    this.#tokenizer = tokenizer;
    this.#skipSpecialTokens = options.skipSpecialTokens ?? true;
  }

  /** Every id pushed so far. */
  get ids(): readonly number[] {
    return this.#ids;
  }

  #decode(ids: readonly number[]): string {
    return this.#tokenizer.decode(ids, { skipSpecialTokens: this.#skipSpecialTokens });
  }

  #advance(final: boolean): string {
    const prefixText = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const newText = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (newText.length > prefixText.length && (final || !newText.endsWith(REPLACEMENT))) {
      this.#prefixOffset = this.#readOffset;
      this.#readOffset = this.#ids.length;
      return newText.slice(prefixText.length);
    }
    return '';
  }

  /** Add one id; returns the text that became stable (possibly ''). */
  push(id: number): string {
    this.#ids.push(id);
    return this.#advance(false);
  }

  /** Text still held back (an incomplete character at the end), U+FFFD included. */
  flush(): string {
    return this.#advance(true);
  }
}
