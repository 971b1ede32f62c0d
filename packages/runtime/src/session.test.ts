import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '@vasink/tensor';
import { addModelBytes } from './__fixtures__/tiny-model.js';
import { MissingFileError, SessionCreateError } from './errors.js';
import { type CreatedSession, type SessionLogger, createSession, missingCudaProviderLibraries, onnxruntimeBinaryDir, resetDeviceNoticesForTesting } from './session.js';

// This machine has no CUDA provider libraries (onnxruntime-node's postinstall never ran):
// the fallback runs for real. The CUDA branch itself is checked on a GPU machine, outside
// this suite (see the README's GPU section).
const cudaProviderInstalled = missingCudaProviderLibraries().length === 0;

async function runAdd(created: CreatedSession): Promise<number[]> {
  const out = await created.session.run({ a: new Tensor('float32', Float32Array.of(1, 2, 3), [3]), b: new Tensor('float32', Float32Array.of(10, 20, 30), [3]) });
  return [...(out['sum']!.data as Float32Array)];
}

describe('createSession', () => {
  let dir: string;
  let modelPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vasink-session-'));
    modelPath = join(dir, 'add.onnx');
    await writeFile(modelPath, addModelBytes());
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => resetDeviceNoticesForTesting());

  it('runs on CPU when asked, without a word', async () => {
    const logger = vi.fn<SessionLogger>();
    const created = await createSession(modelPath, { device: 'cpu', logger, intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    expect(created.device).toBe('cpu');
    expect(created.warnings).toEqual([]);
    expect(logger).not.toHaveBeenCalled();
    expect(await runAdd(created)).toEqual([11, 22, 33]);
    await created.session.release();
  });

  it.skipIf(cudaProviderInstalled)('falls back from CUDA to CPU with one warning per process naming reason and fix', async () => {
    const logger = vi.fn<SessionLogger>();
    const first = await createSession(modelPath, { device: 'cuda', logger, graphOptimizationLevel: 'disabled' });
    expect(first.device).toBe('cpu');
    expect(await runAdd(first)).toEqual([11, 22, 33]);
    expect(first.warnings).toHaveLength(1);
    const warning = first.warnings[0]!;
    expect(warning).toMatch(/^CUDA execution provider unavailable, running on CPU \(/);
    expect(warning).toContain('libonnxruntime_providers_shared.so');
    expect(warning).toContain('onnxruntime:'); // the error onnxruntime really raised
    expect(warning).toContain('com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9');
    expect(warning).toContain(onnxruntimeBinaryDir()!);
    expect(logger).toHaveBeenCalledTimes(1);
    expect(logger).toHaveBeenCalledWith(warning, 'warn');

    const second = await createSession(addModelBytes(), { device: 'cuda', logger });
    expect(second.device).toBe('cpu');
    expect(second.warnings).toEqual([warning]);
    expect(logger).toHaveBeenCalledTimes(1);
    await first.session.release();
    await second.session.release();
  });

  it.skipIf(cudaProviderInstalled)("'auto' takes CPU with a single info notice", async () => {
    const logger = vi.fn<SessionLogger>();
    const created = await createSession(modelPath, { device: 'auto', logger });
    await createSession(modelPath, { device: 'auto', logger });
    expect(created.device).toBe('cpu');
    expect(await runAdd(created)).toEqual([11, 22, 33]);
    expect(logger).toHaveBeenCalledTimes(1);
    expect(logger.mock.calls[0]![1]).toBe('info');
    expect(logger.mock.calls[0]![0]).toContain('not found');
    await created.session.release();
  });

  it('names a missing model file and wraps onnxruntime load errors', async () => {
    await expect(createSession(join(dir, 'nope.onnx'), { device: 'cpu' })).rejects.toThrow(MissingFileError);
    await expect(createSession(join(dir, 'nope.onnx'), { device: 'cpu' })).rejects.toThrow(`ONNX model not found: ${join(dir, 'nope.onnx')}`);
    const garbage = join(dir, 'garbage.onnx');
    await writeFile(garbage, 'not a model');
    await expect(createSession(garbage, { device: 'cpu' })).rejects.toThrow(SessionCreateError);
    await expect(createSession(garbage, { device: 'cpu' })).rejects.toThrow(`onnxruntime could not load ${garbage}`);
  });

  it('rejects invalid options', async () => {
    await expect(createSession(modelPath, { device: 'gpu' as 'cuda' })).rejects.toThrow(InvalidArgumentError);
    await expect(createSession(modelPath, { device: 'cpu', intraOpNumThreads: -1 })).rejects.toThrow(/intraOpNumThreads/);
    await expect(createSession(modelPath, { device: 'cpu', graphOptimizationLevel: 'max' as 'all' })).rejects.toThrow(/graphOptimizationLevel/);
  });
});
