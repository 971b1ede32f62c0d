export { PAI_DEFAULTS, PaiConfigError, paiAlphaRows, paiSettings, validatePaiSettings } from './pai-settings.js';
export type { PaiSettings } from './pai-settings.js';
export { paiScores } from './pai-scores.js';
export { emitPaiScores, emitPaiShared } from './pai-scores-graph.js';
export type { PaiShared } from './pai-scores-graph.js';
export { PAI_IO, paiContrast, paiIntervention, paiMethod } from './pai-intervention.js';
