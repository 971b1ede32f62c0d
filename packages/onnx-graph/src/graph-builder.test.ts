import { type Float32Tensor, type Int64Tensor, type TypedTensor, createTensor, float16BitsToFloat32 } from '@vasink/tensor';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, randomFloats, runModel } from './__fixtures__/run-model.js';
import { attributeValue } from './attribute.js';
import { GraphBuilder } from './graph-builder.js';
import { type ModelProto, type NodeProto, AttributeType } from './onnx-types.js';
import { tensorFromProto } from './tensor-proto.js';

/** Plain-TS y = x·W + b for row-major x [n, k], W [k, m]. */
function linear(x: Float32Array, w: Float32Array, b: Float32Array, n: number, k: number, m: number): Float32Array {
  const y = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = b[j] as number;
      for (let t = 0; t < k; t++) acc += (x[i * k + t] as number) * (w[t * m + j] as number);
      y[i * m + j] = acc;
    }
  }
  return y;
}

/** Element of a row-major [A, B, C] array. */
const at3 = (data: ArrayLike<number>, dims: readonly number[], i: number, j: number, k: number): number =>
  data[(i * (dims[1] as number) + j) * (dims[2] as number) + k] as number;

function nodesOf(model: ModelProto, opType: string): NodeProto[] {
  return model.graph?.node.filter((n) => n.opType === opType) ?? [];
}

function f32(out: Record<string, TypedTensor>, name: string): Float32Tensor {
  const t = out[name];
  if (t === undefined || t.dtype !== 'float32') throw new Error(`output ${name} is not float32`);
  return t as Float32Tensor;
}

