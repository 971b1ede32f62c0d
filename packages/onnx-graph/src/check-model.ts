// Structural checks of a ModelProto, the ones that break a model before any
// operator runs: SSA, topological order, dangling names, opset imports,
// initializer sizes and external data references. Operator schemas (input
// counts, types, shapes) are left to onnxruntime.
import { InvalidModelError } from './errors.js';
import { parseExternalData } from './external-data-ref.js';
import {
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto,
  AttributeType,
  DataLocation,
  TensorDataType,
  onnxDataTypeName,
  onnxElementBytes,
} from './onnx-types.js';

/** The rule a problem breaks. */
export type ModelRule =
  | 'missing-graph'
  | 'ir-version'
  | 'empty-name'
  | 'ssa'
  | 'undefined-input'
  | 'topological-order'
  | 'output-not-produced'
  | 'no-outputs'
  | 'missing-type'
  | 'missing-shape'
  | 'duplicate-initializer'
  | 'missing-opset'
  | 'duplicate-opset'
  | 'initializer-size'
  | 'external-data'
  | 'attribute';

/** One structural problem. `graph` is the graph's path ('main', 'main/If_0.then_branch'). */
export interface ModelProblem {
  readonly rule: ModelRule;
  readonly message: string;
  readonly graph: string;
  readonly node?: string;
  readonly value?: string;
}

/** Value names visible in a graph: its own and those of enclosing graphs. */
class Scope {
  private readonly names = new Set<string>();
  constructor(private readonly parent?: Scope) {}
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
  add(name: string): void {
    this.names.add(name);
  }
}

type Report = (problem: Omit<ModelProblem, 'graph'>) => void;

export interface CheckModelOptions {
  /**
   * Also demand what onnx.checker demands beyond onnxruntime: a shape (rank)
   * on every main-graph input and output (rule 'missing-shape'). Default false.
   */
  strict?: boolean;
}

/**
 * List every structural problem of a model (empty when it is well formed).
 * Subgraphs (If/Loop/Scan bodies) are checked too and may use outer values.
 */
export function checkModel(model: ModelProto, options: CheckModelOptions = {}): ModelProblem[] {
  const problems: ModelProblem[] = [];
  if (!Number.isInteger(model.irVersion) || model.irVersion < 3) {
    problems.push({ rule: 'ir-version', graph: '', message: `ir_version ${model.irVersion} is missing or too old (need ≥ 3)` });
  }
  const imported = new Set<string>();
  for (const { domain, version } of model.opsetImport) {
    const key = normalizeDomain(domain);
    if (imported.has(key)) {
      problems.push({ rule: 'duplicate-opset', graph: '', message: `opset_import lists domain "${domain}" more than once` });
    }
    imported.add(key);
    if (!Number.isInteger(version) || version < 1) {
      problems.push({ rule: 'duplicate-opset', graph: '', message: `opset_import of domain "${domain}" has version ${version}` });
    }
  }
  if (model.graph === undefined) {
    problems.push({ rule: 'missing-graph', graph: '', message: 'model has no graph' });
    return problems;
  }
  const missingDomains = new Set<string>();
  checkGraph(model.graph, new Scope(), model.graph.name || 'main', true, {
    imported,
    missingDomains,
    problems,
    strict: options.strict ?? false,
  });
  return problems;
}

/** Throw an InvalidModelError listing every problem `checkModel` finds. */
export function assertValidModel(model: ModelProto, options: CheckModelOptions = {}): void {
  const problems = checkModel(model, options);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 20).map((p) => `[${p.rule}] ${p.graph ? `${p.graph}: ` : ''}${p.message}`);
  if (problems.length > 20) shown.push(`… and ${problems.length - 20} more`);
  throw new InvalidModelError(`model has ${problems.length} structural problem${problems.length === 1 ? '' : 's'}: ${shown.join('; ')}`, {
    problems,
  });
}

function normalizeDomain(domain: string | undefined): string {
  return domain === undefined || domain === 'ai.onnx' ? '' : domain;
}

interface ModelState {
  readonly imported: Set<string>;
  readonly missingDomains: Set<string>;
  readonly problems: ModelProblem[];
  readonly strict: boolean;
}

