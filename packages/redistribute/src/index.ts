export { redistributeAttention } from './redistribute-attention.js';
export type { RedistributeOptions, Redistribution } from './redistribute-attention.js';
