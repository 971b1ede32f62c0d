// Plain TypeScript shapes of the onnx.proto messages vasink reads and writes.
// Field names are the proto field names in camelCase (`graph.node`,
// `graph.initializer`, `node.opType`), as in onnx's Python API and protobufjs.
// Repeated fields are always arrays; the value fields of TensorProto and
// AttributeProto are optional because their presence carries meaning.
import { type DataType, DTypeError } from '@vasink/tensor';

/**
 * A protobuf int64. Decoding gives a `number` when the value is a safe
 * integer and a `bigint` otherwise (e.g. INT64_MAX used as "to the end").
 */
export type Int64 = number | bigint;

/** onnx.proto `TensorProto.DataType` element type codes. */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

/** onnx.proto `AttributeProto.AttributeType` codes. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;
export type AttributeType = (typeof AttributeType)[keyof typeof AttributeType];

/** onnx.proto `TensorProto.DataLocation`. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;
export type DataLocation = (typeof DataLocation)[keyof typeof DataLocation];

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface OperatorSetIdProto {
  /** '' (or 'ai.onnx') is the default ONNX domain. */
  domain: string;
  version: number;
}

export interface TensorProto {
  name?: string;
  dims: number[];
  /** A {@link TensorDataType} code (kept as a plain number so unknown codes survive a round trip). */
  dataType: number;
  /** Little-endian element bytes. */
  rawData?: Uint8Array;
  floatData?: number[];
  /** int32, int16, int8, uint16, uint8, bool; float16/bfloat16 as their bit patterns. */
  int32Data?: number[];
  int64Data?: Int64[];
  doubleData?: number[];
  uint64Data?: Int64[];
  stringData?: Uint8Array[];
  /** `location`, `offset`, `length` (and optionally `checksum`) when data lives in a file. */
  externalData?: StringStringEntryProto[];
  dataLocation?: number;
  docString?: string;
}

export interface TensorShapeDimension {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim: TensorShapeDimension[];
}

export interface TypeProtoTensor {
  elemType: number;
  /** Absent means unknown rank. */
  shape?: TensorShapeProto;
}

export interface TypeProto {
  tensorType?: TypeProtoTensor;
  denotation?: string;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
  docString?: string;
}

export interface AttributeProto {
  name: string;
  /** An {@link AttributeType} code. */
  type: number;
  f?: number;
  i?: Int64;
  /** STRING attributes are bytes on the wire; UTF-8 text in practice. */
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  refAttrName?: string;
  docString?: string;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute: AttributeProto[];
  docString?: string;
}

export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  opsetImport: OperatorSetIdProto[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphProto;
  metadataProps: StringStringEntryProto[];
}

const TO_ONNX: { [T in DataType]: number } = {
  float32: TensorDataType.FLOAT,
  float16: TensorDataType.FLOAT16,
  bfloat16: TensorDataType.BFLOAT16,
  int64: TensorDataType.INT64,
  int32: TensorDataType.INT32,
  uint8: TensorDataType.UINT8,
  bool: TensorDataType.BOOL,
};

const FROM_ONNX = new Map<number, DataType>(Object.entries(TO_ONNX).map(([dtype, code]) => [code, dtype as DataType]));

const ONNX_NAMES = new Map<number, string>(
  Object.entries(TensorDataType).map(([name, code]) => [code, name.toLowerCase()]),
);

const ELEMENT_BYTES = new Map<number, number>([
  [TensorDataType.FLOAT, 4],
  [TensorDataType.UINT8, 1],
  [TensorDataType.INT8, 1],
  [TensorDataType.UINT16, 2],
  [TensorDataType.INT16, 2],
  [TensorDataType.INT32, 4],
  [TensorDataType.INT64, 8],
  [TensorDataType.BOOL, 1],
  [TensorDataType.FLOAT16, 2],
  [TensorDataType.DOUBLE, 8],
  [TensorDataType.UINT32, 4],
  [TensorDataType.UINT64, 8],
  [TensorDataType.COMPLEX64, 8],
  [TensorDataType.COMPLEX128, 16],
  [TensorDataType.BFLOAT16, 2],
]);

/** ONNX element type code of a vasink dtype (float32 → 1, int64 → 7, ...). */
export function onnxDataType(dtype: DataType): number {
  const code = TO_ONNX[dtype];
  if (code === undefined) throw new DTypeError(`unknown dtype ${JSON.stringify(dtype)}`, { dtype });
  return code;
}

/** vasink dtype of an ONNX element type code; throws DTypeError for types vasink tensors cannot hold. */
export function dataTypeFromOnnx(elemType: number): DataType {
  const dtype = FROM_ONNX.get(elemType);
  if (dtype === undefined) {
    throw new DTypeError(`ONNX element type ${onnxDataTypeName(elemType)} (${elemType}) has no vasink dtype`, { elemType });
  }
  return dtype;
}

/**
 * Readable name of an ONNX element type: the vasink dtype where one exists
 * ('float32', 'int64', ...), else onnx's own name in lower case ('double', 'int8').
 */
export function onnxDataTypeName(elemType: number): string {
  return FROM_ONNX.get(elemType) ?? ONNX_NAMES.get(elemType) ?? `unknown(${elemType})`;
}

/** Bytes per element of an ONNX element type, or undefined for strings and unknown codes. */
export function onnxElementBytes(elemType: number): number | undefined {
  return ELEMENT_BYTES.get(elemType);
}
