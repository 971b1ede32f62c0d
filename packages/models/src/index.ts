export { MODEL_FAMILIES, UnsupportedArchitectureError, describeFamilies, familyOfConfig, findFamily } from './registry.js';
