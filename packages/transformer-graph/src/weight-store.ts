import type { ExternalDataFile, GraphBuilder, Value } from '@vasink/onnx-graph';
import { type WeightNaming, type WeightSource, readWeight } from './weights.js';
import type { ExternalDataRef } from '@vasink/onnx-graph';

/**
 * Puts checkpoint weights into graphs, one tensor at a time: inline (small
 * test models) or appended to a shared external data file (real checkpoints),
 * converted to the graph's float dtype. A weight used by several graphs (tied
 * embeddings) is written once and referenced by each.
 */
export class WeightStore {
  private readonly refs = new Map<string, ExternalDataRef>();

  constructor(
    private readonly options: {
      source: WeightSource;
      naming?: WeightNaming;
      dtype: 'float32' | 'float16';
      externalData?: ExternalDataFile;
    },
  ) {}

  get dtype(): 'float32' | 'float16' {
    return this.options.dtype;
  }

  /** Add the weight `canonical` to `g` as an initializer named `canonical`; returns its value. */
  async load(g: GraphBuilder, canonical: string, options: { dtype?: 'float32' | 'float16' } = {}): Promise<Value> {
    const dtype = options.dtype ?? this.options.dtype;
    const name = (this.options.naming ?? ((n: string) => n))(canonical);
    const key = `${name}:${dtype}`;
    const data = this.options.externalData;
    if (data) {
      let ref = this.refs.get(key);
      const tensor = ref ? undefined : await readWeight(this.options.source, name, dtype);
      if (!ref && tensor) {
        ref = data.append(tensor);
        this.refs.set(key, ref);
      }
      const info = await this.options.source.describe(name);
      return g.externalInitializer(canonical, dtype, [...(info?.shape ?? [])], ref as ExternalDataRef);
    }
    return g.initializer(canonical, await readWeight(this.options.source, name, dtype));
  }
}
