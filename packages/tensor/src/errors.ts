/**
 * Base class of every error vasink throws on purpose. `code` is stable and
 * machine-readable; `details` carries the structured facts behind the message
 * (file, tensor name, expected and actual shape, ...).
 */
export class VasinkError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    message: string,
    options: { code?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'VASINK_ERROR';
    this.details = Object.freeze({ ...options.details });
  }

  /** True for any vasink error, also across duplicated package copies. */
  static is(value: unknown): value is VasinkError {
    return value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && 'details' in value;
  }
}

/** A tensor's dims or element count do not match what an operation needs. */
export class ShapeError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'SHAPE_MISMATCH', details });
  }
}

/** A tensor has a dtype an operation cannot take. */
export class DTypeError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'DTYPE_MISMATCH', details });
  }
}

/** An argument is outside its valid range or otherwise unusable. */
export class InvalidArgumentError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'INVALID_ARGUMENT', details });
  }
}
