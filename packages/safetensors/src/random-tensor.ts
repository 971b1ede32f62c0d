import { type FloatDataType, InvalidArgumentError, float32ToBfloat16Bits, float32ToFloat16Bits, seededNormal } from '@vasink/tensor';
import type { GeneratedTensor, TensorBlock } from './generated-checkpoint.js';

/** What a random tensor holds: N(mean, std²) draws or a constant, then the planted rows, columns and entries. */
export interface RandomTensorOptions {
  /** Stream seed; the tensor's name selects an independent stream, so values do not depend on other tensors. */
  seed: number;
  /** Standard deviation of the draws; 0 with `mean` gives a constant (norm weights: `{ std: 0, mean: 1 }`). */
  std: number;
  mean?: number;
  /** Rows (indices along the outermost dim; elements of a vector) set to 0. */
  zeroRows?: readonly number[];
  /** Columns (indices within a row, i.e. over the inner dims flattened) set to 0 in every row. */
  zeroColumns?: readonly number[];
  /** Single entries `[row, column, value]`, written last (a vector's element i is `[i, 0]`). */
  entries?: readonly (readonly [number, number, number])[];
}

/**
 * A generated tensor of seeded normal draws (see `seededNormal`) with planted
 * structure — rows and columns zeroed, chosen entries set — produced block by
 * block for `writeGeneratedCheckpoint`. Float32, float16 or bfloat16.
 */
export function randomTensor(spec: { name: string; dtype: FloatDataType; shape: readonly number[] }, options: RandomTensorOptions): GeneratedTensor {
  const { name, dtype, shape } = spec;
  const rowCount = shape.length === 0 ? 1 : (shape[0] as number);
  const rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
  const zeroRows = [...new Set(options.zeroRows ?? [])].sort((a, b) => a - b);
  const zeroColumns = [...new Set(options.zeroColumns ?? [])];
  const entries = [...(options.entries ?? [])].sort((a, b) => a[0] - b[0]);
  for (const row of zeroRows) checkIndex(name, 'row', row, rowCount);
  for (const column of zeroColumns) checkIndex(name, 'column', column, rowLength);
  for (const [row, column, value] of entries) {
    checkIndex(name, 'row', row, rowCount);
    checkIndex(name, 'column', column, rowLength);
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`${name}: entry [${row}, ${column}] must be finite, got ${value}`, { name, row, column });
  }
  const encode = dtype === 'float32' ? (v: number) => v : dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
  const normal = seededNormal(options.seed, name);
  const mean = options.mean ?? 0;
  return {
    name,
    dtype,
    shape,
    fill(block: TensorBlock) {
      const { rowStart, rows } = block;
      // The spec's dtype is a float type, so the block is a Float32Array or a Uint16Array of half bits.
      const data = block.data as Float32Array | Uint16Array;
      if (options.std === 0) data.fill(encode(mean));
      else normal.fill(data, { dtype, std: options.std, mean });
      const rowEnd = rowStart + rows;
      for (const row of zeroRows) if (row >= rowStart && row < rowEnd) data.fill(0, (row - rowStart) * rowLength, (row - rowStart + 1) * rowLength);
      if (zeroColumns.length > 0) {
        for (let r = 0; r < rows; r++) for (const column of zeroColumns) data[r * rowLength + column] = 0;
      }
      for (const [row, column, value] of entries) if (row >= rowStart && row < rowEnd) data[(row - rowStart) * rowLength + column] = encode(value);
    },
  };
}

function checkIndex(name: string, what: 'row' | 'column', index: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new InvalidArgumentError(`${name}: ${what} ${index} is outside [0, ${count})`, { name, [what]: index });
  }
}
