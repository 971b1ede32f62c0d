import { readdir } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measureReadBandwidth } from './bandwidth-probe.js';

describe('measureReadBandwidth', () => {
  it('streams a square float32 matrix through onnxruntime GEMVs and leaves no file behind', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'vasink-probe-test-'));
    try {
      const probe = await measureReadBandwidth({ device: 'cpu', bytes: 4 * 2 ** 20, repeats: 3, runs: 3, tempDir: parent });
      // The largest 64-multiple side within 4 MiB: 1024 × 1024 float32.
      expect(probe.matrixBytes).toBe(1024 * 1024 * 4);
      expect(probe.repeats).toBe(3);
      expect(probe.device).toBe('cpu');
      expect(probe.bytesPerSecond).toBeCloseTo((3 * probe.matrixBytes) / (probe.medianMs / 1000), 6);
      expect(probe.bytesPerSecond).toBeGreaterThan(0);
      expect(probe.method).toMatch(/GEMV over a 4 MiB matrix ×3 per run on CPU/);
      expect(await readdir(parent)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('refuses a probe too small or a bad count', async () => {
    await expect(measureReadBandwidth({ bytes: 100 })).rejects.toThrow(/at least/);
    await expect(measureReadBandwidth({ bytes: 2 ** 20, repeats: 0 })).rejects.toThrow(/repeats/);
  });
});
