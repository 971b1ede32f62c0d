export {
  DEFAULT_VAR_PRESET,
  VAR_PRESETS,
  VarConfigError,
  fromOfficialCodeConvention,
  isVarPresetName,
  resolveVarConfig,
  toOfficialCodeConvention,
  validateVarConfig,
  varLayerMask,
  varParamsRow,
} from './var-config.js';
export type { VarConfig, VarConvention, VarLayerSpec, VarOptions, VarPresetName } from './var-config.js';
export { eligibleQueries } from './eligible-queries.js';
export { varLayerStep } from './var-layer-step.js';
export type { VarLayerStep, VarLayerStepOptions } from './var-layer-step.js';
export { emitVarLayer, emitVarShared } from './var-layer-step-graph.js';
export type { VarGraphInputs, VarLayerGraph, VarShared } from './var-layer-step-graph.js';
export { VAR_IO, varIntervention, varMethod } from './var-intervention.js';
