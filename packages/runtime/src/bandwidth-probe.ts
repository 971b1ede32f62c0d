import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalDataFile, GraphBuilder, writeModel } from '@vasink/onnx-graph';
import { InvalidArgumentError } from '@vasink/tensor';
import { Tensor } from 'onnxruntime-node';
import { median } from './interleaved-timing.js';
import { type Device, type DeviceRequest, type SessionLogger, createSession } from './session.js';

export interface ReadBandwidthOptions {
  readonly device?: DeviceRequest;
  readonly intraOpNumThreads?: number;
  /** Size of the probe's weight matrix in bytes (default 1 GiB: far beyond any cache). */
  readonly bytes?: number;
  /**
   * GEMVs chained in one run over the same matrix (default 1 on the CPU, 16
   * on CUDA, where one GEMV of 1 GiB takes a fraction of a millisecond and a
   * run's fixed cost would otherwise count as read time).
   */
  readonly repeats?: number;
  /** Timed runs after one warm-up (default 5); the median counts. */
  readonly runs?: number;
  /** Folder under which the probe's weight file is written, in a fresh folder removed afterwards (default: the OS temp dir). */
  readonly tempDir?: string;
  readonly logger?: SessionLogger;
}

/** Read bandwidth as onnxruntime's own kernels achieve it. */
export interface ReadBandwidth {
  readonly bytesPerSecond: number;
  /** The matrix streamed per GEMV. */
  readonly matrixBytes: number;
  readonly repeats: number;
  /** Median ms of one run (`repeats` GEMVs). */
  readonly medianMs: number;
  readonly device: Device;
  /** One line saying what was measured. */
  readonly method: string;
}

/**
 * Measure memory read bandwidth the way a decode step reads weights: an
 * onnxruntime session on the requested device running float32 GEMVs
 * (`Gemm` with `transB`, `[1, K] × [K, K]ᵀ`, as the decoder's projections do
 * at batch 1) over one matrix of `bytes`, chained `repeats` times in a run.
 * The matrix holds 1/K, so the chain keeps every activation at 1 (no
 * overflow, no denormals). Bandwidth = repeats × matrix bytes / median run time.
 * The matrix is written to a temporary external data file, opened by
 * onnxruntime like a model's weights, and removed afterwards.
 */
export async function measureReadBandwidth(options: ReadBandwidthOptions = {}): Promise<ReadBandwidth> {
  const requested = options.bytes ?? 2 ** 30;
  if (!(Number.isFinite(requested) && requested >= 4 * 64 * 64)) {
    throw new InvalidArgumentError(`probe bytes must be at least ${4 * 64 * 64}, got ${requested}`, { bytes: requested });
  }
  if (options.repeats !== undefined && !(Number.isInteger(options.repeats) && options.repeats >= 1)) {
    throw new InvalidArgumentError(`repeats must be a positive integer, got ${options.repeats}`, { repeats: options.repeats });
  }
  const runs = options.runs ?? 5;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new InvalidArgumentError(`runs must be a positive integer, got ${runs}`, { runs });
  // A square matrix whose side is a multiple of 64 (clean kernel tiles), at most `requested` bytes.
  const k = Math.floor(Math.sqrt(requested / 4) / 64) * 64;
  const matrixBytes = k * k * 4;
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'vasink-bandwidth-'));
  let session: Awaited<ReturnType<typeof createSession>> | undefined;
  try {
    const dataPath = join(dir, 'probe-weights.bin');
    const data = ExternalDataFile.create(dataPath, { alignment: 4096 });
    const chunkRows = Math.max(1, Math.floor((16 * 2 ** 20) / (k * 4)));
    const chunk = new Uint8Array(new Float32Array(chunkRows * k).fill(1 / k).buffer);
    const ref = await data.appendChunks(
      (function* () {
        for (let row = 0; row < k; row += chunkRows) yield chunk.subarray(0, Math.min(chunkRows, k - row) * k * 4);
      })(),
      { length: matrixBytes },
    );
    data.close();
    const probeRepeats = (device: DeviceRequest) => options.repeats ?? (device === 'cuda' ? 16 : 1);
    const build = (repeats: number) => {
      const builder = new GraphBuilder({ name: 'read-bandwidth-probe' });
      const weight = builder.externalInitializer('w', 'float32', [k, k], ref);
      let y = builder.input('x', 'float32', [1, k]);
      for (let r = 0; r < repeats; r++) y = builder.op('Gemm', [y, weight], { transB: 1 }, { dtype: 'float32' });
      builder.output(y, { name: 'y' });
      return builder.build();
    };
    const modelPath = join(dir, 'probe.onnx');
    const sessionOptions = {
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
      ...(options.logger ? { logger: options.logger } : {}),
    };
    const device = options.device ?? 'cpu';
    // 'auto' may land on either device: the graph is rebuilt when the default chain length differs.
    let repeats = probeRepeats(device === 'auto' ? 'cpu' : device);
    writeModel(build(repeats), modelPath);
    session = await createSession(modelPath, { device, ...sessionOptions });
    if (options.repeats === undefined && probeRepeats(session.device) !== repeats) {
      await session.session.release();
      repeats = probeRepeats(session.device);
      writeModel(build(repeats), modelPath);
      session = await createSession(modelPath, { device: session.device, ...sessionOptions });
    }
    const feeds = { x: new Tensor('float32', new Float32Array(k).fill(1), [1, k]) };
    await session.session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await session.session.run(feeds);
      times.push(performance.now() - started);
    }
    const medianMs = median(times);
    const bytesPerSecond = (repeats * matrixBytes) / (medianMs / 1000);
    return {
      bytesPerSecond,
      matrixBytes,
      repeats,
      medianMs,
      device: session.device,
      method: `onnxruntime float32 GEMV over a ${(matrixBytes / 2 ** 20).toFixed(0)} MiB matrix${repeats > 1 ? ` ×${repeats} per run` : ''} on ${session.device.toUpperCase()}, median of ${runs} runs`,
    };
  } finally {
    await session?.session.release();
    await rm(dir, { recursive: true, force: true });
  }
}
