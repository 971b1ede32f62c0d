// Encoder and decoder of the onnx.proto messages in onnx-types.ts. Field
// numbers follow onnx/onnx.proto (IR version 8+). Writing follows the schema's
// packing (TensorProto *_data packed; dims, floats, ints unpacked); reading
// accepts both forms for every repeated scalar. Unknown fields are skipped.
import {
  type AttributeProto,
  type GraphProto,
  type Int64,
  type ModelProto,
  type NodeProto,
  type OperatorSetIdProto,
  type StringStringEntryProto,
  type TensorProto,
  type TensorShapeDimension,
  type TensorShapeProto,
  type TypeProto,
  type TypeProtoTensor,
  type ValueInfoProto,
  AttributeType,
} from './onnx-types.js';
import { ProtoReader, ProtoWriter, WireType } from './protobuf.js';

const { VARINT, FIXED64, LENGTH_DELIMITED: LEN, FIXED32 } = WireType;

/** Serialise a model to ONNX protobuf bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return writeModelProto(new ProtoWriter(), model).finish();
}

/**
 * Parse ONNX protobuf bytes. Byte fields (raw_data, STRING attributes) are
 * views into `bytes`, not copies.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return readModelProto(new ProtoReader(bytes));
}

/** Serialise a lone graph (for tests and tools that splice graphs). */
export function encodeGraph(graph: GraphProto): Uint8Array {
  return writeGraph(new ProtoWriter(), graph).finish();
}

/** Parse a lone GraphProto. */
export function decodeGraph(bytes: Uint8Array): GraphProto {
  return readGraph(new ProtoReader(bytes));
}

// ---------------------------------------------------------------- writing

function str(w: ProtoWriter, field: number, value: string | undefined): void {
  if (value !== undefined) w.tag(field, LEN).string(value);
}

function i64(w: ProtoWriter, field: number, value: Int64 | undefined): void {
  if (value !== undefined) w.tag(field, VARINT).int64(value);
}

function msg<T>(w: ProtoWriter, field: number, value: T | undefined, write: (w: ProtoWriter, value: T) => ProtoWriter): void {
  if (value !== undefined) w.tag(field, LEN).message(write(new ProtoWriter(), value));
}

function msgs<T>(w: ProtoWriter, field: number, values: readonly T[] | undefined, write: (w: ProtoWriter, value: T) => ProtoWriter): void {
  if (values !== undefined) for (const value of values) msg(w, field, value, write);
}

function packed<T>(w: ProtoWriter, field: number, values: readonly T[] | undefined, writeOne: (w: ProtoWriter, value: T) => void): void {
  if (values === undefined || values.length === 0) return;
  const body = new ProtoWriter();
  for (const value of values) writeOne(body, value);
  w.tag(field, LEN).message(body);
}

function writeModelProto(w: ProtoWriter, m: ModelProto): ProtoWriter {
  i64(w, 1, m.irVersion);
  str(w, 2, m.producerName);
  str(w, 3, m.producerVersion);
  str(w, 4, m.domain);
  i64(w, 5, m.modelVersion);
  str(w, 6, m.docString);
  msg(w, 7, m.graph, writeGraph);
  msgs(w, 8, m.opsetImport, writeOpset);
  msgs(w, 14, m.metadataProps, writeEntry);
  return w;
}

function writeOpset(w: ProtoWriter, o: OperatorSetIdProto): ProtoWriter {
  str(w, 1, o.domain);
  i64(w, 2, o.version);
  return w;
}

function writeEntry(w: ProtoWriter, e: StringStringEntryProto): ProtoWriter {
  str(w, 1, e.key);
  str(w, 2, e.value);
  return w;
}

function writeGraph(w: ProtoWriter, g: GraphProto): ProtoWriter {
  msgs(w, 1, g.node, writeNode);
  str(w, 2, g.name);
  msgs(w, 5, g.initializer, writeTensor);
  str(w, 10, g.docString);
  msgs(w, 11, g.input, writeValueInfo);
  msgs(w, 12, g.output, writeValueInfo);
  msgs(w, 13, g.valueInfo, writeValueInfo);
  return w;
}

