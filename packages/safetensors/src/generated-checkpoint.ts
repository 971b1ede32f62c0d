import { type DataType, type DataTypeMap, InvalidArgumentError, bytesPerElement, typedArrayConstructor } from '@vasink/tensor';
import { type ShardedCheckpointLayout, type ShardedCheckpointOptions, createShardedCheckpointWriter } from './checkpoint-writer.js';
import type { TensorSpec } from './writer.js';

/** Rows of a generated tensor to fill: rows are indices along the outermost dim. */
export interface TensorBlock {
  /** First row of the block. */
  readonly rowStart: number;
  readonly rows: number;
  /** Elements per row: the product of the inner dims (1 for a vector or a scalar). */
  readonly rowLength: number;
  /**
   * `rows × rowLength` elements, row-major, in the tensor's dtype (float16 and
   * bfloat16 as bits). The buffer is reused: it holds stale values, so write
   * every element.
   */
  readonly data: DataTypeMap[DataType];
}

/** A tensor produced block by block while it is written, never held whole. */
export interface GeneratedTensor extends TensorSpec {
  /** Fill one block; called for consecutive blocks in row order. */
  fill(block: TensorBlock): void;
}

/** Where a streaming checkpoint write stands. */
export interface CheckpointWriteProgress {
  /** The tensor being written. */
  readonly tensor: string;
  /** Its shard file name. */
  readonly file: string;
  /** Tensors completely written so far. */
  readonly tensorsWritten: number;
  readonly tensorCount: number;
  /** Bytes of tensor data handed to the files so far. */
  readonly bytesWritten: number;
  /** Bytes of tensor data in the whole checkpoint (the index's `total_size`). */
  readonly totalBytes: number;
}

/** How to write a generated checkpoint: sharding as `createShardedCheckpointWriter`, plus block size and progress. */
export interface GeneratedCheckpointOptions extends ShardedCheckpointOptions {
  /** Bytes generated at once (default 16 MiB); a row larger than this is one block. Two such buffers are alive at a time. */
  blockBytes?: number;
  /** Called after each block is handed to the file and after each tensor is complete. */
  onProgress?: (progress: CheckpointWriteProgress) => void;
}

const DEFAULT_BLOCK_BYTES = 16 * 2 ** 20;

/**
 * Write a checkpoint in Hugging Face layout (shards + index, see
 * `createShardedCheckpointWriter`) whose tensors are generated while they are
 * written: each tensor is produced in blocks of rows into one of two reused
 * buffers, and writing a block overlaps generating the next, so memory stays
 * at two blocks whatever the checkpoint's size and a large write runs at disk
 * speed. Tensors are sharded and written in the order given.
 */
export async function writeGeneratedCheckpoint(
  dir: string,
  tensors: readonly GeneratedTensor[],
  options: GeneratedCheckpointOptions,
): Promise<ShardedCheckpointLayout> {
  const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (!Number.isSafeInteger(blockBytes) || blockBytes < 8) {
    throw new InvalidArgumentError(`blockBytes must be an integer ≥ 8, got ${String(blockBytes)}`, { blockBytes });
  }
  const specs = tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
  const writer = await createShardedCheckpointWriter(dir, specs, options);
  const buffers: ArrayBuffer[] = [];
  const bufferOf = (index: number, bytes: number): ArrayBuffer => {
    const slot = index % 2;
    const existing = buffers[slot];
    if (existing && existing.byteLength >= bytes) return existing;
    const fresh = new ArrayBuffer(Math.max(bytes, blockBytes));
    buffers[slot] = fresh;
    return fresh;
  };
  let bytesWritten = 0;
  let tensorsWritten = 0;
  const report = (tensor: string) =>
    options.onProgress?.({
      tensor,
      file: writer.weightMap[tensor] ?? '',
      tensorsWritten,
      tensorCount: tensors.length,
      bytesWritten,
      totalBytes: writer.totalSize,
    });
  try {
    for (const tensor of tensors) {
      const { name, dtype, shape } = tensor;
      const rowCount = shape.length === 0 ? 1 : (shape[0] as number);
      const rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
      const rowBytes = rowLength * bytesPerElement(dtype);
      const rowsPerBlock = rowBytes === 0 ? Math.max(rowCount, 1) : Math.max(1, Math.floor(blockBytes / rowBytes));
      const View = typedArrayConstructor(dtype);
      function* blocks(): Generator<Uint8Array> {
        let index = 0;
        for (let rowStart = 0; rowStart < rowCount; rowStart += rowsPerBlock, index++) {
          const rows = Math.min(rowsPerBlock, rowCount - rowStart);
          const bytes = rows * rowBytes;
          const buffer = bufferOf(index, bytes);
          tensor.fill({ rowStart, rows, rowLength, data: new View(buffer, 0, rows * rowLength) });
          yield new Uint8Array(buffer, 0, bytes);
          bytesWritten += bytes;
          report(name);
        }
      }
      await writer.writeChunks(name, blocks());
      tensorsWritten++;
      report(name);
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.close();
}
