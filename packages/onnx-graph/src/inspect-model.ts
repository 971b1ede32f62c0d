import { parseExternalData } from './external-data-ref.js';
import {
  type GraphProto,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
  DataLocation,
  onnxDataTypeName,
  onnxElementBytes,
} from './onnx-types.js';

/** A graph input or output: element type name and dims (number, symbolic name, or null when unknown). */
export interface ValueSummary {
  readonly name: string;
  /** vasink dtype name where one exists ('float32'), else onnx's lower-case name ('double'); 'unknown' when untyped. */
  readonly dtype: string;
  /** null when the rank is unknown. */
  readonly dims: (number | string | null)[] | null;
}

export interface ModelSummary {
  readonly irVersion: number;
  readonly producerName?: string;
  readonly opsets: { domain: string; version: number }[];
  readonly inputs: ValueSummary[];
  readonly outputs: ValueSummary[];
  /** Nodes of the main graph and all subgraphs. */
  readonly nodeCount: number;
  /** Nodes per op type; ops outside the default domain are keyed `domain::OpType`. */
  readonly opTypeCounts: Record<string, number>;
  /** Initializers of the main graph and subgraphs (inputs that are also initializers included). */
  readonly initializerCount: number;
  /** Their total data size in bytes, inline and external. */
  readonly initializerBytes: number;
  /** Bytes of initializer data stored in external files. */
  readonly externalBytes: number;
  /** Initializer bytes per element type (vasink dtype name where one exists, e.g. `float16`, `uint8`). */
  readonly initializerBytesByDtype: Record<string, number>;
  /** External data file locations referenced, in first-use order. */
  readonly externalFiles: string[];
  readonly metadata: Record<string, string>;
}

function summarizeValue(info: ValueInfoProto): ValueSummary {
  const tensor = info.type?.tensorType;
  const dims = tensor?.shape === undefined ? null : tensor.shape.dim.map((d) => d.dimValue ?? d.dimParam ?? null);
  return { name: info.name, dtype: tensor === undefined ? 'unknown' : onnxDataTypeName(tensor.elemType), dims };
}

function dataBytes(t: TensorProto): number {
  if (t.dataLocation === DataLocation.EXTERNAL) {
    try {
      const info = parseExternalData(t);
      if (info.length !== undefined) return info.length;
    } catch {
      // fall back to the size the dims imply
    }
  }
  if (t.rawData !== undefined) return t.rawData.byteLength;
  const elementBytes = onnxElementBytes(t.dataType) ?? 0;
  return t.dims.reduce((a, b) => a * b, 1) * elementBytes;
}

/** Summarise a model: interface, opsets, op histogram, weight sizes and external files. */
export function inspectModel(model: ModelProto): ModelSummary {
  const opTypeCounts: Record<string, number> = {};
  const externalFiles: string[] = [];
  let nodeCount = 0;
  let initializerCount = 0;
  let initializerBytes = 0;
  let externalBytes = 0;
  const initializerBytesByDtype: Record<string, number> = {};

  const visit = (graph: GraphProto): void => {
    for (const t of graph.initializer) {
      initializerCount++;
      const bytes = dataBytes(t);
      initializerBytes += bytes;
      const dtype = onnxDataTypeName(t.dataType);
      initializerBytesByDtype[dtype] = (initializerBytesByDtype[dtype] ?? 0) + bytes;
      if (t.dataLocation === DataLocation.EXTERNAL) {
        externalBytes += bytes;
        const location = t.externalData?.find((e) => e.key === 'location')?.value;
        if (location !== undefined && !externalFiles.includes(location)) externalFiles.push(location);
      }
    }
    for (const node of graph.node) {
      nodeCount++;
      const domain = node.domain === undefined || node.domain === '' || node.domain === 'ai.onnx' ? '' : node.domain;
      const key = domain === '' ? node.opType : `${domain}::${node.opType}`;
      opTypeCounts[key] = (opTypeCounts[key] ?? 0) + 1;
      for (const attr of node.attribute) {
        if (attr.g !== undefined) visit(attr.g);
        for (const g of attr.graphs ?? []) visit(g);
      }
    }
  };
  if (model.graph !== undefined) visit(model.graph);

  const summary: ModelSummary = {
    irVersion: model.irVersion,
    opsets: model.opsetImport.map(({ domain, version }) => ({ domain, version })),
    inputs: (model.graph?.input ?? []).map(summarizeValue),
    outputs: (model.graph?.output ?? []).map(summarizeValue),
    nodeCount,
    opTypeCounts,
    initializerCount,
    initializerBytes,
    externalBytes,
    initializerBytesByDtype,
    externalFiles,
    metadata: Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value])),
  };
  return model.producerName === undefined ? summary : { ...summary, producerName: model.producerName };
}
