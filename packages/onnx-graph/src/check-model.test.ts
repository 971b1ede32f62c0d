import { describe, expect, it } from 'vitest';
import { type ModelRule, assertValidModel, checkModel } from './check-model.js';
import { InvalidModelError } from './errors.js';
import { GraphBuilder } from './graph-builder.js';
import { type GraphProto, type ModelProto, AttributeType, DataLocation, TensorDataType } from './onnx-types.js';

const floatType = { tensorType: { elemType: TensorDataType.FLOAT } };

/** x → Neg → a → Abs → y, with initializer w = [1, 2]. A fresh copy per call. */
function validModel(): ModelProto {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [],
    graph: {
      name: 'main',
      node: [
        { input: ['x'], output: ['a'], name: 'neg', opType: 'Neg', attribute: [] },
        { input: ['a', 'w'], output: ['y'], name: 'add', opType: 'Add', attribute: [] },
      ],
      initializer: [{ name: 'w', dims: [2], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(8) }],
      input: [{ name: 'x', type: floatType }],
      output: [{ name: 'y', type: floatType }],
      valueInfo: [],
    },
  };
}

function graphOf(model: ModelProto): GraphProto {
  if (model.graph === undefined) throw new Error('no graph');
  return model.graph;
}

/** Rules broken by a mutated copy of the valid model. */
function rulesAfter(mutate: (model: ModelProto, graph: GraphProto) => void): ModelRule[] {
  const model = validModel();
  mutate(model, graphOf(model));
  return [...new Set(checkModel(model).map((p) => p.rule))];
}

