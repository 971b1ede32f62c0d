import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { qwenTokenizer } from './__fixtures__/tokenizers.js';
import type { DecodeInput, DecoderStep, StepOutput } from './decoder-step.js';
import { GenerationError } from './errors.js';
import { type GenerateOptions, type GenerationEvent, collect, generate } from './generate.js';
import { logSoftmaxAt } from './sampler.js';
import type { TokenDecoder } from './tokenizer.js';

// A toy "model": a bigram table over a tiny vocabulary. The loop is under test, not the model.
const VOCAB = ['<eos>', 'a', 'b', 'c', ' E', 'ND', 'x', '!', 'y', 'z'];
const EOS = 0;
const NEXT: Record<number, number> = { 0: 0, 1: 2, 2: EOS, 3: 1, 4: 5, 5: 7, 6: 6, 7: 7, 8: 9, 9: 4 };

const toyTokenizer: TokenDecoder = {
  decode: (ids, options = {}) => ids.map((id) => (id === EOS && (options.skipSpecialTokens ?? false) ? '' : VOCAB[id]!)).join(''),
};

function bigramLogits(previous: number, peak: number): Float32Array {
  const logits = new Float32Array(VOCAB.length).map((_, id) => (id * 7 + previous * 3) % 5 * 0.1);
  logits[NEXT[previous]!] = peak;
  return logits;
}

interface ToyDiagnostics {
  call: number;
}

class BigramStep implements DecoderStep<ToyDiagnostics> {
  readonly batchSize: number;
  readonly decodeCalls: DecodeInput[] = [];
  prefillCalls = 0;
  disposed = 0;
  onDecode: ((input: DecodeInput) => void) | undefined;
  readonly #last: number[];

  constructor(
    prompts: number[][],
    private readonly peak = 6,
  ) {
    this.batchSize = prompts.length;
    // Left padding is the step's business: the loop only sees each row's last position.
    this.#last = prompts.map((prompt) => prompt.at(-1)!);
  }

