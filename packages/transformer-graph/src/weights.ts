import type { Checkpoint } from '@vasink/safetensors';
import { readDataType } from '@vasink/safetensors';
import { type DataType, type TypedTensor, VasinkError, fromFloat32, sameDims, toFloat32 } from '@vasink/tensor';
import { type DecoderConfig, decoderWeightShapes } from './decoder-config.js';

/** Where weights come from: a checkpoint, or memory in tests. Names are the source's own. */
export interface WeightSource {
  /** dtype (a vasink dtype, or the stored name when it has none) and shape of a tensor; undefined when absent. */
  describe(name: string): Promise<{ dtype: DataType | string; shape: readonly number[] } | undefined>;
  read(name: string): Promise<TypedTensor>;
}

/** Maps a canonical decoder weight name (`layers.0.mlp.up_proj.weight`) to the source's name. */
export type WeightNaming = (canonical: string) => string;

/** Raised when weights are missing or mis-shaped; lists every problem at once. */
export class WeightMismatchError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'WEIGHT_MISMATCH', details, exposure: 'input' });
  }
}

/** A WeightSource over tensors in memory. */
export function memoryWeightSource(tensors: ReadonlyMap<string, TypedTensor> | Record<string, TypedTensor>): WeightSource {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  return {
    async describe(name) {
      const t = map.get(name);
      return t && { dtype: t.dtype, shape: t.dims };
    },
    async read(name) {
      const t = map.get(name);
      if (!t) throw new WeightMismatchError(`weight ${name} is missing`, { name });
      return t;
    },
  };
}

/** A WeightSource over a safetensors checkpoint (`openCheckpoint` of @vasink/safetensors). */
export function checkpointWeightSource(checkpoint: Checkpoint): WeightSource {
  return {
    async describe(name) {
      if (!checkpoint.has(name)) return undefined;
      const info = await checkpoint.info(name);
      return { dtype: readDataType(info.dtype) ?? info.dtype, shape: info.shape };
    },
    read: (name) => checkpoint.read(name),
  };
}

/**
 * Check that every tensor in `shapes` (canonical name → dims) exists where
 * `locate` says, with that shape and a floating dtype — before any graph is
 * built or session started. Throws WeightMismatchError listing all problems,
 * the message starting with `what` (e.g. "vision weights").
 */
export async function assertWeights(options: {
  shapes: ReadonlyMap<string, readonly number[]>;
  locate: (canonical: string) => { source: WeightSource; name: string };
  what: string;
}): Promise<void> {
  const problems: string[] = [];
  for (const [canonical, shape] of options.shapes) {
    const { source, name } = options.locate(canonical);
    const found = await source.describe(name);
    if (!found) problems.push(`missing tensor ${name}`);
    else if (!sameDims(found.shape, shape)) problems.push(`${name} has shape [${found.shape.join(', ')}], config expects [${shape.join(', ')}]`);
    else if (found.dtype !== 'float32' && found.dtype !== 'float16' && found.dtype !== 'bfloat16') {
      problems.push(`${name} is ${found.dtype}, expected a floating dtype`);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new WeightMismatchError(`${options.what} do not match the config: ${shown}${more}`, { problems });
  }
}

/** {@link assertWeights} for the decoder's tensors (canonical names through `naming`). */
export async function assertDecoderWeights(config: DecoderConfig, source: WeightSource, naming: WeightNaming = (n) => n): Promise<void> {
  await assertWeights({ shapes: decoderWeightShapes(config), locate: (canonical) => ({ source, name: naming(canonical) }), what: 'weights' });
}

/** Read a weight and convert it to the graph's float dtype. */
export async function readWeight(source: WeightSource, name: string, dtype: 'float32' | 'float16'): Promise<TypedTensor> {
  const tensor = await source.read(name);
  if (tensor.dtype === dtype) return tensor;
  const wide = toFloat32(tensor);
  return dtype === 'float32' ? wide : fromFloat32(wide, 'float16');
}