describe('GraphBuilder in onnxruntime', () => {
  it('runs a two-layer MLP with initializers and a symbolic batch of two sizes', async () => {
    const [k, h, m] = [8, 16, 4];
    const w1 = randomFloats(k * h, 1);
    const b1 = randomFloats(h, 2);
    const w2 = randomFloats(h * m, 3);
    const b2 = randomFloats(m, 4);
    const g = new GraphBuilder({ name: 'mlp' });
    const x = g.input('x', 'float32', ['batch', k]);
    const y = g.scope('mlp', () => {
      const hidden = g.scope('fc1', () => {
        const w = g.initializer('fc1.weight', createTensor('float32', [k, h], w1));
        const b = g.initializer('fc1.bias', createTensor('float32', [h], b1));
        return g.relu(g.add(g.matMul(x, w), b));
      });
      return g.scope('fc2', () => {
        const w = g.initializer('fc2.weight', createTensor('float32', [h, m], w2));
        const b = g.initializer('fc2.bias', createTensor('float32', [m], b2));
        return g.add(g.matMul(hidden, w), b);
      });
    });
    expect(y.name.startsWith('mlp/fc2/')).toBe(true);
    g.output(y, { name: 'y', dims: ['batch', m] });
    const model = g.build();
    for (const n of [1, 5]) {
      const xs = randomFloats(n * k, 10 + n);
      const out = await runModel(model, { x: createTensor('float32', [n, k], xs) });
      const ref = linear(linear(xs, w1, b1, n, k, h).map((v) => Math.max(0, v)), w2, b2, n, h, m);
      expect(f32(out, 'y').dims).toEqual([n, m]);
      expect(maxAbsDiff(f32(out, 'y').data, ref)).toBeLessThan(1e-5);
    }
  });

  it('computes softmax, reductions, where, cast, gather, concat and slice like plain TS', async () => {
    const dims = [2, 3, 4];
    const xs = randomFloats(24, 7);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['b', 3, 4]);
    g.output(g.softmax(x, -1), { name: 'softmax' });
    g.output(g.reduceMax(x, [-1]), { name: 'max' });
    g.output(g.reduceMean(x, [1], false), { name: 'mean' });
    g.output(g.reduceSum(g.cast(g.greater(x, 0), 'int64')), { name: 'positives' });
    g.output(g.where(g.greater(x, 0), x, g.mul(x, 0.1)), { name: 'leaky' });
    const gathered = g.gather(x, [2, 0], 1);
    const tail = g.slice(x, [1], [Infinity], [1]);
    g.output(g.concat([gathered, tail], 1), { name: 'concat' });
    g.output(g.slice(x, [0, 3], [1, -Infinity], [0, 2], [1, -2]), { name: 'strided' });
    const model = g.build();
    const out = await runModel(model, { x: createTensor('float32', dims, xs) });

    const softmax = f32(out, 'softmax');
    const max = f32(out, 'max');
    const mean = f32(out, 'mean');
    const leaky = f32(out, 'leaky');
    expect(max.dims).toEqual([2, 3, 1]);
    expect(mean.dims).toEqual([2, 4]);
    let positives = 0n;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const row = [0, 1, 2, 3].map((k) => at3(xs, dims, i, j, k));
        const rowMax = Math.max(...row);
        const exps = row.map((v) => Math.exp(v - rowMax));
        const total = exps.reduce((a, b) => a + b, 0);
        row.forEach((v, k) => {
          expect(at3(softmax.data, dims, i, j, k)).toBeCloseTo((exps[k] as number) / total, 6);
          expect(at3(leaky.data, dims, i, j, k)).toBeCloseTo(v > 0 ? v : v * 0.1, 6);
          if (v > 0) positives++;
        });
        expect(max.data[i * 3 + j]).toBeCloseTo(rowMax, 6);
      }
      for (let k = 0; k < 4; k++) {
        const m = (at3(xs, dims, i, 0, k) + at3(xs, dims, i, 1, k) + at3(xs, dims, i, 2, k)) / 3;
        expect(mean.data[i * 4 + k]).toBeCloseTo(m, 6);
      }
    }
    expect((out.positives as Int64Tensor).data[0]).toBe(positives);

    const concat = f32(out, 'concat');
    expect(concat.dims).toEqual([2, 4, 4]);
    const sourceRows = [2, 0, 1, 2];
    for (let i = 0; i < 2; i++) {
      sourceRows.forEach((src, j) => {
        for (let k = 0; k < 4; k++) expect(at3(concat.data, [2, 4, 4], i, j, k)).toBe(Math.fround(at3(xs, dims, i, src, k)));
      });
    }
    const strided = f32(out, 'strided');
    expect(strided.dims).toEqual([1, 3, 2]);
    for (let j = 0; j < 3; j++) {
      expect(at3(strided.data, [1, 3, 2], 0, j, 0)).toBe(Math.fround(at3(xs, dims, 0, j, 3)));
      expect(at3(strided.data, [1, 3, 2], 0, j, 1)).toBe(Math.fround(at3(xs, dims, 0, j, 1)));
    }
  });

  it('runs shape, reshape, expand, unsqueeze, squeeze, split, range, trilu, constantOfShape, argMax and cumSum', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['rows', 3]);
    const rows = g.gather(g.shape(x), 0); // 0-d int64
    g.output(g.reshape(x, [-1]), { name: 'flat' });
    g.output(g.shape(x, { start: 1 }), { name: 'cols' });
    g.output(g.range(0, rows), { name: 'positions' });
    g.output(g.expand(g.unsqueeze(g.range(0, 3), [0]), g.concat([g.unsqueeze(rows, [0]), g.ints([3])], 0)), { name: 'grid' });
    g.output(g.squeeze(g.unsqueeze(x, [0, 2])), { name: 'roundtrip' });
    const [left, right] = g.split(x, [1, 2], 1) as [ReturnType<GraphBuilder['input']>, ReturnType<GraphBuilder['input']>];
    g.output(left, { name: 'left' });
    g.output(right, { name: 'right' });
    g.output(g.trilu(g.constantOfShape([3, 3], 1), { upper: false }), { name: 'lower' });
    g.output(g.trilu(g.constantOfShape([3, 3], 1), { k: 1 }), { name: 'strictUpper' });
    g.output(g.argMax(x, 1, false), { name: 'argmax' });
    g.output(g.cumSum(x, 1), { name: 'cumsum' });
    g.output(g.constantOfShape(g.shape(x), 7n, 'int64'), { name: 'sevens' });
    const model = g.build();
    const xs = Float32Array.from([1, 5, 2, 9, 0, -1]);
    const out = await runModel(model, { x: createTensor('float32', [2, 3], xs) });
    expect(Array.from(f32(out, 'flat').data)).toEqual([1, 5, 2, 9, 0, -1]);
    expect(Array.from((out.cols as Int64Tensor).data)).toEqual([3n]);
    expect(Array.from((out.positions as Int64Tensor).data)).toEqual([0n, 1n]);
    expect(out.grid?.dims).toEqual([2, 3]);
    expect(Array.from((out.grid as Int64Tensor).data)).toEqual([0n, 1n, 2n, 0n, 1n, 2n]);
    expect(f32(out, 'roundtrip').dims).toEqual([2, 3]);
    expect(Array.from(f32(out, 'left').data)).toEqual([1, 9]);
    expect(Array.from(f32(out, 'right').data)).toEqual([5, 2, 0, -1]);
    expect(Array.from(f32(out, 'lower').data)).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    expect(Array.from(f32(out, 'strictUpper').data)).toEqual([0, 1, 1, 0, 0, 1, 0, 0, 0]);
    expect(Array.from((out.argmax as Int64Tensor).data)).toEqual([1n, 0n]);
    expect(Array.from(f32(out, 'cumsum').data)).toEqual([1, 6, 8, 9, 9, 8]);
    expect(Array.from((out.sevens as Int64Tensor).data)).toEqual([7n, 7n, 7n, 7n, 7n, 7n]);
  });

  it('emits ReduceMean/ReduceMax axes as attributes at opset 17 and as inputs at opset 18, with equal results', async () => {
    const build = (opset: number): ModelProto => {
      const g = new GraphBuilder({ opset });
      const x = g.input('x', 'float32', [2, 3]);
      g.output(g.reduceMean(x, [1]), { name: 'mean' });
      g.output(g.reduceMax(x, [0], false), { name: 'max' });
      g.output(g.reduceSum(x, [1], false), { name: 'sum' });
      g.output(g.reduceMean(x), { name: 'all' });
      return g.build();
    };
    const m17 = build(17);
    const m18 = build(18);
    expect(m17.irVersion).toBe(8);
    expect(m18.irVersion).toBe(8);
    const [mean17] = nodesOf(m17, 'ReduceMean');
    const [mean18] = nodesOf(m18, 'ReduceMean');
    expect(mean17?.input).toHaveLength(1);
    expect(mean17?.attribute.find((a) => a.name === 'axes')?.ints).toEqual([1]);
    expect(mean18?.input).toHaveLength(2);
    expect(mean18?.attribute.some((a) => a.name === 'axes')).toBe(false);
    for (const m of [m17, m18]) expect(nodesOf(m, 'ReduceSum')[0]?.input).toHaveLength(2);

    const xs = Float32Array.from([1, 2, 3, 4, 6, 8]);
    const feeds = { x: createTensor('float32', [2, 3], xs) };
    const [o17, o18] = await Promise.all([runModel(m17, feeds), runModel(m18, feeds)]);
    for (const out of [o17, o18]) {
      expect(Array.from(f32(out, 'mean').data)).toEqual([2, 6]);
      expect(f32(out, 'mean').dims).toEqual([2, 1]);
      expect(Array.from(f32(out, 'max').data)).toEqual([4, 6, 8]);
      expect(Array.from(f32(out, 'sum').data)).toEqual([6, 18]);
      expect(Array.from(f32(out, 'all').data)).toEqual([4]);
      expect(f32(out, 'all').dims).toEqual([1, 1]);
    }
  });

  it('imports com.microsoft when a contrib op is used, and runs it', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [5]);
    const gelu = g.op('Gelu', [x], {}, { domain: 'com.microsoft', dtype: 'float32' });
    g.output(gelu, { name: 'gelu' });
    // Reference: exact erf GELU built from standard ops.
    const half = g.mul(x, 0.5);
    g.output(g.mul(half, g.add(g.erf(g.mul(x, Math.SQRT1_2)), 1)), { name: 'reference' });
    const model = g.build();
    expect(model.opsetImport).toEqual([
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    const out = await runModel(model, { x: createTensor('float32', [5], [-2, -0.5, 0, 0.5, 2]) });
    expect(maxAbsDiff(f32(out, 'gelu').data, f32(out, 'reference').data)).toBeLessThan(1e-6);
  });

  it('builds an If whose branches are subgraphs reading outer values', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [3]);
    const flag = g.input('flag', 'bool', []);
    const thenBranch = g.subgraph({ name: 'then' });
    thenBranch.output(thenBranch.add(x, 1), { name: 'then_out' });
    const elseBranch = g.subgraph({ name: 'else' });
    elseBranch.output(elseBranch.mul(x, 2), { name: 'else_out' });
    const y = g.op('If', [flag], { then_branch: thenBranch.buildGraph(), else_branch: elseBranch.buildGraph() }, { dtype: 'float32' });
    g.output(y, { name: 'y' });
    const model = g.build();
    expect(model.graph?.node.at(-1)).toMatchObject({ opType: 'If', output: ['y'] });
    expect(model.graph?.node.at(-1)?.attribute[0]?.type).toBe(AttributeType.GRAPH);
    const xs = createTensor('float32', [3], [1, 2, 3]);
    const yes = await runModel(model, { x: xs, flag: createTensor('bool', [], [1]) });
    const no = await runModel(model, { x: xs, flag: createTensor('bool', [], [0]) });
    expect(Array.from(f32(yes, 'y').data)).toEqual([2, 3, 4]);
    expect(Array.from(f32(no, 'y').data)).toEqual([2, 4, 6]);
  });
});

