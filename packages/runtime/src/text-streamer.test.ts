import { describe, expect, it } from 'vitest';
import { llamaTokenizer, qwenTokenizer } from './__fixtures__/tokenizers.js';
import { TextStreamer } from './text-streamer.js';

describe('TextStreamer', () => {
  it('stops on a stop string spanning two tokens and trims it (byte-level BPE)', async () => {
    const tokenizer = await qwenTokenizer();
    const ids = tokenizer.encode('The cat sat.\nUSER: and then', { addSpecialTokens: false });
    const streamer = new TextStreamer(tokenizer, { stopStrings: ['\nUSER:'] });
    const deltas: string[] = [];
    let stoppedAt = -1;
    for (const [index, id] of ids.entries()) {
      const delta = streamer.push(id);
      deltas.push(delta.text);
      if (delta.stopped) {
        stoppedAt = index;
        expect(delta.stopString).toBe('\nUSER:');
        break;
      }
    }
    // "\nUSER:" is more than one token: the stream stops on the one completing it.
    const stopTokens = tokenizer.encode('\nUSER:', { addSpecialTokens: false });
    expect(stopTokens.length).toBeGreaterThan(1);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(ids.length - 1);
    expect(deltas.join('')).toBe('The cat sat.');
    expect(streamer.text).toBe('The cat sat.');
    expect(streamer.finish()).toBe('');
    expect(streamer.push(ids[0]!)).toEqual({ text: '', stopped: true });
  });

  it('holds emoji bytes and a possible stop-string start until they resolve (SentencePiece)', async () => {
    const tokenizer = await llamaTokenizer();
    const ids = tokenizer.encode('Parrot 🦜 says ##', { addSpecialTokens: false });
    const streamer = new TextStreamer(tokenizer, { stopStrings: ['###'] });
    const deltas = ids.map((id) => streamer.push(id).text);
    for (const delta of deltas) expect(delta).not.toContain('\uFFFD');
    expect(deltas.join('')).toBe('Parrot 🦜 says ');
    expect(streamer.finish()).toBe('##');
    expect(streamer.text).toBe('Parrot 🦜 says ##');
  });

  it('stops inside a token: text before the stop string is kept, the rest dropped', async () => {
    const tokenizer = await llamaTokenizer();
    const ids = tokenizer.encode('x</answer>y', { addSpecialTokens: false });
    const streamer = new TextStreamer(tokenizer, { stopStrings: ['</ans'] });
    let shown = '';
    for (const id of ids) {
      const delta = streamer.push(id);
      shown += delta.text;
      if (delta.stopped) break;
    }
    expect(shown).toBe('x');
  });
});
