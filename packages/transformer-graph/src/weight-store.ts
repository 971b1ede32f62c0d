import type { ExternalDataFile, ExternalDataRef, GraphBuilder, Value } from '@vasink/onnx-graph';
import { type TypedTensor, concatTensors, createTensor, float32ArrayToFloat16, toFloat32 } from '@vasink/tensor';
import { type QuantScheme, type QuantizedMatrix, assertQuantScheme, canQuantize, quantBlocks, quantizeBlockwise } from './quantize.js';
import { type WeightNaming, type WeightSource, readWeight } from './weights.js';

/** Quantization of a WeightStore's linear layers: the scheme plus MatMulNBits' `accuracy_level`. */
export interface WeightQuantOptions extends QuantScheme {
  /** 4: the CPU kernel quantizes activations to int8 per block (fast); 0: computes in the activation dtype. */
  readonly accuracyLevel: 0 | 1 | 2 | 3 | 4;
}

/** A linear layer's weight `[out, in]` as a graph holds it. */
export type LinearWeight =
  | { readonly kind: 'float'; readonly weight: Value }
  | {
      readonly kind: 'quantized';
      /** `[out, blocks, blockSize · bits / 8]` uint8. */
      readonly codes: Value;
      /** `[out, blocks]` in the store's dtype. */
      readonly scales: Value;
      readonly rows: number;
      readonly cols: number;
      readonly bits: 4 | 8;
      readonly blockSize: number;
      readonly accuracyLevel: number;
    };

/** Where one quantized tensor lives: inline data (tests) or external references shared by every graph. */
type StoredQuantized = { matrix?: QuantizedMatrix; codes?: ExternalDataRef; scales?: ExternalDataRef; rows: number; cols: number };

/**
 * Puts checkpoint weights into graphs, one tensor at a time: inline (small
 * test models) or appended to a shared external data file (real checkpoints),
 * converted to the graph's float dtype. A weight used by several graphs (tied
 * embeddings) is written once and referenced by each. With `quant`, linear
 * weights whose input size is a multiple of the block are stored block-wise
 * quantized ({@link loadLinear}, {@link loadEmbedding}); the codes of a tied
 * embedding serve both the lookup and the LM head.
 */
export class WeightStore {
  private readonly refs = new Map<string, ExternalDataRef>();
  private readonly quantized = new Map<string, StoredQuantized>();
  /** Checkpoint tensors behind each canonical name loaded (several for row-stacked weights). */
  private readonly partsOf = new Map<string, readonly string[]>();
  private readonly keptFloat = new Set<string>();

  constructor(
    private readonly options: {
      source: WeightSource;
      naming?: WeightNaming;
      dtype: 'float32' | 'float16';
      externalData?: ExternalDataFile;
      quant?: WeightQuantOptions;
    },
  ) {
    if (options.quant) assertQuantScheme(options.quant);
  }

  get dtype(): 'float32' | 'float16' {
    return this.options.dtype;
  }

  get quant(): WeightQuantOptions | undefined {
    return this.options.quant;
  }

  /** Canonical names of the checkpoint tensors stored quantized so far (the parts of a row-stacked weight each). */
  get quantizedNames(): readonly string[] {
    return [...this.quantized.keys()].flatMap((name) => this.partsOf.get(name) ?? [name]);
  }

  /** Canonical names of linear weights kept float although quantization was asked (input size not a multiple of the block). */
  get floatLinearNames(): readonly string[] {
    return [...this.keptFloat].flatMap((name) => this.partsOf.get(name) ?? [name]);
  }

  /** Dims of `canonical`, or of its parts stacked along the first axis. */
  private async dimsOf(canonical: string, rowsOf?: readonly string[]): Promise<readonly number[] | undefined> {
    if (!rowsOf) return (await this.options.source.describe(this.sourceName(canonical)))?.shape;
    const parts = await Promise.all(rowsOf.map(async (part) => (await this.options.source.describe(this.sourceName(part)))?.shape));
    if (parts.some((shape) => !shape)) return undefined;
    const shapes = parts as (readonly number[])[];
    return [shapes.reduce((sum, shape) => sum + (shape[0] as number), 0), ...(shapes[0] as readonly number[]).slice(1)];
  }

  /** `canonical` in `dtype`, or its parts' rows stacked in order (one fused projection from several checkpoint tensors). */
  private async read(canonical: string, dtype: 'float32' | 'float16', rowsOf?: readonly string[]): Promise<TypedTensor> {
    if (!rowsOf) return readWeight(this.options.source, this.sourceName(canonical), dtype);
    this.partsOf.set(canonical, rowsOf);
    return concatTensors(await Promise.all(rowsOf.map((part) => readWeight(this.options.source, this.sourceName(part), dtype))), 0);
  }

  private sourceName(canonical: string): string {
    return (this.options.naming ?? ((n: string) => n))(canonical);
  }

  /**
   * Add the weight `canonical` to `g` as an initializer named `canonical`;
   * returns its value. `rowsOf`: the weight is these checkpoint tensors'
   * rows stacked in order (e.g. q, k and v projections as one `qkv_proj`).
   */
  async load(g: GraphBuilder, canonical: string, options: { dtype?: 'float32' | 'float16'; rowsOf?: readonly string[] } = {}): Promise<Value> {
    const dtype = options.dtype ?? this.options.dtype;
    const key = `${options.rowsOf ? canonical : this.sourceName(canonical)}:${dtype}`;
    const data = this.options.externalData;
    if (data) {
      let ref = this.refs.get(key);
      if (!ref) {
        ref = data.append(await this.read(canonical, dtype, options.rowsOf));
        this.refs.set(key, ref);
      }
      return g.externalInitializer(canonical, dtype, [...((await this.dimsOf(canonical, options.rowsOf)) ?? [])], ref);
    }
    return g.initializer(canonical, await this.read(canonical, dtype, options.rowsOf));
  }

