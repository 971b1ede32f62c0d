import { toFloat32 } from '@vasink/tensor';
import type { WeightSource } from '@vasink/transformer-graph';
import { Float16RangeError } from './errors.js';

/** Largest finite float16. */
export const FLOAT16_MAX = 65504;

/**
 * Check that every named weight is finite and within ±65504, so that a
 * float16 conversion keeps it (bfloat16 checkpoints reach 3.4e38). Reads each
 * tensor once; throws Float16RangeError naming every tensor that does not fit,
 * with its largest magnitude. Activations are not checked: a model whose
 * weights fit can still overflow float16 at run time.
 */
export async function assertFloat16Range(
  source: WeightSource,
  names: Iterable<string>,
  onTensor?: (name: string) => void,
): Promise<void> {
  const problems: { name: string; largest: number }[] = [];
  for (const name of names) {
    onTensor?.(name);
    const data = toFloat32(await source.read(name)).data;
    let largest = 0;
    for (let i = 0; i < data.length; i++) {
      const magnitude = Math.abs(data[i] as number);
      // NaN fails every comparison: catch it explicitly.
      if (!(magnitude <= largest)) largest = Number.isNaN(magnitude) ? Number.NaN : magnitude;
      if (Number.isNaN(largest)) break;
    }
    if (!(largest <= FLOAT16_MAX)) problems.push({ name, largest });
  }
  if (problems.length > 0) {
    const shown = problems
      .slice(0, 5)
      .map((p) => `${p.name} (largest magnitude ${Number.isNaN(p.largest) ? 'NaN' : p.largest.toExponential(3)})`)
      .join(', ');
    const more = problems.length > 5 ? ` and ${problems.length - 5} more` : '';
    throw new Float16RangeError(
      `float16 cannot hold these weights: ${shown}${more}; float16 tops out at ${FLOAT16_MAX} — convert with dtype float32`,
      { tensors: problems.map((p) => p.name) },
    );
  }
}
