import { InvalidArgumentError } from '@vasink/tensor';

/**
 * A grid of image tokens laid over a picture: token `i` covers row
 * `floor(i / cols)`, column `i % cols` (row-major, as the vision tower emits them).
 */
export interface TokenGrid {
  readonly rows: number;
  readonly cols: number;
}

/** Check a grid's rows and cols are positive integers. */
export function assertTokenGrid(grid: TokenGrid): void {
  if (!Number.isInteger(grid.rows) || !Number.isInteger(grid.cols) || grid.rows < 1 || grid.cols < 1) {
    throw new InvalidArgumentError(`grid rows and cols must be positive integers, got ${grid.rows}x${grid.cols}`, {
      rows: grid.rows,
      cols: grid.cols,
    });
  }
}

/** Pixel span `[start, end)` of cell `index` of `cells` equal cells along `length` pixels. */
export function cellSpan(index: number, cells: number, length: number): [number, number] {
  return [Math.floor((index * length) / cells), Math.floor(((index + 1) * length) / cells)];
}
