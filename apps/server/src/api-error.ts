import { VasinkError, describeError, exposureOf } from '@vasink/tensor';

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
    code: Lowercase<string>,
    message: string,
    options: { type?: ApiErrorType; param?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { code, details: { status, ...(options.param ? { param: options.param } : {}) }, cause: options.cause, exposure: status < 500 ? 'input' : status === 503 ? 'config' : 'internal' });
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
export function invalidRequest(code: Lowercase<string>, message: string, param?: string): ApiError {
  return new ApiError(400, code, message, param === undefined ? {} : { param });
}

/**
 * The ApiError to answer for anything thrown while serving, decided by whose
 * fault it is (`exposureOf`), never by its class: ApiErrors as they are; the
 * client's input (VAR settings, images, prompts, …) as a 400 carrying the
 * error's own code in lower case and its message; the operator's setup and
 * vasink's bugs as a 500 that hides internals (the server logs them).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const exposure = exposureOf(error);
  if (exposure === 'input') {
    const param = VasinkError.is(error) && typeof error.details.param === 'string' ? error.details.param : undefined;
    const code: Lowercase<string> = VasinkError.is(error) ? (error.code.toLowerCase() as Lowercase<string>) : 'invalid_request';
    return new ApiError(400, code, describeError(error), { ...(param ? { param } : {}), cause: error });
  }
  if (exposure === 'config') return new ApiError(500, 'server_misconfigured', 'the server cannot answer this request as it is set up; see its log', { cause: error });
  return new ApiError(500, 'internal_error', 'the server failed to answer this request; see its log', { cause: error });
}

declare module '@vasink/tensor' {
  /**
   * The HTTP API's codes, lower case as OpenAI writes them: the server's own (`invalid_json`,
   * `queue_full`, … — the README's table) and library input errors' codes lower-cased by `toApiError`.
   */
  interface VasinkErrorCodes {
    [code: Lowercase<string>]: true;
  }
}
