import { ImageDecodeError } from '@vasink/image';
import { MissingSinkDimsError } from '@vasink/runtime';
import { VasinkError } from '@vasink/tensor';
import { VarConfigError } from '@vasink/var';

/** OpenAI's `error.type` values this server uses. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'timeout_error';

/** The JSON body of every error response, as OpenAI writes it. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/**
 * An error answered to the client: HTTP status plus OpenAI's error fields.
 * `code` is stable (see the README's table); `message` says what to change.
 */
export class ApiError extends VasinkError {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { type?: ApiErrorType; param?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { code, details: { status, ...(options.param ? { param: options.param } : {}) }, cause: options.cause });
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  toJSON(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** A 400 for a request the server cannot take as written. */
export function invalidRequest(code: string, message: string, param?: string): ApiError {
  return new ApiError(400, code, message, param === undefined ? {} : { param });
}

/**
 * The ApiError to answer for anything thrown while serving: ApiErrors as
 * they are, user-caused library errors (VAR settings, images, missing sink
 * dimensions) as 400, everything else as a 500 that hides internals.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof VarConfigError) return invalidRequest('invalid_var', `var: ${error.message}`, 'var');
  if (error instanceof MissingSinkDimsError) return invalidRequest('var_unavailable', error.message, 'var');
  if (error instanceof ImageDecodeError) {
    if (error.code === 'IMAGE_TOO_LARGE') return invalidRequest('image_too_large', error.message, 'messages');
    return invalidRequest('invalid_image', `the image could not be decoded: ${error.message}`, 'messages');
  }
  return new ApiError(500, 'internal_error', 'the server failed to answer this request; see its log', { cause: error });
}
