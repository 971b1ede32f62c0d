import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Float32Tensor, createTensor } from '@vasink/tensor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maxAbsDiff, randomFloats, runModel } from './__fixtures__/run-model.js';
import { ExternalDataFile } from './external-data.js';
import { GraphBuilder } from './graph-builder.js';
import { inspectModel } from './inspect-model.js';
import { readInitializer, readModel, writeModel } from './model-io.js';
import { type ModelProto, DataLocation } from './onnx-types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vasink-model-io-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const K = 32;
const M = 16;
const weight = createTensor('float32', [K, M], randomFloats(K * M, 99)); // 2 KiB: goes external
const bias = createTensor('float32', [M], randomFloats(M, 98)); // 64 B: stays inline

function linearModel(options: { weightName?: string; scale?: number } = {}): ModelProto {
  const g = new GraphBuilder({ name: 'linear' });
  const x = g.input('x', 'float32', ['batch', K]);
  const w = g.initializer(options.weightName ?? 'weight', weight);
  const y = g.add(g.matMul(x, w), g.initializer('bias', bias));
  g.output(options.scale === undefined ? y : g.mul(y, options.scale), { name: 'y', dims: ['batch', M] });
  return g.build();
}

const input = createTensor('float32', [3, K], randomFloats(3 * K, 5));

describe('writeModel / readModel', () => {
  it('moves large initializers into the data file, loads by path in onnxruntime and reads back', async () => {
    const model = linearModel();
    const data = ExternalDataFile.create(join(dir, 'linear.onnx.data'));
    const result = writeModel(model, join(dir, 'linear.onnx'), { externalData: data });
    data.close();
    expect(result.externalized).toEqual(['weight']);
    expect(model.graph?.initializer[0]?.rawData).toBeDefined(); // input model untouched
    expect(statSync(join(dir, 'linear.onnx')).size).toBe(result.bytes);
    expect(result.bytes).toBeLessThan(1024);

    const inMemory = await runModel(model, { x: input });
    const fromDisk = await runModel(join(dir, 'linear.onnx'), { x: input });
    expect(maxAbsDiff((fromDisk.y as Float32Tensor).data, (inMemory.y as Float32Tensor).data)).toBe(0);

    const reread = readModel(join(dir, 'linear.onnx'));
    const w = reread.graph?.initializer.find((t) => t.name === 'weight');
    expect(w?.dataLocation).toBe(DataLocation.EXTERNAL);
    expect(readInitializer(reread, 'weight', dir)).toEqual(weight);
    expect(readInitializer(reread, 'bias', dir)).toEqual(bias);
    const summary = inspectModel(reread);
    expect(summary.externalFiles).toEqual(['linear.onnx.data']);
    expect(summary.initializerBytes).toBe(K * M * 4 + M * 4);
    expect(summary.externalBytes).toBe(K * M * 4);
  });

  it('keeps everything inline without a data file and honours sizeThreshold', () => {
    const inline = writeModel(linearModel(), join(dir, 'inline.onnx'));
    expect(inline.externalized).toEqual([]);
    expect(inline.bytes).toBeGreaterThan(K * M * 4);
    const data = ExternalDataFile.create(join(dir, 'all.data'));
    const all = writeModel(linearModel(), join(dir, 'all.onnx'), { externalData: data, sizeThreshold: 0 });
    data.close();
    expect([...all.externalized].sort()).toEqual(['bias', 'weight']);
  });

  it('lets two models share one data file', async () => {
    const data = ExternalDataFile.create(join(dir, 'shared.data'));
    const a = writeModel(linearModel(), join(dir, 'a.onnx'), { externalData: data });
    const b = writeModel(linearModel({ weightName: 'weight_b', scale: 2 }), join(dir, 'b.onnx'), { externalData: data });
    data.close();
    const refA = a.model.graph?.initializer.find((t) => t.name === 'weight')?.externalData;
    const refB = b.model.graph?.initializer.find((t) => t.name === 'weight_b')?.externalData;
    expect(refA?.find((e) => e.key === 'offset')?.value).toBe('0');
    expect(refB?.find((e) => e.key === 'offset')?.value).toBe(String(K * M * 4));
    const [outA, outB] = await Promise.all([runModel(join(dir, 'a.onnx'), { x: input }), runModel(join(dir, 'b.onnx'), { x: input })]);
    const doubled = (outA.y as Float32Tensor).data.map((v) => v * 2);
    expect(maxAbsDiff((outB.y as Float32Tensor).data, doubled)).toBeLessThan(1e-5);
  });

  it('streams weights in with externalInitializer, one tensor at a time, past a 3 GiB offset', async () => {
    const dataPath = join(dir, 'big.data');
    writeFileSync(dataPath, new Uint8Array(1));
    truncateSync(dataPath, 3 * 2 ** 30); // sparse: the first 3 GiB are a hole
    const data = ExternalDataFile.openForAppend(dataPath);
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['batch', K]);
    const wRef = data.append(weight);
    const bRef = data.append({ dtype: 'float32', dims: [M], bytes: new Uint8Array(bias.data.buffer) });
    expect(wRef.offset).toBeGreaterThan(2 ** 31);
    const w = g.externalInitializer('weight', 'float32', [K, M], wRef);
    const b = g.externalInitializer('bias', 'float32', [M], bRef);
    g.output(g.add(g.matMul(x, w), b), { name: 'y' });
    const model = g.build();
    writeModel(model, join(dir, 'big.onnx'), { externalData: data });
    data.close();

    expect(readInitializer(model, 'weight', dir)).toEqual(weight);
    const reference = await runModel(linearModel(), { x: input });
    const out = await runModel(join(dir, 'big.onnx'), { x: input });
    expect(maxAbsDiff((out.y as Float32Tensor).data, (reference.y as Float32Tensor).data)).toBe(0);
  });

  it('refuses a data file that is not where the model would look for it', () => {
    mkdirSync(join(dir, 'elsewhere'));
    const data = ExternalDataFile.create(join(dir, 'elsewhere', 'w.data'));
    expect(() => writeModel(linearModel(), join(dir, 'm.onnx'), { externalData: data })).toThrow(/not at its location "w.data"/);
    data.close();
    const nested = ExternalDataFile.create(join(dir, 'elsewhere', 'n.data'), { location: 'elsewhere/n.data' });
    expect(writeModel(linearModel(), join(dir, 'm.onnx'), { externalData: nested }).externalized).toEqual(['weight']);
    nested.close();
    expect(readInitializer(readModel(join(dir, 'm.onnx')), 'weight', dir)).toEqual(weight);
  });

  it('explains why an initializer cannot be read', () => {
    const data = ExternalDataFile.create(join(dir, 'short.data'));
    writeModel(linearModel(), join(dir, 'short.onnx'), { externalData: data });
    data.close();
    const model = readModel(join(dir, 'short.onnx'));
    expect(() => readInitializer(model, 'nope', dir)).toThrow(/no initializer named "nope"/);
    expect(() => readInitializer(model, 'weight')).toThrow(/pass the model directory/);
    truncateSync(join(dir, 'short.data'), 100);
    expect(() => readInitializer(model, 'weight', dir)).toThrow(/ends before offset 0 \+ 2048 bytes/);
    rmSync(join(dir, 'short.data'));
    expect(() => readInitializer(model, 'weight', dir)).toThrow(/cannot open external data file/);
  });
});