function writeNode(w: ProtoWriter, n: NodeProto): ProtoWriter {
  for (const input of n.input) w.tag(1, LEN).string(input);
  for (const output of n.output) w.tag(2, LEN).string(output);
  str(w, 3, n.name);
  str(w, 4, n.opType);
  msgs(w, 5, n.attribute, writeAttribute);
  str(w, 6, n.docString);
  str(w, 7, n.domain);
  return w;
}

function writeAttribute(w: ProtoWriter, a: AttributeProto): ProtoWriter {
  str(w, 1, a.name);
  if (a.f !== undefined) w.tag(2, FIXED32).float(a.f);
  i64(w, 3, a.i);
  if (a.s !== undefined) w.tag(4, LEN).bytes(a.s);
  msg(w, 5, a.t, writeTensor);
  msg(w, 6, a.g, writeGraph);
  if (a.floats !== undefined) for (const f of a.floats) w.tag(7, FIXED32).float(f);
  if (a.ints !== undefined) for (const i of a.ints) w.tag(8, VARINT).int64(i);
  if (a.strings !== undefined) for (const s of a.strings) w.tag(9, LEN).bytes(s);
  msgs(w, 10, a.tensors, writeTensor);
  msgs(w, 11, a.graphs, writeGraph);
  str(w, 13, a.docString);
  w.tag(20, VARINT).int32(a.type);
  str(w, 21, a.refAttrName);
  return w;
}

function writeTensor(w: ProtoWriter, t: TensorProto): ProtoWriter {
  for (const d of t.dims) w.tag(1, VARINT).int64(d);
  w.tag(2, VARINT).int32(t.dataType);
  packed(w, 4, t.floatData, (b, v) => b.float(v));
  packed(w, 5, t.int32Data, (b, v) => b.int32(v));
  if (t.stringData !== undefined) for (const s of t.stringData) w.tag(6, LEN).bytes(s);
  packed(w, 7, t.int64Data, (b, v) => b.int64(v));
  str(w, 8, t.name);
  if (t.rawData !== undefined) w.tag(9, LEN).bytes(t.rawData);
  packed(w, 10, t.doubleData, (b, v) => b.double(v));
  packed(w, 11, t.uint64Data, (b, v) => b.int64(v));
  str(w, 12, t.docString);
  msgs(w, 13, t.externalData, writeEntry);
  if (t.dataLocation !== undefined) w.tag(14, VARINT).int32(t.dataLocation);
  return w;
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoProto): ProtoWriter {
  str(w, 1, v.name);
  msg(w, 2, v.type, writeType);
  str(w, 3, v.docString);
  return w;
}

function writeType(w: ProtoWriter, t: TypeProto): ProtoWriter {
  msg(w, 1, t.tensorType, (tw, tensor) => {
    tw.tag(1, VARINT).int32(tensor.elemType);
    msg(tw, 2, tensor.shape, writeShape);
    return tw;
  });
  str(w, 6, t.denotation);
  return w;
}

function writeShape(w: ProtoWriter, s: TensorShapeProto): ProtoWriter {
  msgs(w, 1, s.dim, (dw, d: TensorShapeDimension) => {
    i64(dw, 1, d.dimValue);
    str(dw, 2, d.dimParam);
    str(dw, 3, d.denotation);
    return dw;
  });
  return w;
}

// ---------------------------------------------------------------- reading

/** Loop over the fields of one message. */
function fields(r: ProtoReader, onField: (field: number, wireType: number) => boolean): void {
  while (!r.done) {
    const [field, wireType] = r.tag();
    if (!onField(field, wireType)) r.skip(wireType);
  }
}

function readModelProto(r: ProtoReader): ModelProto {
  const m: ModelProto = { irVersion: 0, opsetImport: [], metadataProps: [] };
  fields(r, (field, wt) => {
    switch (field) {
      case 1:
        r.expectWireType(field, wt, VARINT);
        m.irVersion = r.safeInt64('ir_version');
        return true;
      case 2:
        r.expectWireType(field, wt, LEN);
        m.producerName = r.string();
        return true;
      case 3:
        r.expectWireType(field, wt, LEN);
        m.producerVersion = r.string();
        return true;
      case 4:
        r.expectWireType(field, wt, LEN);
        m.domain = r.string();
        return true;
      case 5:
        r.expectWireType(field, wt, VARINT);
        m.modelVersion = r.safeInt64('model_version');
        return true;
      case 6:
        r.expectWireType(field, wt, LEN);
        m.docString = r.string();
        return true;
      case 7:
        r.expectWireType(field, wt, LEN);
        m.graph = readGraph(r.message());
        return true;
      case 8:
        r.expectWireType(field, wt, LEN);
        m.opsetImport.push(readOpset(r.message()));
        return true;
      case 14:
        r.expectWireType(field, wt, LEN);
        m.metadataProps.push(readEntry(r.message()));
        return true;
      default:
        return false;
    }
  });
  return m;
}

