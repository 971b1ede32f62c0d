export { attributeValue, toAttributeProto } from './attribute.js';
export type { AttributeValue, DecodedAttributeValue } from './attribute.js';
export { assertValidModel, checkModel } from './check-model.js';
export type { CheckModelOptions, ModelProblem, ModelRule } from './check-model.js';
export { ExternalDataError, InvalidModelError, ProtobufDecodeError } from './errors.js';
export { ExternalDataFile } from './external-data.js';
export type { ExternalDataFileOptions, RawTensorBytes } from './external-data.js';
export { alignOffset, parseExternalData } from './external-data-ref.js';
export type { ExternalDataInfo, ExternalDataRef } from './external-data-ref.js';
export { GraphBuilder } from './graph-builder.js';
export type { BuildOptions, DimSpec, GraphBuilderOptions, OpOptions, Operand, OutputOptions, Value } from './graph-builder.js';
export { inspectModel } from './inspect-model.js';
export type { ModelSummary, ValueSummary } from './inspect-model.js';
export { readInitializer, readModel, writeModel } from './model-io.js';
export type { WriteModelOptions, WriteModelResult } from './model-io.js';
export { decodeGraph, decodeModel, encodeGraph, encodeModel } from './onnx-codec.js';
export {
  AttributeType,
  DataLocation,
  TensorDataType,
  dataTypeFromOnnx,
  onnxDataType,
  onnxDataTypeName,
  onnxElementBytes,
} from './onnx-types.js';
export type {
  AttributeProto,
  GraphProto,
  Int64,
  ModelProto,
  NodeProto,
  OperatorSetIdProto,
  StringStringEntryProto,
  TensorProto,
  TensorShapeDimension,
  TensorShapeProto,
  TypeProto,
  TypeProtoTensor,
  ValueInfoProto,
} from './onnx-types.js';
export { isExternalTensor, tensorByteLength, tensorBytes, tensorFromBytes, tensorFromProto, tensorToProto } from './tensor-proto.js';
