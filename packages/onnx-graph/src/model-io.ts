import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type TypedTensor, InvalidArgumentError, bytesPerElement, createTensor, typedArrayConstructor } from '@vasink/tensor';
import { ExternalDataError } from './errors.js';
import type { ExternalDataFile } from './external-data.js';
import { externalDataEntries, parseExternalData } from './external-data-ref.js';
import { decodeModel, encodeModel } from './onnx-codec.js';
import {
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  DataLocation,
  dataTypeFromOnnx,
  onnxElementBytes,
} from './onnx-types.js';
import { isExternalTensor, tensorByteLength, tensorBytes, tensorFromProto } from './tensor-proto.js';

/** Protobuf messages cannot exceed 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;
const MAX_READ = 1 << 30;

export interface WriteModelOptions {
  /** Data file that receives inline initializers above `sizeThreshold`; it must sit in (or below) the model's directory. */
  externalData?: ExternalDataFile;
  /** Inline initializers of more than this many bytes move to `externalData` (default 1024). */
  sizeThreshold?: number;
}

export interface WriteModelResult {
  /** Absolute path of the written .onnx file. */
  readonly path: string;
  /** Size of the .onnx file in bytes. */
  readonly bytes: number;
  /** Names of the initializers moved into the external data file by this call. */
  readonly externalized: readonly string[];
  /** The model as written (initializers rewritten to references). */
  readonly model: ModelProto;
}

/**
 * Write a model to `path`. With `externalData`, inline initializers larger
 * than `sizeThreshold` bytes are appended to the data file and replaced by
 * references; the input model is not modified. Several models may share one
 * data file. Throws when the .onnx itself would pass protobuf's 2 GiB limit.
 */
export function writeModel(model: ModelProto, path: string, options: WriteModelOptions = {}): WriteModelResult {
  const target = resolve(path);
  const modelDir = dirname(target);
  const threshold = options.sizeThreshold ?? 1024;
  const data = options.externalData;
  const externalized: string[] = [];
  let written = model;
  if (data !== undefined) {
    if (resolve(modelDir, data.location) !== data.path) {
      throw new ExternalDataError(
        `external data file ${data.path} is not at its location "${data.location}" relative to the model directory ${modelDir}; write the model next to it`,
        { dataPath: data.path, location: data.location, modelDir },
      );
    }
    const move = (t: TensorProto): TensorProto => {
      if (isExternalTensor(t) || t.name === undefined || t.name === '') return t;
      const bytes = inlineBytes(t);
      if (bytes === undefined || bytes.byteLength <= threshold) return t;
      const ref = data.append({ dtype: dataTypeFromOnnx(t.dataType), dims: t.dims, bytes });
      externalized.push(t.name);
      const moved: TensorProto = {
        name: t.name,
        dims: [...t.dims],
        dataType: t.dataType,
        dataLocation: DataLocation.EXTERNAL,
        externalData: externalDataEntries(ref),
      };
      if (t.docString !== undefined) moved.docString = t.docString;
      return moved;
    };
    if (model.graph !== undefined) written = { ...model, graph: mapInitializers(model.graph, move) };
  }
  const bytes = encodeModel(written);
  if (bytes.byteLength > PROTOBUF_LIMIT) {
    throw new InvalidArgumentError(
      `model encodes to ${bytes.byteLength} bytes, over protobuf's 2 GiB limit; pass an externalData file (and a lower sizeThreshold)`,
      { bytes: bytes.byteLength },
    );
  }
  writeFileSync(target, bytes);
  return { path: target, bytes: bytes.byteLength, externalized, model: written };
}

/** Element bytes of an inline tensor vasink can hold, or undefined (strings, doubles, ...). */
function inlineBytes(t: TensorProto): Uint8Array | undefined {
  const elementBytes = onnxElementBytes(t.dataType);
  if (elementBytes === undefined) return undefined;
  if (t.rawData !== undefined) return t.rawData;
  try {
    return tensorBytes(tensorFromProto(t));
  } catch {
    return undefined;
  }
}

/** Copy of a graph with every initializer (subgraphs included) passed through `map`. */
function mapInitializers(graph: GraphProto, map: (t: TensorProto) => TensorProto): GraphProto {
  const mapAttribute = (a: AttributeProto): AttributeProto => {
    if (a.g !== undefined) return { ...a, g: mapInitializers(a.g, map) };
    if (a.graphs !== undefined) return { ...a, graphs: a.graphs.map((g) => mapInitializers(g, map)) };
    return a;
  };
  const mapNode = (n: NodeProto): NodeProto =>
    n.attribute.some((a) => a.g !== undefined || a.graphs !== undefined) ? { ...n, attribute: n.attribute.map(mapAttribute) } : n;
  return { ...graph, initializer: graph.initializer.map(map), node: graph.node.map(mapNode) };
}

/** Read and decode an .onnx file (external data is not loaded). */
export function readModel(path: string): ModelProto {
  return decodeModel(readFileSync(path));
}

/**
 * Load one initializer of the main graph as a tensor, from inline data or from
 * its external file (resolved against `modelDir`, the directory of the .onnx).
 */
export function readInitializer(model: ModelProto, name: string, modelDir?: string): TypedTensor {
  const proto = model.graph?.initializer.find((t) => t.name === name);
  if (proto === undefined) throw new InvalidArgumentError(`model has no initializer named "${name}"`, { name });
  if (!isExternalTensor(proto)) return tensorFromProto(proto);
  if (modelDir === undefined) {
    throw new ExternalDataError(`initializer "${name}" is stored externally; pass the model directory`, { name });
  }
  const info = parseExternalData(proto);
  const dtype = dataTypeFromOnnx(proto.dataType);
  const expected = tensorByteLength(dtype, proto.dims);
  if (info.length !== undefined && info.length !== expected) {
    throw new ExternalDataError(`initializer "${name}": external length ${info.length} bytes, expected ${expected}`, {
      name,
      length: info.length,
      expected,
    });
  }
  const file = resolve(modelDir, info.location);
  const bytes = readAt(file, info.offset, expected, name);
  const Ctor = typedArrayConstructor(dtype);
  return createTensor(dtype, proto.dims, new Ctor(bytes.buffer, 0, expected / bytesPerElement(dtype)));
}

/** Read exactly `length` bytes at `offset` into a fresh (aligned) buffer. */
function readAt(file: string, offset: number, length: number, tensor: string): Uint8Array {
  const out = new Uint8Array(length);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (cause) {
    throw new ExternalDataError(`initializer "${tensor}": cannot open external data file ${file}`, { tensor, file }, cause);
  }
  try {
    let done = 0;
    while (done < length) {
      const read = readSync(fd, out, done, Math.min(MAX_READ, length - done), offset + done);
      if (read === 0) {
        throw new ExternalDataError(
          `initializer "${tensor}": ${file} ends before offset ${offset} + ${length} bytes`,
          { tensor, file, offset, length },
        );
      }
      done += read;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
