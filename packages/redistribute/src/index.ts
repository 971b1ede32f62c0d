export { redistributeAttention } from './redistribute-attention.js';
export type { RedistributeOptions, Redistribution } from './redistribute-attention.js';
export { emitRedistribution, emitRedistributionFromSums } from './redistribute-attention-graph.js';
export type { RedistributionGraph } from './redistribute-attention-graph.js';
