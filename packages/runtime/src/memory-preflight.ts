import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { VasinkError } from '@vasink/tensor';
import { graphWeightBytes, kvCacheBytes } from './decode-floor.js';
import type { ModelManifest } from './model-manifest.js';

const GiB = 1024 ** 3;

/** onnxruntime's arenas, Node's heap, tokenizer and code: measured ≈ 0.3–0.4 GiB on the tiny models; rounded up. */
export const RUNTIME_OVERHEAD_BYTES = 0.5 * GiB;

/** The model, the device and the work one load must fit. */
export interface MemoryEstimateOptions {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** Graph files the load opens (relative to `dir`). */
  readonly graphs: readonly string[];
  readonly device: 'cpu' | 'cuda';
  /** Longest context (prompt + answer) one row may reach. */
  readonly contextTokens: number;
  /** Longest prompt prefilled in one run (default: the whole context). */
  readonly promptTokens?: number;
  /** Rows decoded at once (e.g. `--compare` runs 2). */
  readonly rows: number;
}

/** What a loaded model will hold in host memory, in bytes, by part. */
export interface MemoryEstimate {
  /** Weights as onnxruntime holds them on this device (float16 widened to float32 on the CPU; int4/int8 blocks repacked with a block sum at accuracy level 4). */
  readonly weights: number;
  /** Weights as stored in the model directory. */
  readonly storedWeights: number;
  /** The KV cache at `contextTokens` for every row, twice: a step's past inputs and present outputs both live. */
  readonly kvCache: number;
  /** The largest prefill working set: attention scores/probabilities (VAR materialises them) and MLP activations. */
  readonly activations: number;
  readonly overhead: number;
  readonly total: number;
  readonly contextTokens: number;
  readonly rows: number;
  readonly device: 'cpu' | 'cuda';
  /** True when float16 weights are widened (CPU). */
  readonly widened: boolean;
}

/** Raised before any session opens when the model would not fit in memory. */
export class InsufficientMemoryError extends VasinkError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'INSUFFICIENT_MEMORY', details, exposure: 'config' });
  }
}

/**
 * Estimate the host memory a model load and its generation need (DESIGN §5):
 * the initializers of each graph opened, read from the ONNX files (so the
 * estimate follows what was converted: quantized codes, float16 or float32),
 * float16 initializers counted twice on the CPU, where onnxruntime widens them
 * to float32 (it has no fast float16 MatMul on x64); the KV cache at the
 * context for every row, past and present; the prefill's attention
 * probabilities and MLP activations; a fixed runtime overhead. On CUDA the
 * weights and cache live on the device: the host holds the largest graph's
 * weights while onnxruntime copies them over, and the step's cache copies.
 */
export function estimateModelMemory(options: MemoryEstimateOptions): MemoryEstimate {
  const { manifest, device, contextTokens, rows } = options;
  const cpu = device === 'cpu';
  const quant = manifest.quantization;
  const perGraph = options.graphs.map((file) => {
    const byDtype = graphWeightBytes(join(options.dir, file)).byDtype;
    const stored = Object.values(byDtype).reduce((a, b) => a + b, 0);
    // MatMulNBits at accuracy level 4 repacks its weights on the CPU with a float32 block sum beside each block's scale.
    const blockSums = cpu && quant?.accuracyLevel === 4 ? ((byDtype.uint8 ?? 0) / ((quant.blockSize * quant.bits) / 8)) * 4 : 0;
    const widenedBytes = cpu ? (byDtype.float16 ?? 0) : 0;
    return { stored, held: stored + widenedBytes + blockSums, widenedBytes };
  });
  const storedWeights = perGraph.reduce((a, g) => a + g.stored, 0);
  const heldOnDevice = perGraph.reduce((a, g) => a + g.held, 0);
  const weights = device === 'cpu' ? heldOnDevice : Math.max(0, ...perGraph.map((g) => g.stored));
  const d = manifest.decoder;
  const kvCache = 2 * kvCacheBytes(d, manifest.dtype, contextTokens) * rows;
  // Prefill of the longest prompt in one run: scores, probabilities and VAR's redistributed copy, float32, one layer at a time.
  const prompt = Math.min(options.promptTokens ?? contextTokens, contextTokens);
  const attention = 3 * rows * d.numHeads * prompt * prompt * 4;
  const mlp = 3 * rows * prompt * d.intermediateSize * 4;
  const activations = attention + mlp;
  const overhead = RUNTIME_OVERHEAD_BYTES;
  return {
    weights,
    storedWeights,
    kvCache,
    activations,
    overhead,
    total: weights + kvCache + activations + overhead,
    contextTokens,
    rows,
    device,
    widened: perGraph.some((g) => g.widenedBytes > 0),
  };
}

