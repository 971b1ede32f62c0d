export { SINK_SCORE_EPSILON, assertSinkDims, detectSinks, sinkFlags, sinkScore } from './sink-score.js';
export {
  SINK_DIM_PROFILES,
  UnknownSinkDimsError,
  resolveSinkDims,
  sinkDimProfile,
  sinkDimProfileForConfig,
} from './sink-dim-profiles.js';
export type { SinkDimProfile } from './sink-dim-profiles.js';
export { findSinkDims } from './sink-dim-finder.js';
export type { SinkDimEvidence, SinkDimProposal } from './sink-dim-finder.js';
export { emitSinkFlags, emitSinkScore } from './sink-score-graph.js';
