import { describe, expect, it } from 'vitest';
import { computeDemo, formatDemo } from './demo.js';

describe('vasink demo', () => {
  it('finds the planted sinks, redistributes only on VAR layers, and changes the VAR row only', async () => {
    const summary = await computeDemo({ preset: 'hallucination' });
    const planted = summary.prompt.plantedSinks;
    for (const layer of summary.layers) {
      expect(layer.sinks, `layer ${layer.layer}`).toEqual(planted);
      if (!layer.active) expect(layer.selectedRows).toBe(0);
    }
    expect(summary.layers.map((l) => l.active)).toEqual([false, false, true, true, true, false]);
    const active = summary.layers.filter((l) => l.active);
    expect(active.every((l) => l.selectedRows > 0 && l.movedMass > 0)).toBe(true);
    expect(summary.maxLogitChange).toBeGreaterThan(0);
    expect(formatDemo(summary).join('\n')).toContain('| 2 | on |');
  });

  it('rejects an unknown preset with the list of presets', async () => {
    await expect(computeDemo({ preset: 'turbo' })).rejects.toThrow(/unknown VAR preset "turbo"; choose one of general/);
  });
});