/**
 * Host memory this process can still take, in bytes: the kernel's
 * MemAvailable (page cache that can be dropped included), bounded by a cgroup
 * v2/v1 memory limit when one applies; `os.freemem()` elsewhere.
 */
export function availableMemoryBytes(): number {
  let available = freemem();
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (match) available = Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  for (const [limitFile, usageFile] of [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ] as const) {
    try {
      const limit = Number(readFileSync(limitFile, 'utf8').trim());
      const usage = Number(readFileSync(usageFile, 'utf8').trim());
      if (Number.isFinite(limit) && Number.isFinite(usage) && limit < 2 ** 60) available = Math.min(available, Math.max(0, limit - usage));
    } catch {
      // no such cgroup file
    }
  }
  return available;
}

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

/** One line: the estimate by part. */
export function describeMemoryEstimate(estimate: MemoryEstimate): string {
  const weights = estimate.widened
    ? `weights ${gib(estimate.weights)} (${gib(estimate.storedWeights)} stored; onnxruntime's CPU provider widens float16 to float32)`
    : `weights ${gib(estimate.weights)}`;
  return `${weights} + KV cache ${gib(estimate.kvCache)} at ${estimate.contextTokens} tokens × ${estimate.rows} row${estimate.rows === 1 ? '' : 's'} + prefill activations ${gib(estimate.activations)} + runtime ${gib(estimate.overhead)} = ${gib(estimate.total)}`;
}

/**
 * Refuse, with one line naming the numbers and the fix, a load whose estimate
 * exceeds the available memory — instead of being killed by the OOM killer
 * halfway through loading.
 */
export function assertMemoryFits(estimate: MemoryEstimate, manifest: ModelManifest, available = availableMemoryBytes()): void {
  if (estimate.total <= available) return;
  const fixes: string[] = [];
  if (estimate.device === 'cpu' && !manifest.quantization) fixes.push('convert with --quant int4 (about a quarter of float16\'s weight bytes; the CPU choice)');
  if (estimate.device === 'cpu' && estimate.widened) fixes.push('keep float16 for CUDA (--device cuda)');
  if (estimate.kvCache + estimate.activations > estimate.weights / 4) fixes.push(`lower the context (now ${estimate.contextTokens} tokens)`);
  if (fixes.length === 0) fixes.push('free memory or use a machine with more');
  throw new InsufficientMemoryError(
    `not enough memory for ${manifest.architecture} (${manifest.dtype}${manifest.quantization ? ` + ${manifest.quantization.scheme}` : ''}) on ${estimate.device.toUpperCase()}: needs about ${gib(estimate.total)} — ${describeMemoryEstimate(estimate)} — but ${gib(available)} is available; ${fixes.join(', or ')}`,
    { needed: estimate.total, available, estimate },
  );
}

/**
 * The most decoder rows, between `min` and `max`, whose estimate fits in
 * `available` bytes (the KV cache and prefill activations grow with the
 * rows); `undefined` when not even `min` rows fit. `estimate(rows)` is
 * {@link estimateModelMemory} for that many rows.
 */
export function fitBatchRows(options: { estimate: (rows: number) => MemoryEstimate; min: number; max: number; available?: number }): number | undefined {
  const available = options.available ?? availableMemoryBytes();
  let best: number | undefined;
  for (let rows = options.min; rows <= options.max; rows++) {
    if (options.estimate(rows).total > available) break;
    best = rows;
  }
  return best;
}