function checkGraph(graph: GraphProto, outer: Scope, path: string, isMain: boolean, state: ModelState): void {
  const report: Report = (p) => state.problems.push({ ...p, graph: path });
  const scope = new Scope(outer);
  if (graph.name === '') report({ rule: 'empty-name', message: 'graph has no name' });

  for (const input of graph.input) {
    if (input.name === '') {
      report({ rule: 'empty-name', message: 'a graph input has an empty name' });
      continue;
    }
    if (scope.has(input.name)) report({ rule: 'ssa', value: input.name, message: `graph input "${input.name}" is declared twice` });
    scope.add(input.name);
    if (isMain) checkInterfaceType(input, 'input', state.strict, report);
  }

  const initializerNames = new Set<string>();
  for (const init of graph.initializer) {
    const name = init.name ?? '';
    if (name === '') {
      report({ rule: 'empty-name', message: 'an initializer has an empty name' });
      continue;
    }
    if (initializerNames.has(name)) {
      report({ rule: 'duplicate-initializer', value: name, message: `initializer "${name}" is defined more than once` });
    } else if (outer.has(name)) {
      report({ rule: 'ssa', value: name, message: `initializer "${name}" redefines a value of an enclosing graph` });
    }
    initializerNames.add(name);
    scope.add(name);
    checkTensorData(init, name, report);
  }

  // Where each node output is produced, to tell "later" from "never".
  const producedAt = new Map<string, number>();
  graph.node.forEach((node, index) => {
    for (const output of node.output) if (output !== '' && !producedAt.has(output)) producedAt.set(output, index);
  });

  graph.node.forEach((node, index) => {
    const label = node.name || `#${index} (${node.opType || '?'})`;
    if (node.opType === '') report({ rule: 'empty-name', node: label, message: `node ${label} has no op_type` });
    const domain = normalizeDomain(node.domain);
    if (!state.imported.has(domain) && !state.missingDomains.has(domain)) {
      state.missingDomains.add(domain);
      report({
        rule: 'missing-opset',
        node: label,
        message: `node ${label} uses domain "${domain || 'ai.onnx'}" but the model has no opset_import for it`,
      });
    }
    for (const input of node.input) {
      if (input === '' || scope.has(input)) continue;
      const later = producedAt.get(input);
      if (later !== undefined && later >= index) {
        report({
          rule: 'topological-order',
          node: label,
          value: input,
          message: `node ${label} reads "${input}" before node #${later} produces it (nodes are not in topological order)`,
        });
      } else {
        report({ rule: 'undefined-input', node: label, value: input, message: `node ${label} reads "${input}", which nothing defines` });
      }
    }
    checkAttributes(node.attribute, label, path, scope, report, state);
    for (const output of node.output) {
      if (output === '') continue;
      if (scope.has(output)) {
        report({ rule: 'ssa', node: label, value: output, message: `value "${output}" is produced more than once (node ${label})` });
      }
      scope.add(output);
    }
  });

  if (isMain && graph.output.length === 0) report({ rule: 'no-outputs', message: 'graph has no outputs' });
  const declared = new Set<string>();
  for (const output of graph.output) {
    if (output.name === '') {
      report({ rule: 'empty-name', message: 'a graph output has an empty name' });
      continue;
    }
    if (declared.has(output.name)) report({ rule: 'ssa', value: output.name, message: `graph output "${output.name}" is declared twice` });
    declared.add(output.name);
    if (!scope.has(output.name)) {
      report({ rule: 'output-not-produced', value: output.name, message: `graph output "${output.name}" is never produced` });
    }
    if (isMain) checkInterfaceType(output, 'output', state.strict, report);
  }
}

function checkInterfaceType(info: ValueInfoProto, role: 'input' | 'output', strict: boolean, report: Report): void {
  const tensor = info.type?.tensorType;
  if (tensor === undefined || tensor.elemType === TensorDataType.UNDEFINED) {
    report({ rule: 'missing-type', value: info.name, message: `graph ${role} "${info.name}" has no tensor element type` });
  } else if (strict && tensor.shape === undefined) {
    report({ rule: 'missing-shape', value: info.name, message: `graph ${role} "${info.name}" has no shape (onnx.checker needs the rank)` });
  }
}

const FIELD_OF_TYPE: ReadonlyMap<number, keyof AttributeProto> = new Map<number, keyof AttributeProto>([
  [AttributeType.FLOAT, 'f'],
  [AttributeType.INT, 'i'],
  [AttributeType.STRING, 's'],
  [AttributeType.TENSOR, 't'],
  [AttributeType.GRAPH, 'g'],
  [AttributeType.FLOATS, 'floats'],
  [AttributeType.INTS, 'ints'],
  [AttributeType.STRINGS, 'strings'],
  [AttributeType.TENSORS, 'tensors'],
  [AttributeType.GRAPHS, 'graphs'],
]);
const VALUE_FIELDS: readonly (keyof AttributeProto)[] = [...FIELD_OF_TYPE.values()];

