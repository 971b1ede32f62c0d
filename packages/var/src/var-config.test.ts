import { describe, expect, it } from 'vitest';
import {
  VAR_PRESETS,
  VarConfigError,
  fromOfficialCodeConvention,
  resolveVarConfig,
  toOfficialCodeConvention,
  varLayerMask,
  varParamsRow,
} from './var-config.js';

describe('presets', () => {
  it('hold the paper-convention values of DESIGN §1', () => {
    expect(VAR_PRESETS.general).toEqual({ tau: 20, rho: 0.8, p: 0.6, minImageAttention: 0.2, layers: 'all-but-last' });
    expect(VAR_PRESETS.hallucination).toMatchObject({ rho: 0.5, p: 0.6, layers: 'all-but-last' });
    expect(VAR_PRESETS['vision-centric']).toMatchObject({ rho: 0.9, p: 0.6 });
    expect(VAR_PRESETS['official-code']).toEqual({ tau: 20, rho: 0.5, p: 0.4, minImageAttention: 0.2, layers: 'all' });
  });

  it('official-code equals the released defaults (rho 0.5, p 0.6, summ 0.2) in their convention', () => {
    const code = toOfficialCodeConvention(VAR_PRESETS['official-code']);
    expect(code.tau).toBe(20);
    expect(code.rho).toBeCloseTo(0.5, 12);
    expect(code.p).toBeCloseTo(0.6, 12);
    expect(code.summ).toBe(0.2);
  });
});

describe('resolveVarConfig', () => {
  it('defaults to general and applies overrides', () => {
    expect(resolveVarConfig()).toEqual(VAR_PRESETS.general);
    expect(resolveVarConfig({ preset: 'hallucination', tau: 10, minImageAttention: 0.1 })).toMatchObject({
      tau: 10,
      rho: 0.5,
      p: 0.6,
      minImageAttention: 0.1,
    });
  });

  it('converts official-code overrides once: rho_code = 1 − ρ, p_code = 1 − p', () => {
    const config = resolveVarConfig({ preset: 'official-code', rho: 0.3, p: 0.75, convention: 'official-code' });
    expect(config.rho).toBeCloseTo(0.7, 12);
    expect(config.p).toBeCloseTo(0.25, 12);
    expect(fromOfficialCodeConvention({ rho: 0.5, p: 0.6 })).toEqual({ rho: 0.5, p: 0.4 });
    // Preset values stay in the paper convention whatever the convention of the overrides.
    expect(resolveVarConfig({ preset: 'general', convention: 'official-code' }).rho).toBe(0.8);
  });

  it('rejects unusable settings with messages naming them', () => {
    expect(() => resolveVarConfig({ tau: 0 })).toThrow('tau must be a finite number > 0, got 0');
    expect(() => resolveVarConfig({ tau: -1 })).toThrow(VarConfigError);
    expect(() => resolveVarConfig({ tau: Number.NaN })).toThrow(/tau/);
    expect(() => resolveVarConfig({ rho: 1.2 })).toThrow('rho must be in [0, 1], got 1.2 (paper convention)');
    expect(() => resolveVarConfig({ p: -0.1, convention: 'official-code' })).toThrow(
      'p must be in [0, 1], got -0.1 (official-code convention)',
    );
    expect(() => resolveVarConfig({ minImageAttention: 2 })).toThrow('minImageAttention must be in [0, 1], got 2');
    expect(() => resolveVarConfig({ preset: 'turbo' })).toThrow(
      'unknown VAR preset "turbo"; choose one of general, hallucination, vision-centric, official-code',
    );
    expect(() => resolveVarConfig({ layers: [1.5] })).toThrow(/layers must be non-negative integers/);
    expect(() => resolveVarConfig({ convention: 'mine' as never })).toThrow(/unknown convention/);
  });

  it('accepts the boundary values 0 and 1', () => {
    expect(resolveVarConfig({ rho: 0, p: 1 })).toMatchObject({ rho: 0, p: 1 });
  });
});

describe('varLayerMask', () => {
  it('skips the layers before the sink start and the last one for all-but-last', () => {
    expect([...varLayerMask(VAR_PRESETS.general, { numLayers: 6 })]).toEqual([0, 0, 1, 1, 1, 0]);
    expect([...varLayerMask(VAR_PRESETS['official-code'], { numLayers: 6 })]).toEqual([0, 0, 1, 1, 1, 1]);
    expect([...varLayerMask({ layers: [0, 3] }, { numLayers: 6 })]).toEqual([0, 0, 0, 1, 0, 0]);
    expect([...varLayerMask({ layers: 'all' }, { numLayers: 4, sinkStartLayer: 1 })]).toEqual([0, 1, 1, 1]);
    expect(() => varLayerMask({ layers: [6] }, { numLayers: 6 })).toThrow('VAR layer 6 does not exist: the model has 6 layers');
  });

  it('packs the graph parameter row [τ, ρ, p, m]', () => {
    expect([...varParamsRow(VAR_PRESETS.general)]).toEqual([20, Math.fround(0.8), Math.fround(0.6), Math.fround(0.2)]);
  });
});
