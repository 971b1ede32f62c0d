/**
 * Whose fault an error is, which decides how every front end reports it:
 * - `input`: something the user gave — a request, a file, an image, a flag's
 *   value, a benchmark record. Fixed by changing it. CLI exit 1, HTTP 400.
 * - `config`: the setup — a model directory, memory, a port, permissions, the
 *   installation. Fixed by the operator. CLI exit 3, HTTP 500 without details.
 * - `internal`: a bug in vasink. CLI exit 70 with the stack, HTTP 500.
 */
export type ErrorExposure = 'input' | 'config' | 'internal';

/**
 * Every error code vasink throws, as the keys of one map, so that `VasinkError.code`
 * is a typed union a front end can switch on. Each package adds its codes by
 * declaration merging, beside its error classes:
 *
 *     declare module '@vasink/tensor' { interface VasinkErrorCodes { INVALID_VAR: true } }
 */
export interface VasinkErrorCodes {
  VASINK_ERROR: true;
  SHAPE_MISMATCH: true;
  DTYPE_MISMATCH: true;
  INVALID_ARGUMENT: true;
}

/** A code of {@link VasinkErrorCodes}. */
export type VasinkErrorCode = keyof VasinkErrorCodes;

export interface VasinkErrorOptions {
  code?: VasinkErrorCode;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Default `internal`; each error class says whose fault it is. */
  exposure?: ErrorExposure;
}

/**
 * Base class of every error vasink throws on purpose. `code` is stable and
 * machine-readable; `details` carries the structured facts behind the message
 * (file, tensor name, expected and actual shape, ...); `exposure` says whose
 * fault it is (see {@link ErrorExposure}).
 */
export class VasinkError extends Error {
  readonly code: VasinkErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  readonly exposure: ErrorExposure;

  constructor(message: string, options: VasinkErrorOptions = {}) {
    // One line, whatever a message echoes of its input (a header's bytes, a file name): control characters escaped.
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'VASINK_ERROR';
    this.details = Object.freeze({ ...options.details });
    this.exposure = options.exposure ?? 'internal';
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

/** An argument is outside its valid range or otherwise unusable: the caller's input. */
export class InvalidArgumentError extends VasinkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, { code: 'INVALID_ARGUMENT', details, exposure: 'input' });
  }
}

/** `message` with every control character (newlines included) written as a JSON-style escape. */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** Operating-system error codes that name the environment, not a path the user gave. */
const SYSTEM_CONFIG_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'ENOSPC', 'EDQUOT', 'ENOMEM', 'EMFILE', 'ENFILE', 'EROFS']);

/**
 * Whose fault any thrown value is: a vasink error says so itself; an
 * operating-system error (`ENOENT`, `EISDIR`, … on a path the user gave) is
 * `input`, one about the machine (`EADDRINUSE`, `ENOSPC`, …) `config`, and
 * everything else — a TypeError, a RangeError — `internal`.
 */
export function exposureOf(error: unknown): ErrorExposure {
  if (VasinkError.is(error)) return (error as VasinkError).exposure ?? 'internal';
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && 'syscall' in error) {
    return SYSTEM_CONFIG_CODES.has(code) ? 'config' : 'input';
  }
  return 'internal';
}

/** One line for an error a user or operator can act on: the message, with an OS error's code and path spelled out. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (VasinkError.is(error)) return error.message;
  const system = error as Error & { code?: string; path?: string; syscall?: string; address?: string; port?: number };
  if (typeof system.code === 'string' && system.syscall) {
    const reasons: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EISDIR: 'is a directory, not a file',
      ENOTDIR: 'a part of the path is a file, not a directory',
      EEXIST: 'already exists',
      ENOTEMPTY: 'directory not empty',
      EADDRINUSE: 'address already in use',
      ENOSPC: 'no space left on device',
      ELOOP: 'too many symbolic links',
      ENAMETOOLONG: 'name too long',
    };
    const reason = reasons[system.code] ?? system.message;
    const where = system.path !== undefined ? `${system.path === '' ? '""' : system.path}: ` : system.address !== undefined ? `${system.address}${system.port !== undefined ? `:${system.port}` : ''}: ` : '';
    return `${where}${reason} (${system.code}, ${system.syscall})`;
  }
  return error.message;
}
