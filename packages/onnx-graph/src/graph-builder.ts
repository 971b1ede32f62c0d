import {
  type DataType,
  type TypedTensor,
  InvalidArgumentError,
  assertValidDims,
  createTensor,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '@vasink/tensor';
import { assertValidModel } from './check-model.js';
import { type AttributeValue, toAttributeProto, toInt64 } from './attribute.js';
import { type ExternalDataRef, externalDataEntries } from './external-data-ref.js';
import {
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type TensorShapeDimension,
  type ValueInfoProto,
  DataLocation,
  onnxDataType,
} from './onnx-types.js';
import { tensorByteLength, tensorBytes, tensorToProto } from './tensor-proto.js';

/** A named tensor value of the graph under construction. `dtype` is known for most values the builder makes. */
export interface Value {
  readonly name: string;
  readonly dtype?: DataType;
}

/** A dimension of a graph input or output: a size, or a symbolic name such as 'batch'. */
export type DimSpec = number | string;

/** Operand of the arithmetic sugar: a value, or a number that becomes a scalar of the other operand's dtype. */
export type Operand = Value | number;

export interface GraphBuilderOptions {
  /** Graph name (default 'main'). */
  name?: string;
  /** Default-domain opset version (default 17; the typed sugar needs at least 13). */
  opset?: number;
  /** IR version (default: the lowest IR that carries `opset`, 8 for opsets up to 18). */
  irVersion?: number;
  /** Versions of other operator domains, e.g. `{ 'com.microsoft': 1 }`. Domains used by `op` default to version 1. */
  opsets?: Record<string, number>;
}

export interface OpOptions {
  /** Operator domain; '' (default) is ONNX. Using a domain adds its opset import. */
  domain?: string;
  /** Node name (scoped and made unique); defaults to the op type. */
  name?: string;
  /** Output value names (scoped; must be unused). Default: `<node name>_output_<i>`. */
  outputNames?: string[];
  /** dtype recorded on the single output of `op` (the sugar methods fill it in). */
  dtype?: DataType;
  /** dtypes recorded on the outputs of `opMulti`. */
  dtypes?: (DataType | undefined)[];
}

export interface OutputOptions {
  /** Graph output name; when it differs from the value's name an Identity node renames it. */
  name?: string;
  /** Element type; defaults to the value's dtype. */
  dtype?: DataType;
  /** Declared dims; omitted leaves the rank unknown (onnxruntime accepts that, onnx.checker does not). */
  dims?: DimSpec[];
}

export interface BuildOptions {
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
  /** Run `assertValidModel` on the result (default true); 'strict' adds onnx.checker's shape rule. */
  check?: boolean | 'strict';
}

/** Lowest IR version that carries a default-domain opset. */
function irVersionForOpset(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

class NameRegistry {
  private readonly used = new Set<string>();
  private readonly next = new Map<string, number>();

  has(name: string): boolean {
    return this.used.has(name);
  }

  /** Take an exact name; throws when it is taken. */
  claim(name: string, what: string): string {
    if (name === '') throw new InvalidArgumentError(`${what} name must not be empty`);
    if (this.used.has(name)) throw new InvalidArgumentError(`${what} name "${name}" is already used in this graph`, { name });
    this.used.add(name);
    return name;
  }

  /** `base`, or `base_1`, `base_2`, ... whichever is free first. */
  unique(base: string): string {
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let n = this.next.get(base) ?? 1;
    while (this.used.has(`${base}_${n}`)) n++;
    this.next.set(base, n + 1);
    const name = `${base}_${n}`;
    this.used.add(name);
    return name;
  }
}

/** State shared by a root builder and its subgraph builders. */
interface BuilderContext {
  readonly opset: number;
  readonly domains: Map<string, number>;
  readonly values: NameRegistry;
  readonly nodes: NameRegistry;
  readonly scopes: string[];
}

function makeValue(name: string, dtype: DataType | undefined): Value {
  return Object.freeze(dtype === undefined ? { name } : { name, dtype });
}

function dtypeOf(...operands: (Operand | undefined)[]): DataType | undefined {
  for (const operand of operands) {
    if (operand !== undefined && typeof operand !== 'number' && operand.dtype !== undefined) return operand.dtype;
  }
  return undefined;
}

function valueInfo(name: string, dtype: DataType, dims: readonly DimSpec[] | undefined): ValueInfoProto {
  const info: ValueInfoProto = { name, type: { tensorType: { elemType: onnxDataType(dtype) } } };
  if (dims !== undefined && info.type?.tensorType !== undefined) {
    info.type.tensorType.shape = {
      dim: dims.map((d, axis): TensorShapeDimension => {
        if (typeof d === 'string') {
          if (d === '') throw new InvalidArgumentError(`${name}: symbolic dim ${axis} must have a non-empty name`);
          return { dimParam: d };
        }
        if (!Number.isSafeInteger(d) || d < 0) {
          throw new InvalidArgumentError(`${name}: dim ${axis} is ${String(d)}; dims are non-negative integers or symbolic names`);
        }
        return { dimValue: d };
      }),
    };
  }
  return info;
}

/** `node` with names in `rename` replaced (a copy only where something changed), subgraphs included. */
function renameNode(node: NodeProto, rename: ReadonlyMap<string, string>): NodeProto {
  const swap = (names: string[]) => (names.some((x) => rename.has(x)) ? names.map((x) => rename.get(x) ?? x) : names);
  const input = swap(node.input);
  const output = swap(node.output);
  let attributeChanged = false;
  const attribute = node.attribute.map((a) => {
    if (a.g === undefined && a.graphs === undefined) return a;
    const g = a.g && renameGraph(a.g, rename);
    const graphs = a.graphs?.map((sub) => renameGraph(sub, rename));
    if (g === a.g && (graphs === undefined || graphs.every((sub, i) => sub === a.graphs?.[i]))) return a;
    attributeChanged = true;
    return { ...a, ...(g ? { g } : {}), ...(graphs ? { graphs } : {}) };
  });
  if (input === node.input && output === node.output && !attributeChanged) return node;
  return { ...node, input, output, attribute };
}

/** A subgraph reading outer-scope values: rename its nodes' uses (its own names never collide: one registry). */
function renameGraph(graph: GraphProto, rename: ReadonlyMap<string, string>): GraphProto {
  const node = graph.node.map((n) => renameNode(n, rename));
  const output = graph.output.map((o) => (rename.has(o.name) ? { ...o, name: rename.get(o.name) ?? o.name } : o));
  if (node.every((n, i) => n === graph.node[i]) && output.every((o, i) => o === graph.output[i])) return graph;
  return { ...graph, node, output };
}

/**
 * Builds an ONNX graph node by node, in topological order by construction.
 * Every value is named once (SSA): explicit names (inputs, outputs,
 * initializers, `outputNames`) must be free; generated names are made unique
 * and carry the current `scope` prefix. Typed sugar methods (`add`, `matMul`,
 * `reduceMean`, ...) emit the form of each op that the builder's opset needs.
 */
export class GraphBuilder {
  private ctx: BuilderContext;
  private parent: GraphBuilder | undefined;
  private readonly graphName: string;
  private readonly irVersion: number;
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly constants = new Map<string, Value>();
  /** Identity nodes made by `output()` to rename a value; elided in `buildGraph()` where possible. */
  private readonly outputRenames = new Set<NodeProto>();

  constructor(options: GraphBuilderOptions = {}) {
    const opset = options.opset ?? 17;
    if (!Number.isInteger(opset) || opset < 13) {
      throw new InvalidArgumentError(`opset must be an integer ≥ 13 (the builder emits opset-13+ op forms), got ${String(opset)}`);
    }
    this.graphName = options.name ?? 'main';
    this.irVersion = options.irVersion ?? irVersionForOpset(opset);
    const domains = new Map<string, number>([['', opset]]);
    for (const [domain, version] of Object.entries(options.opsets ?? {})) {
      if (domain === '' || domain === 'ai.onnx') throw new InvalidArgumentError('set the default-domain version with `opset`');
      domains.set(domain, version);
    }
    this.ctx = { opset, domains, values: new NameRegistry(), nodes: new NameRegistry(), scopes: [] };
    this.parent = undefined;
  }

  /** Default-domain opset version this builder emits. */
  get opset(): number {
    return this.ctx.opset;
  }

  // ------------------------------------------------------------ graph interface

  /** Declare a graph input. Its name is taken verbatim (not scoped). */
  input(name: string, dtype: DataType, dims: DimSpec[]): Value {
    this.ctx.values.claim(name, 'input');
    this.inputs.push(valueInfo(name, dtype, dims));
    return makeValue(name, dtype);
  }

  /**
   * Declare `value` a graph output. With a `name` different from the value's,
   * the output takes that name: when a node of this graph produces `value`,
   * `buildGraph()` renames that node's output (and every use of it), so no
   * copy is made — onnxruntime keeps an Identity in front of a graph output
   * and copies the tensor on every run (the KV cache, each step). Graph inputs,
   * initializers and values output twice get an Identity. Returns the output value.
   */
  output(value: Value, options: OutputOptions = {}): Value {
    this.assertKnown(value, 'output');
    const dtype = options.dtype ?? value.dtype;
    if (dtype === undefined) {
      throw new InvalidArgumentError(`output ${options.name ?? value.name}: dtype unknown; pass { dtype }`, { name: value.name });
    }
    let out = value;
    if (options.name !== undefined && options.name !== value.name) {
      const name = this.ctx.values.claim(options.name, 'output');
      const identity: NodeProto = {
        input: [value.name],
        output: [name],
        name: this.ctx.nodes.unique(`${name}/Identity`),
        opType: 'Identity',
        attribute: [],
      };
      this.nodes.push(identity);
      this.outputRenames.add(identity);
      out = makeValue(name, dtype);
    } else if (this.outputs.some((o) => o.name === value.name)) {
      throw new InvalidArgumentError(`value "${value.name}" is already a graph output`, { name: value.name });
    }
    this.outputs.push(valueInfo(out.name, dtype, options.dims));
    return out;
  }

  /**
   * Add an inline initializer (weight or constant) under an exact, unscoped
   * name. The tensor's storage is referenced, not copied.
   */
  initializer(name: string, tensor: TypedTensor): Value {
    this.ctx.values.claim(name, 'initializer');
    this.initializers.push(tensorToProto(tensor, name));
    return makeValue(name, tensor.dtype);
  }

  /**
   * Add an initializer whose bytes already live in an external data file
   * (see `ExternalDataFile.append`). The model only records the reference.
   */
  externalInitializer(name: string, dtype: DataType, dims: number[], ref: ExternalDataRef): Value {
    assertValidDims(dims, name);
    const expected = tensorByteLength(dtype, dims);
    if (ref.length !== expected) {
      throw new InvalidArgumentError(
        `external initializer ${name}: ${dtype} [${dims.join(', ')}] needs ${expected} bytes, the reference holds ${ref.length}`,
        { name, expected, length: ref.length },
      );
    }
    this.ctx.values.claim(name, 'initializer');
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: onnxDataType(dtype),
      dataLocation: DataLocation.EXTERNAL,
      externalData: externalDataEntries(ref),
    });
    return makeValue(name, dtype);
  }

  /** Add a constant tensor as an auto-named (scoped) initializer. */
  constant(tensor: TypedTensor, options: { name?: string } = {}): Value {
    const name = this.ctx.values.unique(this.scoped(options.name ?? 'const'));
    this.initializers.push(tensorToProto(tensor, name));
    return makeValue(name, tensor.dtype);
  }

  /**
   * 0-d constant, shared by every use of the same (dtype, value). int64
   * accepts ±Infinity as INT64_MAX / INT64_MIN; floats narrow with round to
   * nearest even.
   */
  scalar(value: number | bigint | boolean, dtype: DataType = 'float32'): Value {
    const tensor = scalarTensor(value, dtype);
    return this.cachedConstant(`scalar/${dtype}/${String(value)}`, tensor);
  }

  /** 1-d int64 constant (shapes, axes, starts...), shared by every use of the same values. ±Infinity → INT64 bounds. */
  ints(values: readonly (number | bigint)[]): Value {
    const data = BigInt64Array.from(values, (v) => toInt64(v, 'ints'));
    const label = values.length <= 8 ? `ints/[${values.map(String).join(',')}]` : `ints/${values.length}`;
    return this.cachedConstant(label, createTensor('int64', [values.length], data));
  }

  /** Register an operator domain version (added to the model's opset imports). */
  useDomain(domain: string, version: number): void {
    if (domain === '' || domain === 'ai.onnx') {
      if (version !== this.ctx.opset) throw new InvalidArgumentError(`default domain is at opset ${this.ctx.opset}, not ${version}`);
      return;
    }
    const known = this.ctx.domains.get(domain);
    if (known !== undefined && known !== version) {
      throw new InvalidArgumentError(`domain ${domain} is already imported at version ${known}, not ${version}`, { domain });
    }
    this.ctx.domains.set(domain, version);
  }

  // ------------------------------------------------------------ nodes

  /**
   * Append a single-output node. `undefined` inputs are omitted optional
   * inputs (trailing ones are dropped); `undefined` attributes are skipped.
   */
  op(opType: string, inputs: readonly (Value | undefined)[], attributes: Record<string, AttributeValue | undefined> = {}, options: OpOptions = {}): Value {
    const { dtype, ...rest } = options;
    const [out] = this.opMulti(opType, inputs, 1, attributes, { ...rest, dtypes: [dtype] });
    return out as Value;
  }

  /** Append a node with `outputCount` outputs. */
  opMulti(
    opType: string,
    inputs: readonly (Value | undefined)[],
    outputCount: number,
    attributes: Record<string, AttributeValue | undefined> = {},
    options: OpOptions = {},
  ): Value[] {
    if (opType === '') throw new InvalidArgumentError('op type must not be empty');
    if (!Number.isInteger(outputCount) || outputCount < 1) throw new InvalidArgumentError(`${opType}: outputCount must be ≥ 1`);
    const domain = options.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx' && !this.ctx.domains.has(domain)) this.ctx.domains.set(domain, 1);

    const inputNames = inputs.map((v) => {
      if (v === undefined) return '';
      this.assertKnown(v, opType);
      return v.name;
    });
    while (inputNames.length > 0 && inputNames[inputNames.length - 1] === '') inputNames.pop();

    const nodeName = this.ctx.nodes.unique(this.scoped(options.name ?? opType));
    const outputNames: string[] = [];
    for (let i = 0; i < outputCount; i++) {
      const explicit = options.outputNames?.[i];
      outputNames.push(
        explicit !== undefined
          ? this.ctx.values.claim(this.scoped(explicit), `${opType} output`)
          : this.ctx.values.unique(`${nodeName}_output_${i}`),
      );
    }
    const attribute: AttributeProto[] = [];
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined) attribute.push(toAttributeProto(name, value));
    }
    const node: NodeProto = { input: inputNames, output: outputNames, name: nodeName, opType, attribute };
    if (domain !== '') node.domain = domain;
    this.nodes.push(node);
    return outputNames.map((name, i) => makeValue(name, options.dtypes?.[i]));
  }

  /** Run `fn` with `prefix/` added to generated node and value names; scopes nest. */
  scope<T>(prefix: string, fn: () => T): T {
    if (prefix === '') throw new InvalidArgumentError('scope prefix must not be empty');
    this.ctx.scopes.push(`${prefix}/`);
    try {
      return fn();
    } finally {
      this.ctx.scopes.pop();
    }
  }

  /**
   * A builder for a subgraph (If branches, Loop/Scan bodies). It shares this
   * builder's names, scopes and domains, and may use this builder's values
   * (outer scope). Finish it with `buildGraph()` and pass the GraphProto as an attribute.
   */
  subgraph(options: { name?: string } = {}): GraphBuilder {
    const child = new GraphBuilder({ name: options.name ?? this.ctx.nodes.unique(this.scoped('subgraph')), opset: this.opset });
    child.ctx = this.ctx;
    child.parent = this;
    return child;
  }

  /** The graph built so far (arrays are copies; protos are shared unless renamed). */
  buildGraph(): GraphProto {
    return {
      name: this.graphName,
      node: this.elideOutputRenames(),
      initializer: [...this.initializers],
      input: [...this.inputs],
      output: [...this.outputs],
      valueInfo: [],
    };
  }

  /**
   * This graph's nodes with each output-renaming Identity removed where its
   * source is produced by a node here and is neither a graph output itself nor
   * renamed twice: the producer then writes the output name directly, and
   * every use (subgraphs included) reads it under that name.
   */
  private elideOutputRenames(): NodeProto[] {
    if (this.outputRenames.size === 0) return [...this.nodes];
    const produced = new Set(this.nodes.flatMap((n) => n.output));
    const outputNames = new Set(this.outputs.map((o) => o.name));
    const sources = new Map<string, number>();
    for (const node of this.outputRenames) sources.set(node.input[0] ?? '', (sources.get(node.input[0] ?? '') ?? 0) + 1);
    const rename = new Map<string, string>();
    const dropped = new Set<NodeProto>();
    for (const node of this.outputRenames) {
      const source = node.input[0] ?? '';
      if (!produced.has(source) || outputNames.has(source) || sources.get(source) !== 1) continue;
      rename.set(source, node.output[0] ?? '');
      dropped.add(node);
    }
    if (rename.size === 0) return [...this.nodes];
    return this.nodes.filter((n) => !dropped.has(n)).map((n) => renameNode(n, rename));
  }

  /** Assemble the model: graph, opset imports (one per domain used) and metadata. */
  build(options: BuildOptions = {}): ModelProto {
    if (this.parent !== undefined) throw new InvalidArgumentError('build() belongs to the root builder; finish a subgraph with buildGraph()');
    const model: ModelProto = {
      irVersion: this.irVersion,
      opsetImport: [...this.ctx.domains].map(([domain, version]) => ({ domain, version })),
      producerName: options.producerName ?? 'vasink',
      graph: this.buildGraph(),
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    if (options.producerVersion !== undefined) model.producerVersion = options.producerVersion;
    if (options.docString !== undefined) model.docString = options.docString;
    if (options.check !== false) assertValidModel(model, { strict: options.check === 'strict' });
    return model;
  }

  // ------------------------------------------------------------ typed sugar: element-wise

  add(a: Operand, b: Operand): Value {
    return this.binary('Add', a, b);
  }
  sub(a: Operand, b: Operand): Value {
    return this.binary('Sub', a, b);
  }
  mul(a: Operand, b: Operand): Value {
    return this.binary('Mul', a, b);
  }
  div(a: Operand, b: Operand): Value {
    return this.binary('Div', a, b);
  }
  /** `base ** exponent`; a number exponent becomes a scalar of the base's dtype. */
  pow(base: Operand, exponent: Operand): Value {
    return this.binary('Pow', base, exponent);
  }
  max(a: Operand, b: Operand): Value {
    return this.binary('Max', a, b);
  }
  min(a: Operand, b: Operand): Value {
    return this.binary('Min', a, b);
  }
  matMul(a: Value, b: Value): Value {
    return this.op('MatMul', [a, b], {}, { dtype: dtypeOf(a, b) });
  }
  equal(a: Operand, b: Operand): Value {
    return this.compare('Equal', a, b);
  }
  less(a: Operand, b: Operand): Value {
    return this.compare('Less', a, b);
  }
  lessOrEqual(a: Operand, b: Operand): Value {
    return this.compare('LessOrEqual', a, b);
  }
  greater(a: Operand, b: Operand): Value {
    return this.compare('Greater', a, b);
  }
  greaterOrEqual(a: Operand, b: Operand): Value {
    return this.compare('GreaterOrEqual', a, b);
  }
  and(a: Value, b: Value): Value {
    return this.op('And', [a, b], {}, { dtype: 'bool' });
  }
  or(a: Value, b: Value): Value {
    return this.op('Or', [a, b], {}, { dtype: 'bool' });
  }
  not(x: Value): Value {
    return this.op('Not', [x], {}, { dtype: 'bool' });
  }
  /** Element-wise `condition ? a : b` with broadcasting. */
  where(condition: Value, a: Operand, b: Operand): Value {
    const [va, vb] = this.operands(a, b);
    return this.op('Where', [condition, va, vb], {}, { dtype: dtypeOf(va, vb) });
  }
  neg(x: Value): Value {
    return this.unary('Neg', x);
  }
  abs(x: Value): Value {
    return this.unary('Abs', x);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  reciprocal(x: Value): Value {
    return this.unary('Reciprocal', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  erf(x: Value): Value {
    return this.unary('Erf', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  cos(x: Value): Value {
    return this.unary('Cos', x);
  }
  sin(x: Value): Value {
    return this.unary('Sin', x);
  }
  floor(x: Value): Value {
    return this.unary('Floor', x);
  }
  ceil(x: Value): Value {
    return this.unary('Ceil', x);
  }
  identity(x: Value): Value {
    return this.unary('Identity', x);
  }
  /** Convert element type. */
  cast(x: Value, to: DataType): Value {
    return this.op('Cast', [x], { to: onnxDataType(to) }, { dtype: to });
  }

  // ------------------------------------------------------------ typed sugar: reductions

  /** Softmax along `axis` (default last). */
  softmax(x: Value, axis = -1): Value {
    return this.op('Softmax', [x], { axis }, { dtype: x.dtype });
  }

  /**
   * Any Reduce* op over `axes` (empty or omitted: all axes). Emits axes as an
   * input where the opset takes them so (ReduceSum since 13, the rest since 18)
   * and as an attribute before.
   */
  reduce(opType: `Reduce${string}`, x: Value, axes?: readonly number[], keepdims = true): Value {
    const axesAsInput = opType === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    const hasAxes = axes !== undefined && axes.length > 0;
    const attributes: Record<string, AttributeValue> = { keepdims: keepdims ? 1 : 0 };
    if (axesAsInput) return this.op(opType, hasAxes ? [x, this.ints(axes)] : [x], attributes, { dtype: x.dtype });
    if (hasAxes) attributes.axes = { ints: axes };
    return this.op(opType, [x], attributes, { dtype: x.dtype });
  }
  reduceSum(x: Value, axes?: readonly number[], keepdims = true): Value {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }
  reduceMax(x: Value, axes?: readonly number[], keepdims = true): Value {
    return this.reduce('ReduceMax', x, axes, keepdims);
  }
  reduceMin(x: Value, axes?: readonly number[], keepdims = true): Value {
    return this.reduce('ReduceMin', x, axes, keepdims);
  }
  reduceMean(x: Value, axes?: readonly number[], keepdims = true): Value {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }
  /** Index of the maximum along `axis` (int64). */
  argMax(x: Value, axis: number, keepdims = true): Value {
    return this.op('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0 }, { dtype: 'int64' });
  }
  /** Inclusive (or exclusive) running sum along `axis`. */
  cumSum(x: Value, axis: number, options: { exclusive?: boolean; reverse?: boolean } = {}): Value {
    return this.op(
      'CumSum',
      [x, this.scalar(axis, 'int64')],
      { exclusive: options.exclusive ? 1 : undefined, reverse: options.reverse ? 1 : undefined },
      { dtype: x.dtype },
    );
  }

  // ------------------------------------------------------------ typed sugar: shapes and indexing

  /** Take entries of `x` along `axis` at `indices` (a number gives a 0-d index, dropping the axis). */
  gather(x: Value, indices: Value | number | readonly number[], axis = 0): Value {
    const idx = typeof indices === 'number' ? this.scalar(indices, 'int64') : isValue(indices) ? indices : this.ints(indices);
    return this.op('Gather', [x, idx], { axis }, { dtype: x.dtype });
  }
  /** Reshape; a number array becomes an int64 constant (0 copies a dim, -1 infers one). */
  reshape(x: Value, shape: Value | readonly number[]): Value {
    return this.op('Reshape', [x, this.shapeValue(shape)], {}, { dtype: x.dtype });
  }
  transpose(x: Value, perm?: readonly number[]): Value {
    return this.op('Transpose', [x], { perm: perm === undefined ? undefined : { ints: perm } }, { dtype: x.dtype });
  }
  concat(values: readonly Value[], axis: number): Value {
    if (values.length === 0) throw new InvalidArgumentError('concat needs at least one value');
    return this.op('Concat', values, { axis }, { dtype: dtypeOf(...values) });
  }
  unsqueeze(x: Value, axes: Value | readonly number[]): Value {
    return this.op('Unsqueeze', [x, this.shapeValue(axes)], {}, { dtype: x.dtype });
  }
  /** Drop size-1 axes (all of them when `axes` is omitted). */
  squeeze(x: Value, axes?: Value | readonly number[]): Value {
    return this.op('Squeeze', [x, axes === undefined ? undefined : this.shapeValue(axes)], {}, { dtype: x.dtype });
  }
  /** Slice; number arrays become int64 constants and ±Infinity means "to the end". */
  slice(
    x: Value,
    starts: Value | readonly number[],
    ends: Value | readonly number[],
    axes?: Value | readonly number[],
    steps?: Value | readonly number[],
  ): Value {
    return this.op(
      'Slice',
      [
        x,
        this.shapeValue(starts),
        this.shapeValue(ends),
        axes === undefined ? undefined : this.shapeValue(axes),
        steps === undefined ? undefined : this.shapeValue(steps),
      ],
      {},
      { dtype: x.dtype },
    );
  }
  /** Split along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis = 0): Value[] {
    return this.opMulti('Split', [x, this.ints(sizes)], sizes.length, { axis }, { dtypes: sizes.map(() => x.dtype) });
  }
  /** The shape of `x` as a 1-d int64 tensor, optionally the dims [start, end). */
  shape(x: Value, options: { start?: number; end?: number } = {}): Value {
    return this.op('Shape', [x], { start: options.start, end: options.end }, { dtype: 'int64' });
  }
  /** Broadcast `x` to `shape`. */
  expand(x: Value, shape: Value | readonly number[]): Value {
    return this.op('Expand', [x, this.shapeValue(shape)], {}, { dtype: x.dtype });
  }
  /** `[start, start + delta, ...)` below `limit`; numbers become scalars of the first value's dtype (default int64). */
  range(start: Operand, limit: Operand, delta: Operand = 1): Value {
    const dtype = dtypeOf(start, limit, delta) ?? 'int64';
    return this.op('Range', [this.operand(start, dtype), this.operand(limit, dtype), this.operand(delta, dtype)], {}, { dtype });
  }
  /** Keep the upper (default) or lower triangle of the last two axes, shifted by diagonal `k`. */
  trilu(x: Value, options: { upper?: boolean; k?: Operand } = {}): Value {
    const k = options.k === undefined ? undefined : this.operand(options.k, 'int64');
    return this.op('Trilu', [x, k], { upper: options.upper === false ? 0 : undefined }, { dtype: x.dtype });
  }
  /** A tensor of `shape` filled with `value`. */
  constantOfShape(shape: Value | readonly number[], value: number | bigint | boolean = 0, dtype: DataType = 'float32'): Value {
    return this.op('ConstantOfShape', [this.shapeValue(shape)], { value: scalarTensor(value, dtype, [1]) }, { dtype });
  }

  // ------------------------------------------------------------ internals

  private scoped(name: string): string {
    return this.ctx.scopes.join('') + name;
  }

  private assertKnown(value: Value, where: string): void {
    if (!this.ctx.values.has(value.name)) {
      throw new InvalidArgumentError(`${where}: value "${value.name}" does not belong to this graph`, { name: value.name });
    }
  }

  private cachedConstant(label: string, tensor: TypedTensor): Value {
    const key = `${tensor.dtype}[${tensor.dims.join(',')}]:${Array.from(tensorBytes(tensor)).join(',')}`;
    for (let builder: GraphBuilder | undefined = this; builder !== undefined; builder = builder.parent) {
      const hit = builder.constants.get(key);
      if (hit !== undefined) return hit;
    }
    const name = this.ctx.values.unique(label);
    this.initializers.push(tensorToProto(tensor, name));
    const value = makeValue(name, tensor.dtype);
    this.constants.set(key, value);
    return value;
  }

  private operand(operand: Operand, dtype: DataType): Value {
    return typeof operand === 'number' ? this.scalar(operand, dtype) : operand;
  }

  private operands(a: Operand, b: Operand): [Value, Value] {
    const dtype = dtypeOf(a, b) ?? 'float32';
    return [this.operand(a, dtype), this.operand(b, dtype)];
  }

  private binary(opType: string, a: Operand, b: Operand): Value {
    const [va, vb] = this.operands(a, b);
    return this.op(opType, [va, vb], {}, { dtype: dtypeOf(va, vb) });
  }

  private compare(opType: string, a: Operand, b: Operand): Value {
    const [va, vb] = this.operands(a, b);
    return this.op(opType, [va, vb], {}, { dtype: 'bool' });
  }

  private unary(opType: string, x: Value): Value {
    return this.op(opType, [x], {}, { dtype: x.dtype });
  }

  private shapeValue(shape: Value | readonly number[]): Value {
    return isValue(shape) ? shape : this.ints(shape);
  }
}

function isValue(value: unknown): value is Value {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Value).name === 'string';
}

/** One-element tensor of `dtype` holding `value` (dims [] unless given). */
function scalarTensor(value: number | bigint | boolean, dtype: DataType, dims: number[] = []): TypedTensor {
  const what = `${dtype} constant`;
  const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  if (dtype === 'int64') return createTensor('int64', dims, BigInt64Array.of(toInt64(n, what)));
  if (typeof n === 'bigint') throw new InvalidArgumentError(`${what}: bigint values need dtype int64`);
  switch (dtype) {
    case 'float32':
      return createTensor('float32', dims, Float32Array.of(n));
    case 'float16':
      return createTensor('float16', dims, Uint16Array.of(float32ToFloat16Bits(n)));
    case 'bfloat16':
      return createTensor('bfloat16', dims, Uint16Array.of(float32ToBfloat16Bits(n)));
    case 'int32':
      if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new InvalidArgumentError(`${what}: ${n} is not an int32`);
      return createTensor('int32', dims, Int32Array.of(n));
    case 'uint8':
      if (!Number.isInteger(n) || n < 0 || n > 255) throw new InvalidArgumentError(`${what}: ${n} is not a uint8`);
      return createTensor('uint8', dims, Uint8Array.of(n));
    case 'bool':
      if (n !== 0 && n !== 1) throw new InvalidArgumentError(`${what}: ${n} is not 0 or 1`);
      return createTensor('bool', dims, Uint8Array.of(n));
  }
  throw new InvalidArgumentError(`unknown dtype ${String(dtype)}`);
}