  /**
   * A linear layer's weight `[out, in]`: quantized when the store quantizes
   * and `in` is a multiple of the block, else float (see {@link emitLinear}).
   * `quantize: false` keeps this one float.
   */
  async loadLinear(g: GraphBuilder, canonical: string, options: { quantize?: boolean; rowsOf?: readonly string[] } = {}): Promise<LinearWeight> {
    const quant = this.options.quant;
    const floatOptions = options.rowsOf ? { rowsOf: options.rowsOf } : {};
    if (!quant || options.quantize === false) return { kind: 'float', weight: await this.load(g, canonical, floatOptions) };
    const dims = await this.dimsOf(canonical, options.rowsOf);
    if (!dims || !canQuantize(dims, quant.blockSize)) {
      this.keptFloat.add(canonical);
      if (options.rowsOf) this.partsOf.set(canonical, options.rowsOf);
      return { kind: 'float', weight: await this.load(g, canonical, floatOptions) };
    }
    const stored = await this.storeQuantized(canonical, quant, options.rowsOf);
    const blocks = quantBlocks(stored.cols, quant.blockSize);
    const blockBytes = (quant.blockSize * quant.bits) / 8;
    const codes = this.quantizedInitializer(g, `${canonical}.q${quant.bits}`, stored, 'codes', [stored.rows, blocks, blockBytes]);
    const scales = this.quantizedInitializer(g, `${canonical}.scales`, stored, 'scales', [stored.rows, blocks]);
    return { kind: 'quantized', codes, scales, rows: stored.rows, cols: stored.cols, bits: quant.bits, blockSize: quant.blockSize, accuracyLevel: quant.accuracyLevel };
  }

  /**
   * An embedding table `[vocab, hidden]` for a lookup: float, or (quantizing
   * store) the same codes and scales as {@link loadLinear} of that name, shaped
   * `[vocab, hidden · bits / 8]` for `GatherBlockQuantized`.
   */
  async loadEmbedding(g: GraphBuilder, canonical: string): Promise<LinearWeight> {
    const quant = this.options.quant;
    const info = quant ? await this.options.source.describe(this.sourceName(canonical)) : undefined;
    if (!quant || !info || !canQuantize(info.shape, quant.blockSize)) {
      if (quant) this.keptFloat.add(canonical);
      return { kind: 'float', weight: await this.load(g, canonical) };
    }
    const stored = await this.storeQuantized(canonical, quant);
    // Same bytes as the linear layout, other shape: named apart so one graph may hold both views.
    const codes = this.quantizedInitializer(g, `${canonical}.lookup.q${quant.bits}`, stored, 'codes', [stored.rows, (stored.cols * quant.bits) / 8]);
    const scales = this.quantizedInitializer(g, `${canonical}.lookup.scales`, stored, 'scales', [stored.rows, quantBlocks(stored.cols, quant.blockSize)]);
    return { kind: 'quantized', codes, scales, rows: stored.rows, cols: stored.cols, bits: quant.bits, blockSize: quant.blockSize, accuracyLevel: quant.accuracyLevel };
  }

  private async storeQuantized(canonical: string, quant: QuantScheme, rowsOf?: readonly string[]): Promise<StoredQuantized> {
    const existing = this.quantized.get(canonical);
    if (existing) return existing;
    // Blocks run along each row: quantizing stacked rows equals quantizing each part.
    const tensor = toFloat32(await this.read(canonical, 'float32', rowsOf));
    const [rows, cols] = tensor.dims as [number, number];
    const matrix = quantizeBlockwise(tensor.data, [rows, cols], { ...quant, scaleDtype: this.options.dtype });
    const data = this.options.externalData;
    const stored: StoredQuantized = data
      ? {
          rows,
          cols,
          codes: data.append(createTensor('uint8', [matrix.codes.length], matrix.codes)),
          scales: data.append(scaleTensor(matrix, this.options.dtype)),
        }
      : { rows, cols, matrix };
    this.quantized.set(canonical, stored);
    return stored;
  }

  private quantizedInitializer(g: GraphBuilder, name: string, stored: StoredQuantized, part: 'codes' | 'scales', dims: number[]): Value {
    const dtype = part === 'codes' ? 'uint8' : this.options.dtype;
    const ref = stored[part];
    if (ref) return g.externalInitializer(name, dtype, dims, ref);
    const matrix = stored.matrix as QuantizedMatrix;
    return g.initializer(name, part === 'codes' ? createTensor('uint8', dims, matrix.codes) : scaleTensor(matrix, this.options.dtype, dims));
  }
}

/** Scales in the store's dtype (already float16-exact for float16 stores: narrowing is lossless). */
function scaleTensor(matrix: QuantizedMatrix, dtype: 'float32' | 'float16', dims: readonly number[] = [matrix.scales.length]) {
  return dtype === 'float32' ? createTensor('float32', dims, matrix.scales) : createTensor('float16', dims, float32ArrayToFloat16(matrix.scales));
}
