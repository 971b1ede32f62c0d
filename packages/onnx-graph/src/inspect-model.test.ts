import { createTensor } from '@vasink/tensor';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './graph-builder.js';
import { inspectModel } from './inspect-model.js';
import { decodeModel, encodeModel } from './onnx-codec.js';

describe('inspectModel', () => {
  it('summarises interface, opsets, ops, weights and external files', () => {
    const g = new GraphBuilder({ opset: 18 });
    const x = g.input('x', 'float32', ['batch', 'seq', 8]);
    const mask = g.input('mask', 'int64', ['batch', 'seq']);
    const w = g.initializer('w', createTensor('float32', [8, 8]));
    const e = g.externalInitializer('e', 'float16', [4, 8], { location: 'weights.bin', offset: 4096, length: 64 });
    const h = g.matMul(g.add(x, g.cast(g.unsqueeze(mask, [-1]), 'float32')), w);
    const gelu = g.op('Gelu', [h], {}, { domain: 'com.microsoft', dtype: 'float32' });
    g.output(g.reduceMean(gelu, [-1]), { name: 'pooled', dims: ['batch', 'seq', 1] });
    g.output(e, { name: 'table', dims: [4, 8] });
    const model = decodeModel(encodeModel(g.build({ producerName: 'test', metadata: { purpose: 'inspect' } })));
    const summary = inspectModel(model);
    expect(summary).toMatchObject({
      irVersion: 8,
      producerName: 'test',
      opsets: [
        { domain: '', version: 18 },
        { domain: 'com.microsoft', version: 1 },
      ],
      inputs: [
        { name: 'x', dtype: 'float32', dims: ['batch', 'seq', 8] },
        { name: 'mask', dtype: 'int64', dims: ['batch', 'seq'] },
      ],
      outputs: [
        { name: 'pooled', dtype: 'float32', dims: ['batch', 'seq', 1] },
        { name: 'table', dtype: 'float16', dims: [4, 8] },
      ],
      externalFiles: ['weights.bin'],
      externalBytes: 64,
      metadata: { purpose: 'inspect' },
    });
    expect(summary.opTypeCounts).toEqual({
      Unsqueeze: 1,
      Cast: 1,
      Add: 1,
      MatMul: 1,
      'com.microsoft::Gelu': 1,
      ReduceMean: 1,
      // 'pooled' is ReduceMean's own output (renamed); 'table' renames an initializer: an Identity.
      Identity: 1,
    });
    expect(summary.nodeCount).toBe(7);
    // w (256 B), e (64 B) and the axes [-1] shared by Unsqueeze and ReduceMean (8 B)
    expect(summary.initializerCount).toBe(3);
    expect(summary.initializerBytes).toBe(256 + 64 + 8);
    expect(summary.initializerBytesByDtype).toEqual({ float32: 256, float16: 64, int64: 8 });
  });
});