function readOpset(r: ProtoReader): OperatorSetIdProto {
  const o: OperatorSetIdProto = { domain: '', version: 0 };
  fields(r, (field, wt) => {
    if (field === 1 && wt === LEN) o.domain = r.string();
    else if (field === 2 && wt === VARINT) o.version = r.safeInt64('opset version');
    else return false;
    return true;
  });
  return o;
}

function readEntry(r: ProtoReader): StringStringEntryProto {
  const e: StringStringEntryProto = { key: '', value: '' };
  fields(r, (field, wt) => {
    if (field === 1 && wt === LEN) e.key = r.string();
    else if (field === 2 && wt === LEN) e.value = r.string();
    else return false;
    return true;
  });
  return e;
}

function readGraph(r: ProtoReader): GraphProto {
  const g: GraphProto = { name: '', node: [], initializer: [], input: [], output: [], valueInfo: [] };
  fields(r, (field, wt) => {
    if (wt !== LEN) return false;
    switch (field) {
      case 1:
        g.node.push(readNode(r.message()));
        return true;
      case 2:
        g.name = r.string();
        return true;
      case 5:
        g.initializer.push(readTensor(r.message()));
        return true;
      case 10:
        g.docString = r.string();
        return true;
      case 11:
        g.input.push(readValueInfo(r.message()));
        return true;
      case 12:
        g.output.push(readValueInfo(r.message()));
        return true;
      case 13:
        g.valueInfo.push(readValueInfo(r.message()));
        return true;
      default:
        return false;
    }
  });
  return g;
}

function readNode(r: ProtoReader): NodeProto {
  const n: NodeProto = { input: [], output: [], opType: '', attribute: [] };
  fields(r, (field, wt) => {
    if (wt !== LEN) return false;
    switch (field) {
      case 1:
        n.input.push(r.string());
        return true;
      case 2:
        n.output.push(r.string());
        return true;
      case 3:
        n.name = r.string();
        return true;
      case 4:
        n.opType = r.string();
        return true;
      case 5:
        n.attribute.push(readAttribute(r.message()));
        return true;
      case 6:
        n.docString = r.string();
        return true;
      case 7:
        n.domain = r.string();
        return true;
      default:
        return false;
    }
  });
  return n;
}

function readAttribute(r: ProtoReader): AttributeProto {
  const a: AttributeProto = { name: '', type: AttributeType.UNDEFINED };
  fields(r, (field, wt) => {
    switch (field) {
      case 1:
        r.expectWireType(field, wt, LEN);
        a.name = r.string();
        return true;
      case 2:
        r.expectWireType(field, wt, FIXED32);
        a.f = r.float();
        return true;
      case 3:
        r.expectWireType(field, wt, VARINT);
        a.i = r.int64();
        return true;
      case 4:
        r.expectWireType(field, wt, LEN);
        a.s = r.bytes();
        return true;
      case 5:
        r.expectWireType(field, wt, LEN);
        a.t = readTensor(r.message());
        return true;
      case 6:
        r.expectWireType(field, wt, LEN);
        a.g = readGraph(r.message());
        return true;
      case 7:
        r.repeated(wt, FIXED32, () => r.float(), (a.floats ??= []), field);
        return true;
      case 8:
        r.repeated(wt, VARINT, () => r.int64(), (a.ints ??= []), field);
        return true;
      case 9:
        r.expectWireType(field, wt, LEN);
        (a.strings ??= []).push(r.bytes());
        return true;
      case 10:
        r.expectWireType(field, wt, LEN);
        (a.tensors ??= []).push(readTensor(r.message()));
        return true;
      case 11:
        r.expectWireType(field, wt, LEN);
        (a.graphs ??= []).push(readGraph(r.message()));
        return true;
      case 13:
        r.expectWireType(field, wt, LEN);
        a.docString = r.string();
        return true;
      case 20:
        r.expectWireType(field, wt, VARINT);
        a.type = r.int32();
        return true;
      case 21:
        r.expectWireType(field, wt, LEN);
        a.refAttrName = r.string();
        return true;
      default:
        return false;
    }
  });
  // An empty list is not on the wire; restore it so the attribute reads back as written.
  switch (a.type) {
    case AttributeType.FLOATS:
      a.floats ??= [];
      break;
    case AttributeType.INTS:
      a.ints ??= [];
      break;
    case AttributeType.STRINGS:
      a.strings ??= [];
      break;
    case AttributeType.TENSORS:
      a.tensors ??= [];
      break;
    case AttributeType.GRAPHS:
      a.graphs ??= [];
      break;
  }
  return a;
}

