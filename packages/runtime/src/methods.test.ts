import { describe, expect, it } from 'vitest';
import { ATTENTION_INTERVENTIONS, ATTENTION_METHODS, describeMethodRow, methodRow, parseMethods } from './methods.js';

const model = { numLayers: 32, numHeads: 32, hiddenSize: 4096, sinkDims: [1415, 2533], sinkStartLayer: 2 };

describe('the method registry', () => {
  it('lists each method once, its intervention (if any) among the decoder\'s, and its defaults described', () => {
    expect(ATTENTION_METHODS.map((m) => m.name)).toEqual(['var', 'pai', 'vaf', 'vcd']);
    expect(ATTENTION_INTERVENTIONS.map((i) => i.name)).toEqual(['var', 'pai', 'vaf']);
    expect(describeMethodRow(methodRow(parseMethods('pai'), model))).toBe('PAI α=0.2 layers 2–31, γ=1.1 vs the text-only prompt');
    expect(describeMethodRow(methodRow(parseMethods('vaf'), model))).toBe('VAF β=0.15 α=0.05 layers 9–14');
    expect(describeMethodRow(methodRow(parseMethods('none'), model))).toBe('baseline');
  });

  it('parses none, one name, or several joined by +; composes them when they set different parts of a row', () => {
    expect(parseMethods('none')).toEqual([]);
    expect(parseMethods(' var + vcd ').map((m) => m.name)).toEqual(['var', 'vcd']);
    const row = methodRow(parseMethods('var+vcd'), model);
    expect(Object.keys(row).sort()).toEqual(['contrast', 'var']);
    expect(row.contrast).toMatchObject({ counterpart: 'noised-image', alpha: 1, beta: 0.1, noiseStep: 500 });
    expect(Object.keys(methodRow(parseMethods('var+pai+vaf'), model)).sort()).toEqual(['contrast', 'pai', 'vaf', 'var']);
  });

  it('refuses unknown names, a name twice and methods that set the same part, naming them', () => {
    expect(() => parseMethods('dola')).toThrow(/unknown method "dola": choose var, pai, vaf, vcd or none/);
    expect(() => parseMethods('var+var')).toThrow(/method var is named twice in "var\+var"/);
    expect(() => methodRow(parseMethods('pai+vcd'), model)).toThrow(/PAI and VCD both set the contrast part of a row/);
  });
});
