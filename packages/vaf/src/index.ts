export { VAF_DEFAULTS, VafConfigError, vafLayers, vafScaleRows, vafSettings, validateVafSettings } from './vaf-settings.js';
export type { VafSettings } from './vaf-settings.js';
export { vafKeyRoles, vafScores } from './vaf-scores.js';
export { emitVafScores, emitVafShared } from './vaf-scores-graph.js';
export type { VafShared } from './vaf-scores-graph.js';
export { VAF_IO, vafIntervention, vafMethod } from './vaf-intervention.js';