function readTensor(r: ProtoReader): TensorProto {
  const t: TensorProto = { dims: [], dataType: 0 };
  fields(r, (field, wt) => {
    switch (field) {
      case 1:
        r.repeated(wt, VARINT, () => r.safeInt64('tensor dim'), t.dims, field);
        return true;
      case 2:
        r.expectWireType(field, wt, VARINT);
        t.dataType = r.int32();
        return true;
      case 4:
        r.repeated(wt, FIXED32, () => r.float(), (t.floatData ??= []), field);
        return true;
      case 5:
        r.repeated(wt, VARINT, () => r.int32(), (t.int32Data ??= []), field);
        return true;
      case 6:
        r.expectWireType(field, wt, LEN);
        (t.stringData ??= []).push(r.bytes());
        return true;
      case 7:
        r.repeated(wt, VARINT, () => r.int64(), (t.int64Data ??= []), field);
        return true;
      case 8:
        r.expectWireType(field, wt, LEN);
        t.name = r.string();
        return true;
      case 9:
        r.expectWireType(field, wt, LEN);
        t.rawData = r.bytes();
        return true;
      case 10:
        r.repeated(wt, FIXED64, () => r.double(), (t.doubleData ??= []), field);
        return true;
      case 11:
        r.repeated(wt, VARINT, () => r.uint64(), (t.uint64Data ??= []), field);
        return true;
      case 12:
        r.expectWireType(field, wt, LEN);
        t.docString = r.string();
        return true;
      case 13:
        r.expectWireType(field, wt, LEN);
        (t.externalData ??= []).push(readEntry(r.message()));
        return true;
      case 14:
        r.expectWireType(field, wt, VARINT);
        t.dataLocation = r.int32();
        return true;
      default:
        return false;
    }
  });
  return t;
}

function readValueInfo(r: ProtoReader): ValueInfoProto {
  const v: ValueInfoProto = { name: '' };
  fields(r, (field, wt) => {
    if (wt !== LEN) return false;
    if (field === 1) v.name = r.string();
    else if (field === 2) v.type = readType(r.message());
    else if (field === 3) v.docString = r.string();
    else return false;
    return true;
  });
  return v;
}

function readType(r: ProtoReader): TypeProto {
  const t: TypeProto = {};
  fields(r, (field, wt) => {
    if (field === 1 && wt === LEN) {
      const tr = r.message();
      const tensor: TypeProtoTensor = { elemType: 0 };
      fields(tr, (f, w) => {
        if (f === 1 && w === VARINT) tensor.elemType = tr.int32();
        else if (f === 2 && w === LEN) tensor.shape = readShape(tr.message());
        else return false;
        return true;
      });
      t.tensorType = tensor;
    } else if (field === 6 && wt === LEN) t.denotation = r.string();
    else return false;
    return true;
  });
  return t;
}

function readShape(r: ProtoReader): TensorShapeProto {
  const s: TensorShapeProto = { dim: [] };
  fields(r, (field, wt) => {
    if (field !== 1 || wt !== LEN) return false;
    const dr = r.message();
    const d: TensorShapeDimension = {};
    fields(dr, (f, w) => {
      if (f === 1 && w === VARINT) {
        const value = dr.int64();
        // Negative or huge dim_value is malformed but seen in the wild; keep it readable.
        d.dimValue = typeof value === 'bigint' ? Number(value) : value;
      } else if (f === 2 && w === LEN) d.dimParam = dr.string();
      else if (f === 3 && w === LEN) d.denotation = dr.string();
      else return false;
      return true;
    });
    s.dim.push(d);
    return true;
  });
  return s;
}
