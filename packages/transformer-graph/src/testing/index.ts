// Test fixtures for decoder graphs and attention interventions: a tiny planted decoder and a graph-vs-reference runner.
export { SINK_DIM, tinyConfig, tinyPrompt, tinyWeights } from './tiny-decoder.js';
export type { TinyPrompt } from './tiny-decoder.js';
export { runDecoderSideBySide } from './side-by-side.js';
export type { SideBySideOptions, SideBySideStep } from './side-by-side.js';
export { attentionProbe, probeImageMass } from './attention-probe.js';
