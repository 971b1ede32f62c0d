import { ModelDirectoryError, type ModelManifest } from './model-manifest.js';

/**
 * Reads a manifest's `adapter` section (JSON from disk: anything) field by
 * field, for a family's `readSettings`: each getter returns the field typed or
 * throws a {@link ModelDirectoryError} (an input error: the model directory is
 * stale or edited) naming it, e.g. `manifest.json: adapter.image.maxPixels is
 * missing or invalid (expected a positive number); convert the checkpoint
 * again with this vasink`. Families build their settings object from the
 * getters, so nothing unchecked is cast to a settings type.
 */
export class ManifestSettings {
  private constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    private readonly path: string,
  ) {}

  /** The `adapter` section of a manifest of `family`; refuses another family's manifest or a section that is not an object. */
  static of(manifest: ModelManifest, family: string): ManifestSettings {
    if (manifest.family !== family) {
      throw new ModelDirectoryError(`the model is a ${manifest.family} model, not ${family}`, { family: manifest.family, expected: family });
    }
    const adapter = manifest.adapter;
    if (!isRecord(adapter)) throw invalid('adapter', 'an object');
    return new ManifestSettings(adapter, 'adapter');
  }

  /** A nested object. */
  object(name: string): ManifestSettings {
    const value = this.value[name];
    if (!isRecord(value)) throw invalid(this.field(name), 'an object');
    return new ManifestSettings(value, this.field(name));
  }

  /** An integer ≥ `min` (default 0; `-Infinity` for any), for which `valid` holds (`expected` says what it wants). */
  integer(name: string, options: { readonly min?: number; readonly valid?: (value: number) => boolean; readonly expected?: string } = {}): number {
    const min = options.min ?? 0;
    const range = min === 0 ? 'a non-negative integer' : min === -Infinity ? 'an integer' : `an integer ≥ ${min}`;
    return this.check(name, (x): x is number => Number.isInteger(x) && (x as number) >= min && (options.valid?.(x as number) ?? true), options.expected ?? range);
  }

  /** A finite number > 0. */
  positive(name: string): number {
    return this.check(name, (x): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0, 'a positive number');
  }

  /** A finite number. */
  number(name: string): number {
    return this.check(name, (x): x is number => typeof x === 'number' && Number.isFinite(x), 'a number');
  }

  boolean(name: string): boolean {
    return this.check(name, (x): x is boolean => typeof x === 'boolean', 'true or false');
  }

  string(name: string): string {
    return this.check(name, (x): x is string => typeof x === 'string', 'a string');
  }

  /** One of `values`. */
  oneOf<const T extends string>(name: string, values: readonly T[]): T {
    return this.check(name, (x): x is T => typeof x === 'string' && (values as readonly string[]).includes(x), values.map((v) => JSON.stringify(v)).join(' or '));
  }

  /** Three finite numbers (per-channel mean, std). */
  triple(name: string): readonly [number, number, number] {
    const [a, b, c] = this.numbers(name, 3, 'three numbers');
    return [a as number, b as number, c as number];
  }

  /** A list of integers ≥ 0. */
  integers(name: string): readonly number[] {
    const value = this.check(name, (x): x is unknown[] => Array.isArray(x) && x.every((v) => Number.isInteger(v) && (v as number) >= 0), 'a list of non-negative integers');
    return value.map(Number);
  }

  /** A non-empty list of `[a, b]` positive integer pairs satisfying `valid`. */
  integerPairs(name: string, valid: (pair: readonly [number, number]) => boolean = () => true, expected = 'a list of [height, width] pairs'): readonly (readonly [number, number])[] {
    const value = this.check(
      name,
      (x): x is [number, number][] =>
        Array.isArray(x) &&
        x.length > 0 &&
        x.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && (v as number) > 0) && valid([p[0] as number, p[1] as number])),
      expected,
    );
    return value.map(([a, b]) => [a, b] as const);
  }

  /** The field read by `read` when present, `undefined` when absent. */
  optional<T>(name: string, read: (settings: ManifestSettings, name: string) => T): T | undefined {
    return this.value[name] === undefined ? undefined : read(this, name);
  }

  private numbers(name: string, length: number, expected: string): readonly number[] {
    return this.check(name, (x): x is number[] => Array.isArray(x) && x.length === length && x.every((v) => typeof v === 'number' && Number.isFinite(v)), expected);
  }

  private check<T>(name: string, ok: (value: unknown) => value is T, expected: string): T {
    const value = this.value[name];
    if (!ok(value)) throw invalid(this.field(name), expected);
    return value;
  }

  private field(name: string): string {
    return `${this.path}.${name}`;
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(field: string, expected: string): ModelDirectoryError {
  return new ModelDirectoryError(`manifest.json: ${field} is missing or invalid (expected ${expected}); convert the checkpoint again with this vasink`, { field });
}
