import { InvalidArgumentError, float16ArrayToFloat32, float32ArrayToFloat16 } from '@vasink/tensor';

/**
 * Block-wise symmetric weight quantization, in the layout of onnxruntime's
 * `com.microsoft.MatMulNBits` / `GatherBlockQuantized`: a weight matrix
 * `[rows, cols]` (PyTorch Linear `[out, in]`) is cut along `cols` into blocks
 * of `blockSize`; each block keeps one scale s and `bits`-bit codes
 * q ∈ [0, 2^bits), value = (q − z)·s with the default zero point z = 2^(bits−1).
 * s = m / −z with m the block's value of largest magnitude (as llama.cpp's
 * Q4_0), so m itself is exact and all 2^bits codes are used.
 */
export interface QuantScheme {
  readonly bits: 4 | 8;
  /** Weights per block along the input dimension: a power of two ≥ 16. */
  readonly blockSize: number;
}

/** A quantized `[rows, cols]` matrix. */
export interface QuantizedMatrix extends QuantScheme {
  readonly rows: number;
  readonly cols: number;
  /** `[rows, blocks, blockSize · bits / 8]` uint8; 4-bit codes low nibble first. */
  readonly codes: Uint8Array;
  /** `[rows, blocks]`, already rounded to `scaleDtype` (the dequantized values use exactly these). */
  readonly scales: Float32Array;
  readonly scaleDtype: 'float32' | 'float16';
}

/** Blocks per row: cols / blockSize (cols must be a multiple, so rows stay contiguous for GatherBlockQuantized). */
export function quantBlocks(cols: number, blockSize: number): number {
  return cols / blockSize;
}

/** Check a scheme: bits 4 or 8, block a power of two ≥ 16. */
export function assertQuantScheme(scheme: QuantScheme): void {
  if (scheme.bits !== 4 && scheme.bits !== 8) throw new InvalidArgumentError(`quantization bits must be 4 or 8, got ${String(scheme.bits)}`, { bits: scheme.bits });
  const b = scheme.blockSize;
  if (!Number.isInteger(b) || b < 16 || (b & (b - 1)) !== 0) {
    throw new InvalidArgumentError(`quantization block size must be a power of two ≥ 16, got ${String(b)}`, { blockSize: b });
  }
}

/** True when a `[rows, cols]` matrix can be quantized with `blockSize` (cols a multiple of it). */
export function canQuantize(dims: readonly number[], blockSize: number): boolean {
  return dims.length === 2 && (dims[1] as number) % blockSize === 0 && (dims[1] as number) > 0;
}

/** Quantize `values [rows, cols]` (row-major float32). */
export function quantizeBlockwise(
  values: Float32Array,
  dims: readonly [number, number],
  scheme: QuantScheme & { scaleDtype?: 'float32' | 'float16' },
): QuantizedMatrix {
  assertQuantScheme(scheme);
  const [rows, cols] = dims;
  const { bits, blockSize } = scheme;
  if (!canQuantize(dims, blockSize)) {
    throw new InvalidArgumentError(`cannot quantize a [${rows}, ${cols}] matrix in blocks of ${blockSize}: the input size must be a multiple of the block`, { dims, blockSize });
  }
  if (values.length !== rows * cols) throw new InvalidArgumentError(`expected ${rows * cols} values, got ${values.length}`, { dims });
  const scaleDtype = scheme.scaleDtype ?? 'float32';
  const blocks = quantBlocks(cols, blockSize);
  const zero = 1 << (bits - 1);
  const top = (1 << bits) - 1;
  const blockBytes = (blockSize * bits) / 8;
  const codes = new Uint8Array(rows * blocks * blockBytes);
  let scales: Float32Array = new Float32Array(rows * blocks);
  // Scales first (rounded to their storage type), then codes against the stored scale.
  for (let b = 0; b < rows * blocks; b++) {
    const start = b * blockSize;
    let extreme = 0;
    for (let i = 0; i < blockSize; i++) {
      const v = values[start + i] as number;
      if (Math.abs(v) > Math.abs(extreme)) extreme = v;
    }
    scales[b] = extreme === 0 ? 0 : extreme / -zero;
  }
  if (scaleDtype === 'float16') scales = float16ArrayToFloat32(float32ArrayToFloat16(scales));
  for (let b = 0; b < rows * blocks; b++) {
    const s = scales[b] as number;
    const inverse = s === 0 ? 0 : 1 / s;
    const start = b * blockSize;
    const out = b * blockBytes;
    for (let i = 0; i < blockSize; i++) {
      const q = Math.min(top, Math.max(0, Math.round((values[start + i] as number) * inverse) + zero));
      if (bits === 8) codes[out + i] = q;
      else codes[out + (i >> 1)] = (codes[out + (i >> 1)] as number) | (i & 1 ? q << 4 : q);
    }
  }
  return { bits, blockSize, rows, cols, codes, scales, scaleDtype };
}

/** The float32 values a quantized matrix stands for, `[rows, cols]` row-major. */
export function dequantizeBlockwise(matrix: QuantizedMatrix): Float32Array {
  const { rows, cols, bits, blockSize, codes, scales } = matrix;
  const blocks = quantBlocks(cols, blockSize);
  const zero = 1 << (bits - 1);
  const blockBytes = (blockSize * bits) / 8;
  const out = new Float32Array(rows * cols);
  for (let b = 0; b < rows * blocks; b++) {
    const s = scales[b] as number;
    for (let i = 0; i < blockSize; i++) {
      const byte = codes[b * blockBytes + (bits === 8 ? i : i >> 1)] as number;
      const q = bits === 8 ? byte : i & 1 ? byte >> 4 : byte & 15;
      out[b * blockSize + i] = Math.fround((q - zero) * s);
    }
  }
  return out;
}
