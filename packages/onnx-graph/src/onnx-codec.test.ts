import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from './onnx-codec.js';
import { ProtobufDecodeError } from './errors.js';
import { type GraphProto, type ModelProto, AttributeType, DataLocation, TensorDataType } from './onnx-types.js';
import { ProtoWriter, WireType } from './protobuf.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function subgraph(): GraphProto {
  return {
    name: 'body',
    node: [{ input: ['outer_x'], output: ['body_y'], name: 'body/Neg', opType: 'Neg', attribute: [] }],
    initializer: [{ name: 'body_c', dims: [1], dataType: TensorDataType.FLOAT, floatData: [2.5] }],
    input: [],
    output: [{ name: 'body_y', type: { tensorType: { elemType: TensorDataType.FLOAT } } }],
    valueInfo: [],
  };
}

function richModel(): ModelProto {
  return {
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    producerName: 'vasink-test',
    producerVersion: '0.1.0',
    domain: 'dev.vasink',
    modelVersion: 3,
    docString: 'round trip',
    metadataProps: [{ key: 'k', value: 'v' }],
    graph: {
      name: 'main',
      docString: 'graph doc',
      node: [
        {
          input: ['x', '', 'w'],
          output: ['y'],
          name: 'n0',
          opType: 'Custom',
          domain: 'com.microsoft',
          docString: 'node doc',
          attribute: [
            { name: 'axis', type: AttributeType.INT, i: -1 },
            { name: 'huge', type: AttributeType.INT, i: -(2n ** 63n) },
            { name: 'max', type: AttributeType.INT, i: 2n ** 63n - 1n },
            { name: 'alpha', type: AttributeType.FLOAT, f: 0.125 },
            { name: 'negzero', type: AttributeType.FLOAT, f: -0 },
            { name: 'ints', type: AttributeType.INTS, ints: [-1, 0, 2 ** 40, -(2 ** 50)] },
            { name: 'floats', type: AttributeType.FLOATS, floats: [1.5, -2.25, Number.POSITIVE_INFINITY] },
            { name: 'none', type: AttributeType.INTS, ints: [] },
            { name: 'mode', type: AttributeType.STRING, s: utf8('constant') },
            { name: 'names', type: AttributeType.STRINGS, strings: [utf8('a'), utf8('ß')] },
            { name: 'value', type: AttributeType.TENSOR, t: { dims: [2], dataType: TensorDataType.INT64, int64Data: [-5, 2n ** 62n] } },
            { name: 'body', type: AttributeType.GRAPH, g: subgraph() },
            { name: 'bodies', type: AttributeType.GRAPHS, graphs: [subgraph(), subgraph()] },
            { name: 'ref', type: AttributeType.FLOAT, refAttrName: 'parent_alpha', docString: 'attr doc' },
          ],
        },
      ],
      initializer: [
        { name: 'w', dims: [2, 2], dataType: TensorDataType.FLOAT, rawData: Uint8Array.of(0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64) },
        { name: 'f', dims: [3], dataType: TensorDataType.FLOAT, floatData: [1, -2, 3.5] },
        { name: 'i32', dims: [3], dataType: TensorDataType.INT32, int32Data: [-7, 0, 2 ** 31 - 1] },
        { name: 'i64', dims: [2], dataType: TensorDataType.INT64, int64Data: [-(2 ** 40), 3] },
        { name: 'f64', dims: [1], dataType: TensorDataType.DOUBLE, doubleData: [Math.PI] },
        { name: 'u64', dims: [2], dataType: TensorDataType.UINT64, uint64Data: [1, 2n ** 64n - 1n] },
        { name: 'str', dims: [1], dataType: TensorDataType.STRING, stringData: [utf8('hello')] },
        { name: 'empty', dims: [0, 4], dataType: TensorDataType.FLOAT, rawData: new Uint8Array(0) },
        {
          name: 'ext',
          dims: [1024, 1024],
          dataType: TensorDataType.FLOAT16,
          dataLocation: DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: 'weights.bin' },
            { key: 'offset', value: '4294967360' },
            { key: 'length', value: '2097152' },
          ],
          docString: 'tensor doc',
        },
      ],
      input: [
        {
          name: 'x',
          type: {
            tensorType: { elemType: TensorDataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 2 }, {}] } },
            denotation: 'TENSOR',
          },
          docString: 'input doc',
        },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: TensorDataType.FLOAT } } }],
      valueInfo: [{ name: 'unknown_rank' }],
    },
  };
}