function checkAttributes(
  attributes: readonly AttributeProto[],
  label: string,
  path: string,
  scope: Scope,
  report: Report,
  state: ModelState,
): void {
  const seen = new Set<string>();
  for (const attr of attributes) {
    if (attr.name === '') {
      report({ rule: 'empty-name', node: label, message: `node ${label} has an attribute with an empty name` });
    } else if (seen.has(attr.name)) {
      report({ rule: 'attribute', node: label, message: `node ${label} sets attribute "${attr.name}" twice` });
    }
    seen.add(attr.name);
    if (attr.refAttrName === undefined) {
      const field = FIELD_OF_TYPE.get(attr.type);
      const present = VALUE_FIELDS.filter((f) => attr[f] !== undefined);
      if (field === undefined) {
        report({ rule: 'attribute', node: label, message: `attribute "${attr.name}" of node ${label} has unsupported type ${attr.type}` });
      } else if (present.length !== 1 || present[0] !== field) {
        report({
          rule: 'attribute',
          node: label,
          message: `attribute "${attr.name}" of node ${label} has type ${attr.type} but sets [${present.join(', ')}] instead of ${field}`,
        });
      }
    }
    const subgraphs = attr.g !== undefined ? [attr.g] : (attr.graphs ?? []);
    subgraphs.forEach((g, i) => {
      const suffix = attr.g !== undefined ? attr.name : `${attr.name}[${i}]`;
      checkGraph(g, scope, `${path}/${label}.${suffix}`, false, state);
    });
  }
}

const TYPED_FIELDS = ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data', 'stringData'] as const;
type TypedField = (typeof TYPED_FIELDS)[number];

function typedFieldFor(dataType: number): TypedField | undefined {
  switch (dataType) {
    case TensorDataType.FLOAT:
    case TensorDataType.COMPLEX64:
      return 'floatData';
    case TensorDataType.INT64:
      return 'int64Data';
    case TensorDataType.DOUBLE:
    case TensorDataType.COMPLEX128:
      return 'doubleData';
    case TensorDataType.UINT32:
    case TensorDataType.UINT64:
      return 'uint64Data';
    case TensorDataType.STRING:
      return 'stringData';
    case TensorDataType.UNDEFINED:
      return undefined;
    default:
      return 'int32Data';
  }
}

function checkTensorData(t: TensorProto, name: string, report: Report): void {
  const fail = (rule: ModelRule, message: string): void => report({ rule, value: name, message: `initializer "${name}": ${message}` });
  let elements = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      fail('initializer-size', `dims [${t.dims.join(', ')}] are not all non-negative integers`);
      return;
    }
    elements *= d;
  }
  if (t.dataType === TensorDataType.UNDEFINED) {
    fail('initializer-size', 'data_type is UNDEFINED');
    return;
  }
  const elementBytes = onnxElementBytes(t.dataType);
  const typeName = onnxDataTypeName(t.dataType);
  const present = TYPED_FIELDS.filter((f) => t[f] !== undefined);

  if (t.dataLocation === DataLocation.EXTERNAL) {
    try {
      const info = parseExternalData(t);
      const expected = elementBytes === undefined ? undefined : elements * elementBytes;
      if (info.length !== undefined && expected !== undefined && info.length !== expected) {
        fail('external-data', `external length ${info.length} bytes, but ${typeName} [${t.dims.join(', ')}] needs ${expected}`);
      }
    } catch (error) {
      fail('external-data', error instanceof Error ? error.message : String(error));
    }
    if (t.rawData !== undefined || present.length > 0) fail('external-data', 'data is both external and inline');
    return;
  }
  if (t.externalData !== undefined && t.externalData.length > 0) {
    fail('external-data', 'has external_data entries but data_location is not EXTERNAL');
  }
  if (t.dataLocation !== undefined && t.dataLocation !== DataLocation.DEFAULT) {
    fail('external-data', `unknown data_location ${t.dataLocation}`);
  }

  const sources = present.length + (t.rawData !== undefined ? 1 : 0);
  if (sources > 1) {
    fail('initializer-size', `data is stored in ${sources} fields at once`);
    return;
  }
  if (t.rawData !== undefined) {
    if (elementBytes === undefined) {
      fail('initializer-size', `${typeName} tensors cannot use raw_data`);
    } else if (t.rawData.byteLength !== elements * elementBytes) {
      fail('initializer-size', `raw_data has ${t.rawData.byteLength} bytes, but ${typeName} [${t.dims.join(', ')}] needs ${elements * elementBytes}`);
    }
    return;
  }
  const field = present[0];
  if (field === undefined) {
    if (elements > 0) fail('initializer-size', `holds no data for its ${elements} elements`);
    return;
  }
  const wanted = typedFieldFor(t.dataType);
  if (field !== wanted) {
    fail('initializer-size', `${typeName} data stored in ${field} (expected ${wanted ?? 'raw_data'})`);
    return;
  }
  const complex = t.dataType === TensorDataType.COMPLEX64 || t.dataType === TensorDataType.COMPLEX128 ? 2 : 1;
  const length = (t[field] as readonly unknown[]).length;
  if (length !== elements * complex) {
    fail('initializer-size', `${field} has ${length} values, but dims [${t.dims.join(', ')}] hold ${elements * complex}`);
  }
}
