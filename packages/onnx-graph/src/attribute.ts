// Attribute values: the builder's JS forms → AttributeProto, and back.
import { type TypedTensor, InvalidArgumentError, isDataType } from '@vasink/tensor';
import { type AttributeProto, type GraphProto, type Int64, AttributeType } from './onnx-types.js';
import { tensorFromProto, tensorToProto } from './tensor-proto.js';

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

/** int64 of a safe integer or bigint; ±Infinity map to INT64_MAX / INT64_MIN. */
export function toInt64(value: number | bigint, what: string): bigint {
  if (typeof value === 'bigint') {
    if (value > INT64_MAX || value < INT64_MIN) throw new InvalidArgumentError(`${what}: ${value} does not fit int64`, { value: String(value) });
    return value;
  }
  if (value === Infinity) return INT64_MAX;
  if (value === -Infinity) return INT64_MIN;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what}: ${String(value)} is not a safe integer`, { value });
  return BigInt(value);
}

/**
 * An attribute value. A plain number is INT when it is an integer and FLOAT
 * otherwise; a number array is INTS when every element is an integer (or the
 * array is empty) and FLOATS otherwise. `{ float }` / `{ floats }` force
 * floats (`alpha: { float: 1 }`), `{ int }` / `{ ints }` force ints.
 */
export type AttributeValue =
  | number
  | bigint
  | readonly number[]
  | string
  | readonly string[]
  | TypedTensor
  | GraphProto
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly int: number | bigint }
  | { readonly ints: readonly (number | bigint)[] };


function isTypedTensor(value: unknown): value is TypedTensor {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<TypedTensor>;
  return isDataType(v.dtype) && Array.isArray(v.dims) && ArrayBuffer.isView(v.data);
}

function isGraphProto(value: unknown): value is GraphProto {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<GraphProto>;
  return Array.isArray(v.node) && Array.isArray(v.output) && Array.isArray(v.input);
}

const utf8 = new TextEncoder();

function intAttribute(value: number | bigint, name: string): number | bigint {
  if (typeof value === 'bigint') return toInt64(value, `attribute ${name}`);
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`attribute ${name}: ${String(value)} is not a safe integer`);
  return value;
}

/** Convert a builder attribute value to an AttributeProto (see {@link AttributeValue} for the rules). */
export function toAttributeProto(name: string, value: AttributeValue): AttributeProto {
  if (name === '') throw new InvalidArgumentError('attribute name must not be empty');
  if (typeof value === 'number') {
    return Number.isInteger(value) && Number.isSafeInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (typeof value === 'bigint') return { name, type: AttributeType.INT, i: intAttribute(value, name) };
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: utf8.encode(value) };
  if (Array.isArray(value)) {
    const list = value as readonly unknown[];
    if (list.length > 0 && list.every((v) => typeof v === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: (list as string[]).map((s) => utf8.encode(s)) };
    }
    if (!list.every((v) => typeof v === 'number')) {
      throw new InvalidArgumentError(`attribute ${name}: a list must hold only numbers or only strings`);
    }
    const numbers = list as number[];
    return numbers.every((v) => Number.isSafeInteger(v))
      ? { name, type: AttributeType.INTS, ints: [...numbers] }
      : { name, type: AttributeType.FLOATS, floats: [...numbers] };
  }
  if (isTypedTensor(value)) return { name, type: AttributeType.TENSOR, t: tensorToProto(value) };
  if (isGraphProto(value)) return { name, type: AttributeType.GRAPH, g: value };
  if (typeof value === 'object' && value !== null) {
    if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
    if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
    if ('int' in value) return { name, type: AttributeType.INT, i: intAttribute(value.int, name) };
    if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints.map((v) => intAttribute(v, name)) };
  }
  throw new InvalidArgumentError(`attribute ${name}: unsupported value ${String(value)}`);
}


const utf8Decoder = new TextDecoder();

/** A decoded attribute's value in plain JS form: number, Int64, string, tensor, graph, or a list of those. */
export type DecodedAttributeValue =
  | number
  | Int64
  | string
  | TypedTensor
  | GraphProto
  | number[]
  | Int64[]
  | string[]
  | TypedTensor[]
  | GraphProto[]
  | undefined;

/** The value an AttributeProto carries, by its type (STRING bytes decoded as UTF-8). */
export function attributeValue(attribute: AttributeProto): DecodedAttributeValue {
  switch (attribute.type) {
    case AttributeType.FLOAT:
      return attribute.f ?? 0;
    case AttributeType.INT:
      return attribute.i ?? 0;
    case AttributeType.STRING:
      return utf8Decoder.decode(attribute.s ?? new Uint8Array());
    case AttributeType.TENSOR:
      return attribute.t === undefined ? undefined : tensorFromProto(attribute.t);
    case AttributeType.GRAPH:
      return attribute.g;
    case AttributeType.FLOATS:
      return attribute.floats ?? [];
    case AttributeType.INTS:
      return attribute.ints ?? [];
    case AttributeType.STRINGS:
      return (attribute.strings ?? []).map((s) => utf8Decoder.decode(s));
    case AttributeType.TENSORS:
      return (attribute.tensors ?? []).map(tensorFromProto);
    case AttributeType.GRAPHS:
      return attribute.graphs ?? [];
    default:
      return undefined;
  }
}
