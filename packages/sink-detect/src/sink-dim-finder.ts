import { type Float32Tensor, InvalidArgumentError, assertDType } from '@vasink/tensor';
import { SINK_SCORE_EPSILON } from './sink-score.js';

/** Evidence for one hidden dimension. */
export interface SinkDimEvidence {
  readonly dim: number;
  /** Smallest |x_d|/RMS of the probed token over all inputs and layers ≥ startLayer. */
  readonly minScore: number;
  /** Mean of the same over inputs and layers. */
  readonly meanScore: number;
  /** Mean over inputs, per layer (index = layer; layers before startLayer are NaN). */
  readonly scoreByLayer: readonly number[];
}

/** What the finder proposes, with its evidence. */
export interface SinkDimProposal {
  /** Proposed D_sink, strongest first. */
  readonly sinkDims: readonly number[];
  /** Evidence for the strongest `topK` dims, strongest first (proposed ones included). */
  readonly evidence: readonly SinkDimEvidence[];
  readonly threshold: number;
  readonly inputs: number;
  readonly layers: readonly number[];
}

/**
 * Propose sink dimensions from hidden states: dims where the probed token
 * (the first, BOS, by default) has a massive |x_d|/RMS, consistently across
 * layers ≥ startLayer and across inputs — the minimum over all of them must
 * exceed `threshold` (default min(20, sqrt(D)/4)).
 *
 * @param hiddenStates per input, per layer, the layer's input hidden state
 *   `[1, tokens, dim]` or `[tokens, dim]`
 */
export function findSinkDims(options: {
  hiddenStates: readonly (readonly Float32Tensor[])[];
  startLayer?: number;
  threshold?: number;
  token?: number;
  maxDims?: number;
  topK?: number;
}): SinkDimProposal {
  const { hiddenStates, startLayer = 2, token = 0, maxDims = 8, topK = 16 } = options;
  if (hiddenStates.length === 0) throw new InvalidArgumentError('findSinkDims needs hidden states of at least one input');
  const numLayers = hiddenStates[0]?.length ?? 0;
  if (numLayers <= startLayer) {
    throw new InvalidArgumentError(`findSinkDims needs layers beyond startLayer ${startLayer}, got ${numLayers}`, {
      numLayers,
      startLayer,
    });
  }
  const first = hiddenStates[0]?.[0];
  const dim = first?.dims[first.dims.length - 1] ?? 0;
  // k massive dims cap |x_d|/RMS near sqrt(D/k): τ = 20 needs D > 400 per dim, so small models need a lower bar.
  const threshold = options.threshold ?? Math.min(20, Math.sqrt(dim) / 4);
  const minScore = new Float64Array(dim).fill(Infinity);
  const sumScore = new Float64Array(dim);
  const sumByLayer = Array.from({ length: numLayers }, () => new Float64Array(dim));
  const layers: number[] = [];
  for (let l = startLayer; l < numLayers; l++) layers.push(l);

  for (const [input, perLayer] of hiddenStates.entries()) {
    if (perLayer.length !== numLayers) {
      throw new InvalidArgumentError(`input ${input} has ${perLayer.length} layers, input 0 has ${numLayers}`);
    }
    for (const l of layers) {
      const hidden = perLayer[l] as Float32Tensor;
      assertDType(`hiddenStates[${input}][${l}]`, hidden, 'float32');
      const dims = hidden.dims;
      const tokens = dims.length === 3 ? (dims[1] as number) : (dims[0] as number);
      if ((dims.length !== 2 && !(dims.length === 3 && dims[0] === 1)) || dims[dims.length - 1] !== dim) {
        throw new InvalidArgumentError(
          `hiddenStates[${input}][${l}]: expected [1, tokens, ${dim}] or [tokens, ${dim}], got [${dims.join(', ')}]`,
        );
      }
      if (token >= tokens) throw new InvalidArgumentError(`probed token ${token} beyond ${tokens} tokens of input ${input}`);
      const base = token * dim;
      let sumSquares = 0;
      for (let d = 0; d < dim; d++) sumSquares += (hidden.data[base + d] as number) ** 2;
      const rms = Math.sqrt(sumSquares / dim + SINK_SCORE_EPSILON);
      const byLayer = sumByLayer[l] as Float64Array;
      for (let d = 0; d < dim; d++) {
        const score = Math.abs(hidden.data[base + d] as number) / rms;
        if (score < (minScore[d] as number)) minScore[d] = score;
        sumScore[d] = (sumScore[d] as number) + score;
        byLayer[d] = (byLayer[d] as number) + score;
      }
    }
  }

  const samples = hiddenStates.length * layers.length;
  const ranked = Array.from({ length: dim }, (_, d) => d).sort((a, b) => (minScore[b] as number) - (minScore[a] as number));
  const evidence: SinkDimEvidence[] = ranked.slice(0, topK).map((d) => ({
    dim: d,
    minScore: minScore[d] as number,
    meanScore: (sumScore[d] as number) / samples,
    scoreByLayer: sumByLayer.map((byLayer, l) => (l < startLayer ? Number.NaN : (byLayer[d] as number) / hiddenStates.length)),
  }));
  const sinkDims = ranked.filter((d) => (minScore[d] as number) > threshold).slice(0, maxDims);
  return { sinkDims, evidence, threshold, inputs: hiddenStates.length, layers };
}