describe('ONNX protobuf codec', () => {
  it('round-trips every field it knows, byte for byte', () => {
    const model = richModel();
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);
    expect(decoded).toEqual(model);
    expect(encodeModel(decoded)).toEqual(bytes);
  });

  it('keeps negative int64 attributes as ten-byte varints', () => {
    const node = decodeModel(encodeModel(richModel())).graph?.node[0];
    const attr = (name: string) => node?.attribute.find((a) => a.name === name);
    expect(attr('axis')?.i).toBe(-1);
    expect(attr('huge')?.i).toBe(-(2n ** 63n));
    expect(attr('max')?.i).toBe(2n ** 63n - 1n);
    expect(attr('ints')?.ints).toEqual([-1, 0, 2 ** 40, -(2 ** 50)]);
    expect(Object.is(attr('negzero')?.f, -0)).toBe(true);
  });

  it('decodes repeated scalars whether packed or not, and skips unknown fields', () => {
    // TensorProto with dims packed, float_data unpacked, int64 packed + unpacked mixed, and a stray field 99.
    const tensor = new ProtoWriter();
    tensor.tag(1, WireType.LENGTH_DELIMITED).message(new ProtoWriter().int64(2).int64(3));
    tensor.tag(2, WireType.VARINT).int32(TensorDataType.FLOAT);
    for (const v of [1, 2, 3, 4, 5, 6]) tensor.tag(4, WireType.FIXED32).float(v);
    tensor.tag(99, WireType.VARINT).uint32(1);
    tensor.tag(8, WireType.LENGTH_DELIMITED).string('t');
    const attr = new ProtoWriter();
    attr.tag(1, WireType.LENGTH_DELIMITED).string('perm');
    attr.tag(8, WireType.LENGTH_DELIMITED).message(new ProtoWriter().int64(1).int64(-1));
    attr.tag(8, WireType.VARINT).int64(0);
    attr.tag(7, WireType.LENGTH_DELIMITED).message(new ProtoWriter().float(0.5).float(1.5));
    attr.tag(20, WireType.VARINT).int32(AttributeType.INTS);
    const node = new ProtoWriter();
    node.tag(4, WireType.LENGTH_DELIMITED).string('Transpose');
    node.tag(5, WireType.LENGTH_DELIMITED).message(attr);
    node.tag(42, WireType.FIXED64).double(1);
    const graph = new ProtoWriter();
    graph.tag(1, WireType.LENGTH_DELIMITED).message(node);
    graph.tag(5, WireType.LENGTH_DELIMITED).message(tensor);
    graph.tag(16, WireType.LENGTH_DELIMITED).string('metadata we do not model');
    const model = new ProtoWriter();
    model.tag(1, WireType.VARINT).int64(8);
    model.tag(7, WireType.LENGTH_DELIMITED).message(graph);
    model.tag(25, WireType.LENGTH_DELIMITED).message(new ProtoWriter());

    const decoded = decodeModel(model.finish());
    expect(decoded.graph?.initializer[0]).toEqual({ name: 't', dims: [2, 3], dataType: TensorDataType.FLOAT, floatData: [1, 2, 3, 4, 5, 6] });
    expect(decoded.graph?.node[0]?.attribute[0]).toEqual({ name: 'perm', type: AttributeType.INTS, ints: [1, -1, 0], floats: [0.5, 1.5] });
  });

  it('round-trips random tensors and attributes (property)', () => {
    const int64 = fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) }));
    const float32 = fc.float().filter((v) => !Number.isNaN(v));
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 2 ** 40 }), { maxLength: 5 }),
        fc.array(float32, { minLength: 1, maxLength: 20 }),
        fc.array(int64, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 20 }),
        fc.string(),
        (dims, floats, ints, int32s, name) => {
          const model: ModelProto = {
            irVersion: 8,
            opsetImport: [{ domain: '', version: 17 }],
            metadataProps: [],
            graph: {
              name,
              node: [
                {
                  input: [name],
                  output: ['o'],
                  opType: 'Op',
                  attribute: [
                    { name: 'floats', type: AttributeType.FLOATS, floats },
                    { name: 'ints', type: AttributeType.INTS, ints },
                    { name: 'i', type: AttributeType.INT, i: ints[0] as number | bigint },
                  ],
                },
              ],
              initializer: [
                { name: 'f', dims, dataType: TensorDataType.FLOAT, floatData: floats },
                { name: 'l', dims, dataType: TensorDataType.INT64, int64Data: ints },
                { name: 'i', dims, dataType: TensorDataType.INT32, int32Data: int32s },
              ],
              input: [],
              output: [],
              valueInfo: [],
            },
          };
          expect(decodeModel(encodeModel(model))).toEqual(model);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects bytes that are not a model with a decode error', () => {
    expect(() => decodeModel(Uint8Array.of(0x3a, 0x10, 0x01))).toThrow(ProtobufDecodeError);
    // field 1 (ir_version) sent as length-delimited
    expect(() => decodeModel(Uint8Array.of(0x0a, 0x00))).toThrow(/wire type 2, expected 0/);
  });
});

describe('compatibility with onnx (python, protobuf C++)', () => {
  it('decodes a model onnx serialised and re-encodes it byte for byte', () => {
    // Written by __fixtures__/py-linear.py: float_data, raw_data, int64_data, a float attribute, an ints attribute.
    const bytes = readFileSync(fileURLToPath(new URL('./__fixtures__/py-linear.onnx', import.meta.url)));
    const model = decodeModel(bytes);
    expect(model.producerName).toBe('python-onnx');
    expect(model.graph?.initializer.map((t) => t.name)).toEqual(['w', 'b', 'shape']);
    expect(model.graph?.initializer[0]?.floatData).toEqual([1, 2, 3, 4, 5, 6]);
    expect(model.graph?.initializer[2]?.int64Data).toEqual([-1, 2]);
    expect(model.graph?.node[3]?.attribute[0]).toEqual({ name: 'alpha', type: AttributeType.FLOAT, f: 0.25 });
    expect(model.graph?.node[4]?.attribute[0]).toEqual({ name: 'perm', type: AttributeType.INTS, ints: [1, 0] });
    expect(model.graph?.input[0]?.type?.tensorType?.shape?.dim).toEqual([{ dimParam: 'N' }, { dimValue: 3 }]);
    expect(Buffer.compare(Buffer.from(encodeModel(model)), bytes)).toBe(0);
  });
});
