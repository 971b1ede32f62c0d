import { InvalidArgumentError } from './errors.js';

/** A scalar for every batch row, or one value per row. */
export type RowParam = number | ArrayLike<number>;

/** The value of a RowParam for batch row `b`; checks length against `batch`. */
export function rowParamValue(name: string, param: RowParam, b: number, batch: number): number {
  if (typeof param === 'number') return param;
  if (param.length !== batch) {
    throw new InvalidArgumentError(`${name}: expected one value per batch row (${batch}), got ${param.length}`, {
      name,
      batch,
      length: param.length,
    });
  }
  return param[b] as number;
}