describe('checkModel', () => {
  it('passes a valid model and models the builder writes', () => {
    expect(checkModel(validModel())).toEqual([]);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['n', 4]);
    const sub = g.subgraph();
    sub.output(sub.add(x, 1), { name: 'branch_out' });
    const y = g.op('If', [g.less(g.reduceSum(x), 0)], { then_branch: sub.buildGraph(), else_branch: sub.buildGraph() }, { dtype: 'float32' });
    g.output(g.softmax(y), { name: 'y' });
    expect(checkModel(g.build({ check: false }))).toEqual([]);
  });

  it('ssa: a value produced twice', () => {
    expect(rulesAfter((_, g) => g.node.push({ input: ['x'], output: ['a'], opType: 'Abs', attribute: [] }))).toEqual(['ssa']);
    expect(rulesAfter((_, g) => g.node.push({ input: ['x'], output: ['w'], opType: 'Abs', attribute: [] }))).toEqual(['ssa']);
    expect(rulesAfter((_, g) => g.input.push({ name: 'x', type: floatType }))).toEqual(['ssa']);
  });

  it('undefined-input: a node reads a name nothing defines', () => {
    const model = validModel();
    graphOf(model).node[1]?.input.push('ghost');
    const problems = checkModel(model);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ rule: 'undefined-input', node: 'add', value: 'ghost' });
    expect(problems[0]?.message).toContain('"ghost"');
  });

  it('topological-order: a node reads a value produced later', () => {
    expect(rulesAfter((_, g) => g.node.reverse())).toEqual(['topological-order']);
  });

  it('output-not-produced and no-outputs', () => {
    expect(rulesAfter((_, g) => g.output.push({ name: 'z', type: floatType }))).toEqual(['output-not-produced']);
    expect(rulesAfter((_, g) => g.output.splice(0))).toEqual(['no-outputs']);
  });

  it('duplicate-initializer', () => {
    expect(rulesAfter((_, g) => g.initializer.push({ name: 'w', dims: [1], dataType: TensorDataType.FLOAT, floatData: [1] }))).toEqual([
      'duplicate-initializer',
    ]);
  });

  it('missing-opset and duplicate-opset', () => {
    expect(rulesAfter((_, g) => (g.node[0]!.domain = 'com.microsoft'))).toEqual(['missing-opset']);
    expect(rulesAfter((m) => (m.opsetImport = []))).toEqual(['missing-opset']);
    expect(rulesAfter((m) => m.opsetImport.push({ domain: 'ai.onnx', version: 18 }))).toEqual(['duplicate-opset']);
    expect(rulesAfter((m) => m.opsetImport.push({ domain: 'com.microsoft', version: 1 }))).toEqual([]);
  });

  it('empty-name: nodes without op type, values and graphs without names', () => {
    expect(rulesAfter((_, g) => (g.node[0]!.opType = ''))).toEqual(['empty-name']);
    expect(rulesAfter((_, g) => g.initializer.push({ name: '', dims: [], dataType: 1, floatData: [1] }))).toEqual(['empty-name']);
    expect(rulesAfter((_, g) => (g.name = ''))).toEqual(['empty-name']);
    expect(rulesAfter((_, g) => g.node[0]!.attribute.push({ name: '', type: AttributeType.INT, i: 1 }))).toEqual(['empty-name']);
  });

  it('missing-type: graph inputs and outputs need an element type', () => {
    expect(rulesAfter((_, g) => delete g.input[0]!.type)).toEqual(['missing-type']);
    expect(rulesAfter((_, g) => (g.output[0]!.type = { tensorType: { elemType: 0 } }))).toEqual(['missing-type']);
  });

  it('missing-shape (strict only): onnx.checker wants a rank on graph inputs and outputs', () => {
    const model = validModel();
    expect(checkModel(model, { strict: true }).map((p) => p.rule)).toEqual(['missing-shape', 'missing-shape']);
    graphOf(model).input[0]!.type = { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } };
    graphOf(model).output[0]!.type = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } };
    expect(checkModel(model, { strict: true })).toEqual([]);
    const g = new GraphBuilder();
    g.output(g.neg(g.input('x', 'float32', [2])), { name: 'y' });
    expect(() => g.build({ check: 'strict' })).toThrow(/missing-shape/);
  });

  it('initializer-size: data length must match dims × dtype', () => {
    expect(rulesAfter((_, g) => (g.initializer[0]!.rawData = new Uint8Array(7)))).toEqual(['initializer-size']);
    expect(rulesAfter((_, g) => (g.initializer[0] = { name: 'w', dims: [2], dataType: 1, floatData: [1, 2, 3] }))).toEqual([
      'initializer-size',
    ]);
    expect(rulesAfter((_, g) => (g.initializer[0] = { name: 'w', dims: [2], dataType: 1 }))).toEqual(['initializer-size']);
    expect(rulesAfter((_, g) => (g.initializer[0] = { name: 'w', dims: [2], dataType: 7, floatData: [1, 2] }))).toEqual([
      'initializer-size',
    ]);
    expect(rulesAfter((_, g) => (g.initializer[0]!.dims = [-2]))).toEqual(['initializer-size']);
    expect(rulesAfter((_, g) => (g.initializer[0] = { name: 'w', dims: [2], dataType: 7, int64Data: [1, -2n] }))).toEqual([]);
  });

  it('external-data: entries must be well formed and match the size', () => {
    const external = (entries: [string, string][]) =>
      rulesAfter((_, g) => {
        g.initializer[0] = {
          name: 'w',
          dims: [2],
          dataType: TensorDataType.FLOAT,
          dataLocation: DataLocation.EXTERNAL,
          externalData: entries.map(([key, value]) => ({ key, value })),
        };
      });
    expect(external([['location', 'w.bin'], ['offset', '4294967296'], ['length', '8']])).toEqual([]);
    expect(external([['location', 'w.bin'], ['length', '12']])).toEqual(['external-data']);
    expect(external([['offset', '0']])).toEqual(['external-data']);
    expect(external([['location', '../w.bin']])).toEqual(['external-data']);
    expect(external([['location', 'w.bin'], ['offset', 'x']])).toEqual(['external-data']);
    expect(rulesAfter((_, g) => (g.initializer[0]!.externalData = [{ key: 'location', value: 'w.bin' }]))).toEqual(['external-data']);
  });

  it('attribute: the type must match the one field that is set', () => {
    expect(rulesAfter((_, g) => g.node[0]!.attribute.push({ name: 'a', type: AttributeType.INT, f: 1 }))).toEqual(['attribute']);
    expect(rulesAfter((_, g) => g.node[0]!.attribute.push({ name: 'a', type: AttributeType.INT, i: 1, f: 1 }))).toEqual(['attribute']);
    expect(
      rulesAfter((_, g) => g.node[0]!.attribute.push({ name: 'a', type: 2, i: 1 }, { name: 'a', type: 2, i: 2 })),
    ).toEqual(['attribute']);
  });

  it('missing-graph and ir-version', () => {
    expect(rulesAfter((m) => delete m.graph)).toEqual(['missing-graph']);
    expect(rulesAfter((m) => (m.irVersion = 0))).toEqual(['ir-version']);
  });

  it('checks subgraphs, which may read outer values but not redefine them', () => {
    const withBranch = (branch: GraphProto) =>
      rulesAfter((_, g) => {
        g.node.push({
          input: ['y'],
          output: ['z'],
          name: 'if',
          opType: 'If',
          attribute: [
            { name: 'then_branch', type: AttributeType.GRAPH, g: branch },
            { name: 'else_branch', type: AttributeType.GRAPH, g: branch },
          ],
        });
      });
    const branch = (node: { input: string[]; output: string[] }): GraphProto => ({
      name: 'branch',
      node: [{ ...node, opType: 'Neg', attribute: [] }],
      initializer: [],
      input: [],
      output: [{ name: node.output[0]!, type: floatType }],
      valueInfo: [],
    });
    expect(withBranch(branch({ input: ['a'], output: ['b_out'] }))).toEqual([]);
    expect(withBranch(branch({ input: ['z'], output: ['b_out2'] }))).toEqual(['undefined-input']);
    expect(withBranch(branch({ input: ['a'], output: ['y'] }))).toEqual(['ssa']);
  });

  it('assertValidModel throws an InvalidModelError listing every problem', () => {
    const model = validModel();
    graphOf(model).node.reverse();
    graphOf(model).output.push({ name: 'z', type: floatType });
    try {
      assertValidModel(model);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidModelError);
      const e = error as InvalidModelError;
      expect(e.code).toBe('INVALID_MODEL');
      expect(e.message).toMatch(/2 structural problems/);
      expect(e.message).toMatch(/topological-order/);
      expect(e.message).toMatch(/output-not-produced/);
      expect((e.details.problems as unknown[]).length).toBe(2);
    }
    expect(() => assertValidModel(validModel())).not.toThrow();
  });

  it('is what GraphBuilder.build runs by default', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1]);
    g.output(g.neg(x), { name: 'y' });
    g.initializer('bad', { dtype: 'float32', dims: [3], data: new Float32Array(2) });
    expect(() => g.build()).toThrow(InvalidModelError);
    expect(() => g.build({ check: false })).not.toThrow();
  });
});