describe('GraphBuilder names and constants', () => {
  it('scopes generated names, nests scopes and keeps names unique', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    const a = g.scope('layer', () => g.neg(x));
    const b = g.scope('layer', () => g.neg(x));
    const c = g.scope('outer', () => g.scope('inner', () => g.neg(x)));
    expect(a.name).toBe('layer/Neg_output_0');
    expect(b.name).toBe('layer/Neg_1_output_0');
    expect(c.name).toBe('outer/inner/Neg_output_0');
    const named = g.scope('blk', () => g.op('Abs', [x], {}, { name: 'abs', outputNames: ['magnitude'] }));
    expect(named.name).toBe('blk/magnitude');
    expect(() => g.scope('blk', () => g.op('Abs', [x], {}, { outputNames: ['magnitude'] }))).toThrow(/already used/);
    const names = g.buildGraph().node.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('deduplicates scalars per (dtype, value) and ints per value list', () => {
    const g = new GraphBuilder();
    expect(g.scalar(0.5)).toBe(g.scalar(0.5));
    expect(g.scalar(0.5).name).not.toBe(g.scalar(0.5, 'float16').name);
    expect(g.scalar(1, 'int64')).not.toBe(g.scalar(1, 'int32'));
    expect(g.scalar(0)).not.toBe(g.scalar(-0));
    expect(g.ints([1, -1])).toBe(g.ints([1, -1]));
    expect(g.ints([1, -1])).not.toBe(g.ints([-1, 1]));
    const graph = g.buildGraph();
    // 0.5 f32, 0.5 f16, 1 int64, 1 int32, 0, -0, [1,-1], [-1,1]
    expect(graph.initializer).toHaveLength(8);
    const half = graph.initializer.find((t) => t.dataType === 10);
    expect(half).toBeDefined();
    expect(float16BitsToFloat32(tensorFromProto(half!).data[0] as number)).toBe(0.5);
    const bounds = g.ints([Infinity, -Infinity]);
    const big = tensorFromProto(g.buildGraph().initializer.find((t) => t.name === bounds.name)!);
    expect(Array.from(big.data as BigInt64Array)).toEqual([0x7fffffffffffffffn, -0x8000000000000000n]);
  });

  it('shares constants with subgraphs but not the other way round', () => {
    const g = new GraphBuilder();
    const outer = g.scalar(3);
    const sub = g.subgraph();
    expect(sub.scalar(3)).toBe(outer);
    const inner = sub.scalar(4);
    expect(g.scalar(4)).not.toBe(inner);
  });

  it('turns numbers into INT or FLOAT attributes and honours forced kinds', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    g.op('Custom', [x], { i: 2, f: 0.5, forced: { float: 1 }, ints: [1, -2], floats: [1, 2.5], fl: { floats: [1, 2] }, big: -(2 ** 40), s: 'text', ss: ['a', 'b'], skip: undefined }, { domain: 'test.domain' });
    const node = g.buildGraph().node[0];
    const attr = (name: string) => node?.attribute.find((a) => a.name === name);
    expect(attr('i')?.type).toBe(AttributeType.INT);
    expect(attr('f')?.type).toBe(AttributeType.FLOAT);
    expect(attr('forced')).toMatchObject({ type: AttributeType.FLOAT, f: 1 });
    expect(attr('ints')).toMatchObject({ type: AttributeType.INTS, ints: [1, -2] });
    expect(attr('floats')?.type).toBe(AttributeType.FLOATS);
    expect(attr('fl')).toMatchObject({ type: AttributeType.FLOATS, floats: [1, 2] });
    expect(attr('big')).toMatchObject({ type: AttributeType.INT, i: -(2 ** 40) });
    expect(attributeValue(attr('s')!)).toBe('text');
    expect(attributeValue(attr('ss')!)).toEqual(['a', 'b']);
    expect(attr('skip')).toBeUndefined();
  });

  it('renames outputs without a copy where a node produces them, through Identity otherwise', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    const abs = g.abs(x);
    const y = g.output(abs, { name: 'y' });
    expect(y.name).toBe('y');
    // Later uses of the renamed value (here and inside a subgraph) read it under the output name.
    const twice = g.add(abs, abs);
    const branch = g.subgraph();
    branch.output(branch.neg(abs), { name: 'branch_out' });
    const other = g.subgraph();
    other.output(other.abs(abs), { name: 'other_out' });
    g.output(g.op('If', [g.greater(g.reduceSum(x, [0], false), 0)], { then_branch: branch.buildGraph(), else_branch: other.buildGraph() }, { dtype: 'float32' }), { name: 'z' });
    g.output(twice, { name: 't1' });
    g.output(twice, { name: 't2' });
    g.output(x, { name: 'x_out' });
    const graph = g.buildGraph();
    const byOutput = (name: string) => graph.node.find((n) => n.output.includes(name));
    expect(byOutput('y')).toMatchObject({ opType: 'Abs', input: ['x'] });
    expect(graph.node.filter((n) => n.input.includes(abs.name) || n.output.includes(abs.name))).toEqual([]);
    expect(byOutput(twice.name)).toMatchObject({ opType: 'Add', input: ['y', 'y'] });
    const ifNode = graph.node.find((n) => n.opType === 'If');
    expect(ifNode?.attribute.find((a) => a.name === 'then_branch')?.g?.node[0]?.input).toEqual(['y']);
    // Output twice or straight from an input: an Identity each.
    expect(byOutput('t1')).toMatchObject({ opType: 'Identity', input: [twice.name] });
    expect(byOutput('t2')).toMatchObject({ opType: 'Identity', input: [twice.name] });
    expect(byOutput('x_out')).toMatchObject({ opType: 'Identity', input: ['x'] });
    expect(graph.node.filter((n) => n.opType === 'Identity')).toHaveLength(3);
    // The builder's own state is untouched: building again gives the same graph.
    expect(g.buildGraph()).toEqual(graph);
    const out = await runModel(g.build(), { x: createTensor('float32', [2], [-1, 3]) });
    expect(Array.from(f32(out, 'y').data)).toEqual([1, 3]);
    expect(Array.from(f32(out, 'z').data)).toEqual([-1, -3]);
    expect(Array.from(f32(out, 't2').data)).toEqual([2, 6]);
    expect(Array.from(f32(out, 'x_out').data)).toEqual([-1, 3]);
    const untyped = g.op('Custom', [x], {}, { domain: 'test.domain' });
    expect(() => g.output(untyped)).toThrow(/dtype unknown/);
    expect(g.output(untyped, { dtype: 'float32' }).name).toBe(untyped.name);
    expect(() => g.output(untyped, { dtype: 'float32' })).toThrow(/already a graph output/);
  });

  it('rejects misuse with messages that name the problem', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2]);
    expect(() => g.input('x', 'float32', [2])).toThrow(/"x" is already used/);
    expect(() => g.initializer('x', createTensor('float32', [1]))).toThrow(/already used/);
    expect(() => g.neg({ name: 'ghost' })).toThrow(/does not belong/);
    expect(() => g.input('bad', 'float32', [-1])).toThrow(/dim 0/);
    expect(() => g.scalar(1.5, 'int64')).toThrow(/safe integer/);
    expect(() => g.scalar(300, 'uint8')).toThrow(/uint8/);
    expect(() => new GraphBuilder({ opset: 11 })).toThrow(/opset/);
    expect(() => g.subgraph().build()).toThrow(/buildGraph/);
    expect(() => g.externalInitializer('w', 'float32', [4], { location: 'w.bin', offset: 0, length: 8 })).toThrow(/needs 16 bytes/);
    // Trailing omitted inputs are dropped, inner ones kept as ''.
    const clipped = g.op('Clip', [x, undefined, g.scalar(1)], {}, { dtype: 'float32' });
    const node = g.buildGraph().node.find((n) => n.output[0] === clipped.name);
    expect(node?.input).toEqual(['x', '', g.scalar(1).name]);
    g.op('Clip', [x, undefined, undefined]);
    expect(g.buildGraph().node.at(-1)?.input).toEqual(['x']);
  });

  it('picks the IR version from the opset unless told', () => {
    const model = (options: ConstructorParameters<typeof GraphBuilder>[0]) => {
      const g = new GraphBuilder(options);
      g.output(g.identity(g.input('x', 'float32', [1])), { name: 'y' });
      return g.build();
    };
    expect(model({}).irVersion).toBe(8);
    expect(model({ opset: 19 }).irVersion).toBe(9);
    expect(model({ opset: 21 }).irVersion).toBe(10);
    expect(model({ irVersion: 7 }).irVersion).toBe(7);
    const withMeta = new GraphBuilder();
    withMeta.output(withMeta.identity(withMeta.input('x', 'float32', [1])), { name: 'y' });
    const built = withMeta.build({ producerName: 'test', docString: 'doc', metadata: { a: '1' } });
    expect(built).toMatchObject({ producerName: 'test', docString: 'doc', metadataProps: [{ key: 'a', value: '1' }] });
  });
});