  #output(rows: readonly number[]): StepOutput<ToyDiagnostics> {
    return { logits: rows.map((row) => bigramLogits(this.#last[row]!, this.peak)), diagnostics: { call: this.prefillCalls + this.decodeCalls.length - 1 } };
  }

  async prefill(): Promise<StepOutput<ToyDiagnostics>> {
    this.prefillCalls++;
    return this.#output(this.#last.map((_, row) => row));
  }

  async decode(input: DecodeInput): Promise<StepOutput<ToyDiagnostics>> {
    this.decodeCalls.push({ rows: [...input.rows], ids: [...input.ids], finished: [...input.finished] });
    input.rows.forEach((row, i) => (this.#last[row] = input.ids[i]!));
    this.onDecode?.(input);
    return this.#output(input.rows);
  }

  dispose(): void {
    this.disposed++;
  }
}

async function events<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const event of iterable) all.push(event);
  return all;
}

const base: Omit<GenerateOptions, 'maxNewTokens'> = { tokenizer: toyTokenizer, eosTokenIds: [EOS], stopStrings: [' END'] };

describe('generate', () => {
  it('runs a batch of 3 rows that finish at different steps (eos, stop spanning two tokens, length)', async () => {
    const step = new BigramStep([[1], [7, 7, 6], [8]]);
    const results = await collect(generate(step, { ...base, maxNewTokens: 6 }));
    expect(results.map(({ row, ids, text, finishReason }) => ({ row, ids, text, finishReason }))).toEqual([
      { row: 0, ids: [2, EOS], text: 'b', finishReason: 'eos' },
      { row: 1, ids: [6, 6, 6, 6, 6, 6], text: 'xxxxxx', finishReason: 'length' },
      { row: 2, ids: [9, 4, 5], text: 'z', finishReason: 'stop' },
    ]);
    expect(step.prefillCalls).toBe(1);
    expect(step.decodeCalls).toEqual([
      { rows: [0, 1, 2], ids: [2, 6, 9], finished: [] },
      { rows: [1, 2], ids: [6, 4], finished: [0] },
      { rows: [1], ids: [6], finished: [2] },
      { rows: [1], ids: [6], finished: [] },
      { rows: [1], ids: [6], finished: [] },
    ]);
    expect(step.disposed).toBe(1);
    expect(results[1]!.diagnostics).toEqual([0, 1, 2, 3, 4, 5].map((call) => ({ call })));
  });

  it('streams events step by step, rows ascending, each row ending with done', async () => {
    const all = await events(generate(new BigramStep([[1], [6], [8]]), { ...base, maxNewTokens: 3 }));
    expect(all.map((e) => [e.step, e.row, e.text, e.done ?? null])).toEqual([
      [0, 0, 'b', null],
      [0, 1, 'x', null],
      [0, 2, 'z', null],
      [1, 0, '', 'eos'],
      [1, 1, 'x', null],
      [1, 2, '', null], // ' E' could start ' END': held back
      [2, 1, 'x', 'length'],
      [2, 2, '', 'stop'],
    ]);
  });

  it('times each decoder call: the prefill for step 0, one decode call per later step, shared by its rows', async () => {
    // A fake clock that the step advances: prefill 100 ms, decode call k 10 + k ms.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    try {
      const step = new BigramStep([[1], [7, 7, 6], [8]]);
      const prefill = step.prefill.bind(step);
      step.prefill = async () => ((clock += 100), prefill());
      step.onDecode = () => (clock += 10 + step.decodeCalls.length);
      const all = await events(generate(step, { ...base, maxNewTokens: 6 }));
      for (const event of all) if (event.kind === 'token') expect(event.stepMs).toBe(event.step === 0 ? 100 : 10 + event.step);
      const results = await collect(generate(new BigramStep([[1], [7, 7, 6], [8]]), { ...base, maxNewTokens: 6 }));
      for (const result of results) expect(result.stepMs).toHaveLength(result.ids.length);
    } finally {
      now.mockRestore();
    }
  });

  it('flushes held-back text when the row ends on length', async () => {
    const results = await collect(generate(new BigramStep([[8]]), { ...base, maxNewTokens: 2 }));
    expect(results[0]).toMatchObject({ ids: [9, 4], text: 'z E', finishReason: 'length' });
  });

  it('reports log-probabilities of the raw logits and the top logits', async () => {
    const [result] = await collect(generate(new BigramStep([[3]], 2), { ...base, maxNewTokens: 3, sampling: { doSample: true, temperature: 0.3, seed: 5 }, topLogits: 3 }));
    expect(result!.ids).toHaveLength(3);
    let previous = 3;
    result!.ids.forEach((id, i) => {
      const logits = bigramLogits(previous, 2);
      expect(result!.logProbs[i]).toBeCloseTo(logSoftmaxAt(logits, id), 10);
      expect(result!.topLogits[i]).toHaveLength(3);
      expect(result!.topLogits[i]![0]).toEqual({ id: NEXT[previous], logit: 2 });
      previous = id;
    });
  });

  it('text only (logProbs false, topLogits 0): the same tokens and text, no log-probabilities or top logits computed', async () => {
    const options = { ...base, maxNewTokens: 6, sampling: { doSample: true, temperature: 0.8, seed: 9 } };
    const [full] = await collect(generate(new BigramStep([[3]], 2), options));
    const [lean] = await collect(generate(new BigramStep([[3]], 2), { ...options, logProbs: false, topLogits: 0 }));
    expect(lean!.ids).toEqual(full!.ids);
    expect(lean!.text).toBe(full!.text);
    expect(lean!.logProbs.every(Number.isNaN)).toBe(true);
    expect(lean!.topLogits.every((top) => top.length === 0)).toBe(true);
    expect(full!.logProbs.some(Number.isNaN)).toBe(false);
  });

  it('samples reproducibly per seed, and a row gives the same tokens alone or in a batch', async () => {
    const sampling = { doSample: true, temperature: 1.5, topK: 6, seed: 77 };
    const options = { ...base, eosTokenIds: [], stopStrings: [], maxNewTokens: 24, sampling };
    const prompts = [[1], [6], [3]];
    const first = await collect(generate(new BigramStep(prompts, 1), options));
    const again = await collect(generate(new BigramStep(prompts, 1), options));
    // Everything but the wall-clock step times.
    const untimed = (results: typeof first) => results.map(({ stepMs: _, ...rest }) => rest);
    expect(untimed(again)).toEqual(untimed(first));
    for (const [row, prompt] of prompts.entries()) {
      const [alone] = await collect(generate(new BigramStep([prompt], 1), options));
      expect(alone!.ids).toEqual(first[row]!.ids);
    }
    const other = await collect(generate(new BigramStep(prompts, 1), { ...options, sampling: { ...sampling, seed: 78 } }));
    expect(other.map((r) => r.ids)).not.toEqual(first.map((r) => r.ids));
    // Sampling really departs from the greedy chain somewhere.
    const greedy = await collect(generate(new BigramStep(prompts, 1), { ...options, sampling: undefined }));
    expect(first.map((r) => r.ids)).not.toEqual(greedy.map((r) => r.ids));
  });

  it('takes per-row sampling options', async () => {
    const results = await collect(
      generate(new BigramStep([[6], [6]], 1), {
        ...base,
        maxNewTokens: 20,
        sampling: [{}, { doSample: true, temperature: 2, seed: 3 }],
      }),
    );
    expect(results[0]!.ids).toEqual(new Array(20).fill(6));
    expect(results[1]!.ids).not.toEqual(results[0]!.ids);
    await expect(collect(generate(new BigramStep([[6], [6]]), { ...base, maxNewTokens: 2, sampling: [{}] }))).rejects.toThrow(InvalidArgumentError);
  });

  it('stops between steps on abort and reports it for every unfinished row', async () => {
    const controller = new AbortController();
    const step = new BigramStep([[1], [6], [8]]);
    const all: GenerationEvent<ToyDiagnostics>[] = [];
    for await (const event of generate(step, { ...base, maxNewTokens: 50, signal: controller.signal })) {
      all.push(event);
      if (event.kind === 'token' && event.step === 1 && event.row === 2) controller.abort();
    }
    expect(step.decodeCalls).toHaveLength(1);
    expect(all.filter((e) => e.kind === 'abort')).toEqual([{ kind: 'abort', row: 1, step: 2, text: '', done: 'abort' }, { kind: 'abort', row: 2, step: 2, text: ' E', done: 'abort' }]);
    const results = await collect((async function* () { yield* all; })());
    expect(results.map((r) => r.finishReason)).toEqual(['eos', 'abort', 'abort']);
    expect(results[2]!.text).toBe('z E');
    expect(step.disposed).toBe(1);
  });

  it('discards a step that finished after the abort, and never starts when aborted before', async () => {
    const controller = new AbortController();
    const step = new BigramStep([[6], [6]]);
    step.onDecode = (input) => {
      if (input.ids.length > 0 && step.decodeCalls.length === 2) controller.abort();
    };
    const results = await collect(generate(step, { ...base, maxNewTokens: 50, signal: controller.signal }));
    expect(results.map((r) => [r.ids.length, r.finishReason])).toEqual([
      [2, 'abort'],
      [2, 'abort'],
    ]);

    const idle = new BigramStep([[6], [1]]);
    const before = await events(generate(idle, { ...base, maxNewTokens: 5, signal: AbortSignal.abort() }));
    expect(before.map((e) => [e.kind, e.row])).toEqual([
      ['abort', 0],
      ['abort', 1],
    ]);
    expect(idle.prefillCalls).toBe(0);
    expect(idle.disposed).toBe(1);
  });

  it('disposes the step when the consumer stops early', async () => {
    const step = new BigramStep([[6]]);
    for await (const event of generate(step, { ...base, maxNewTokens: 100 })) if (event.step === 3) break;
    expect(step.decodeCalls).toHaveLength(3);
    expect(step.disposed).toBe(1);
  });

  it('rejects a step that returns logits for the wrong rows, and bad options', async () => {
    const broken: DecoderStep = { batchSize: 2, prefill: async () => ({ logits: [new Float32Array(3)] }), decode: async () => ({ logits: [] }) };
    await expect(collect(generate(broken, { ...base, maxNewTokens: 3 }))).rejects.toThrow(GenerationError);
    await expect(collect(generate(broken, { ...base, maxNewTokens: 3 }))).rejects.toThrow('decoder prefill returned logits for 1 rows, expected 2');
    const unused = new BigramStep([[1]]);
    await expect(collect(generate(unused, { ...base, maxNewTokens: 0 }))).rejects.toThrow(/maxNewTokens/);
    expect(unused.disposed).toBe(1);
    await expect(collect(generate(new BigramStep([[1]]), { ...base, maxNewTokens: 2, stopStrings: [''] }))).rejects.toThrow(InvalidArgumentError);
  });
});

describe('generate with a real tokenizer', () => {
  /** A step that "predicts" a fixed script of ids: one-hot logits over the whole Qwen vocabulary. */
  function scriptedStep(script: number[], vocabSize: number): DecoderStep {
    let position = 0;
    const next = (): StepOutput => {
      const logits = new Float32Array(vocabSize).fill(-5);
      logits[script[position++] ?? 0] = 10;
      return { logits: [logits] };
    };
    return { batchSize: 1, prefill: async () => next(), decode: async () => next() };
  }

  it('streams split emoji and CJK whole and stops on a stop string spanning tokens', async () => {
    const tokenizer = await qwenTokenizer();
    const script = tokenizer.encode('Sure: 🫠 鱻龘 done.\nUSER: more', { addSpecialTokens: false });
    const all = await events(generate(scriptedStep(script, tokenizer.vocabSize), { tokenizer, maxNewTokens: 64, eosTokenIds: [tokenizer.eosTokenId!], stopStrings: ['\nUSER:'] }));
    for (const event of all) expect(event.text).not.toContain('\uFFFD');
    expect(all.map((e) => e.text).join('')).toBe('Sure: 🫠 鱻龘 done.');
    expect(all.at(-1)!.done).toBe('stop');
    expect(all.length).toBeLessThan(script.length);
  });

  it('ends on the EOS id without showing it', async () => {
    const tokenizer = await qwenTokenizer();
    const script = [...tokenizer.encode('Hi there', { addSpecialTokens: false }), tokenizer.eosTokenId!];
    const [result] = await collect(generate(scriptedStep(script, tokenizer.vocabSize), { tokenizer, maxNewTokens: 64, eosTokenIds: [tokenizer.eosTokenId!] }));
    expect(result).toMatchObject({ ids: script, text: 'Hi there', finishReason: 'eos' });
  });
});
