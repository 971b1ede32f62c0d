import { InvalidArgumentError } from '@vasink/tensor';
import { type RgbColour, type RgbImage, assertRgbColour, assertRgbImage, createRgbImage } from './rgb-image.js';
import { type TokenGrid, assertTokenGrid, cellSpan } from './token-grid.js';

/**
 * Outline the grid cells of the given tokens (e.g. visual sink tokens) in
 * `colour`. `tokenIndices` are row-major cell indices in `[0, rows × cols)`.
 * The outline is drawn inside each cell, about 1/12 of the cell wide (at
 * least 1 pixel). Returns a new image.
 */
export function markTokens(
  image: RgbImage,
  tokenIndices: Iterable<number>,
  grid: TokenGrid,
  colour: RgbColour = [255, 0, 0],
): RgbImage {
  assertRgbImage('image', image);
  assertTokenGrid(grid);
  assertRgbColour('colour', colour);
  const { width, height } = image;
  const out = createRgbImage(width, height, image.data.slice());
  const cells = grid.rows * grid.cols;
  const thickness = Math.max(1, Math.round(Math.min(width / grid.cols, height / grid.rows) / 12));
  for (const index of tokenIndices) {
    if (!Number.isInteger(index) || index < 0 || index >= cells) {
      throw new InvalidArgumentError(`token index ${index} is outside the ${grid.rows}x${grid.cols} grid`, {
        index,
        rows: grid.rows,
        cols: grid.cols,
      });
    }
    const [x0, x1] = cellSpan(index % grid.cols, grid.cols, width);
    const [y0, y1] = cellSpan(Math.floor(index / grid.cols), grid.rows, height);
    for (let y = y0; y < y1; y++) {
      const edgeRow = y < y0 + thickness || y >= y1 - thickness;
      for (let x = x0; x < x1; x++) {
        if (!edgeRow && x >= x0 + thickness && x < x1 - thickness) continue;
        const p = (y * width + x) * 3;
        out.data[p] = colour[0];
        out.data[p + 1] = colour[1];
        out.data[p + 2] = colour[2];
      }
    }
  }
  return out;
}
