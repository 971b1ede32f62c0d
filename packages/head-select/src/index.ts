export { IMAGE_ATTENTION_EPSILON, imageCentricRows } from './image-centric-rows.js';
export type { ImageCentricRows, ImageCentricRowsOptions } from './image-centric-rows.js';
export { emitImageCentricRows, emitImageCentricRowsFromSums } from './image-centric-rows-graph.js';
export type { ImageCentricRowsGraph } from './image-centric-rows-graph.js';
